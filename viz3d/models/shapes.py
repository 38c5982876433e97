"""Synthetic dataset of geometric shapes, generated on the fly.

The default network is trained on these images, so viz3d needs no download to
show a real trained network. Shapes have random colour, size, position and
rotation on a noisy background of another colour: the first convolution layer
has to learn colour-independent edge detectors to tell them apart, which makes
its filters look like the textbook pictures.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

CLASSES: tuple[str, ...] = ("circle", "square", "triangle", "cross", "ring", "star")
IMAGE_SIZE = 64
_SUPERSAMPLE = 3  # draw large then shrink, for anti-aliased edges


def _polygon(cx: float, cy: float, r: float, n: int, angle: float, inner: float = 0.0) -> list[tuple[float, float]]:
    """Vertices of a regular polygon (or a star when ``inner`` > 0)."""
    points = []
    steps = 2 * n if inner > 0 else n
    for i in range(steps):
        radius = inner if (inner > 0 and i % 2 == 1) else r
        a = angle + 2 * math.pi * i / steps
        points.append((cx + radius * math.cos(a), cy + radius * math.sin(a)))
    return points


def draw_shape(label: int, rng: np.random.Generator, size: int = IMAGE_SIZE) -> np.ndarray:
    """Draw one image of class ``label``; returns float32 (3, size, size) in [0, 1]."""
    s = size * _SUPERSAMPLE
    bg = rng.uniform(0.0, 0.45, size=3)
    fg = rng.uniform(0.35, 1.0, size=3)
    # Keep foreground and background apart so every image is solvable.
    if np.abs(fg - bg).sum() < 0.6:
        fg = np.clip(bg + 0.6, 0, 1)
    img = Image.new("RGB", (s, s), tuple(int(255 * c) for c in bg))
    draw = ImageDraw.Draw(img)
    r = rng.uniform(0.18, 0.34) * s
    cx = rng.uniform(r + 2, s - r - 2)
    cy = rng.uniform(r + 2, s - r - 2)
    angle = rng.uniform(0, 2 * math.pi)
    colour = tuple(int(255 * c) for c in fg)
    name = CLASSES[label]
    if name == "circle":
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=colour)
    elif name == "square":
        draw.polygon(_polygon(cx, cy, r, 4, angle), fill=colour)
    elif name == "triangle":
        draw.polygon(_polygon(cx, cy, r, 3, angle), fill=colour)
    elif name == "cross":
        w = r * 0.32
        for a in (angle, angle + math.pi / 2):
            dx, dy = math.cos(a), math.sin(a)
            px, py = -dy * w, dx * w
            draw.polygon(
                [
                    (cx - dx * r + px, cy - dy * r + py),
                    (cx + dx * r + px, cy + dy * r + py),
                    (cx + dx * r - px, cy + dy * r - py),
                    (cx - dx * r - px, cy - dy * r - py),
                ],
                fill=colour,
            )
    elif name == "ring":
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=colour)
        ri = r * 0.55
        draw.ellipse((cx - ri, cy - ri, cx + ri, cy + ri), fill=tuple(int(255 * c) for c in bg))
    else:  # star
        draw.polygon(_polygon(cx, cy, r, 5, angle, inner=r * 0.45), fill=colour)
    img = img.resize((size, size), Image.Resampling.LANCZOS)
    arr = np.asarray(img, dtype=np.float32) / 255.0
    arr = arr + rng.normal(0, 0.03, size=arr.shape).astype(np.float32)
    return np.clip(arr, 0, 1).transpose(2, 0, 1).copy()


def make_dataset(n: int, seed: int, size: int = IMAGE_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """``n`` images with balanced labels: (n, 3, size, size) float32 and (n,) int64."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n, dtype=np.int64) % len(CLASSES)
    rng.shuffle(labels)
    images = np.stack([draw_shape(int(lab), rng, size) for lab in labels])
    return images, labels


def sample_image(index: int = 0) -> np.ndarray:
    """A fixed sample image (3, 64, 64) for demos: cycles through the classes."""
    rng = np.random.default_rng(1000 + index)
    return draw_shape(index % len(CLASSES), rng)
