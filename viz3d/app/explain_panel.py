"""Pictures of what excites the selected channel, drawn under the inset (Pillow).

- the channel's top patches in a grid, strongest first, each crop scaled to
  fit a cell (nearest neighbour when enlarged, so pixels stay visible) with
  its score and source file's name under it;
- the feature visualization: the image as it stands, enlarged, with its step
  and the channel's mean activation on it.

Crops and images are (3, H, W) in [0, 1]; panels are premultiplied RGBA like
the others (:mod:`viz3d.app.panels`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from viz3d.app.panels import DIM, PANEL, TEXT, _premultiply, font
from viz3d.explain import FeatureVis, Patch

PER_ROW = 5
CELL = 64
VIS_SIDE = 192


def _picture(rgb: np.ndarray, side: int) -> Image.Image:
    """A (3, H, W) [0, 1] image scaled so its long side is ``side`` (nearest when enlarged)."""
    colour = (np.clip(np.moveaxis(rgb, 0, -1), 0, 1) * 255).round().astype(np.uint8)
    h, w = colour.shape[:2]
    scale = side / max(h, w, 1)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    method = Image.Resampling.NEAREST if scale >= 1 else Image.Resampling.BILINEAR
    return Image.fromarray(np.ascontiguousarray(colour)).resize(size, method).convert("RGBA")


def patches_panel(layer: str, channel: int, patches: Sequence[Patch], size: int = 12) -> np.ndarray:
    """A channel's top patches, ``PER_ROW`` to a row, with score and file name under each."""
    f = font(size)
    pad, gap, label_h = 10, 8, size + 3
    cols = max(1, min(PER_ROW, len(patches)))
    rows = max(1, -(-len(patches) // PER_ROW))
    cell_h = CELL + 2 * label_h
    title = f"top {len(patches)} patches of {layer} channel {channel} (receptive fields)"
    width = max(2 * pad + cols * CELL + (cols - 1) * gap, int(f.getlength(title)) + 2 * pad)
    height = 2 * pad + label_h + 4 + rows * cell_h + (rows - 1) * gap
    img = Image.new("RGBA", (width, height), PANEL)
    draw = ImageDraw.Draw(img)
    draw.text((pad, pad - 2), title if patches else f"{layer} channel {channel}: no patches", font=f, fill=TEXT)
    for k, p in enumerate(patches):
        x = pad + (k % PER_ROW) * (CELL + gap)
        y = pad + label_h + 4 + (k // PER_ROW) * (cell_h + gap)
        img.paste(_picture(p.crop, CELL), (x, y))
        draw.text((x, y + CELL + 1), f"{p.score:.3g}", font=f, fill=TEXT)
        name = Path(p.source).name
        while f.getlength(name) > CELL and len(name) > 4:
            name = "…" + name[2:]
        draw.text((x, y + CELL + 1 + label_h), name, font=f, fill=DIM)
    return _premultiply(img)


def feature_vis_panel(run: FeatureVis, size: int = 12) -> np.ndarray:
    """The feature visualization of ``run`` as it stands: image, step count and activation."""
    f = font(size)
    pad, label_h = 10, size + 4
    state = "done" if run.finished else "forming"
    title = f"feature visualization of {run.layer} channel {run.channel}"
    line = f"step {run.done}/{run.steps} ({state})" + (
        f", mean activation {run.objective:.3g}" if np.isfinite(run.objective) else ""
    )
    picture = _picture(run.image(), VIS_SIDE)
    width = max(picture.width, int(f.getlength(title)), int(f.getlength(line))) + 2 * pad
    img = Image.new("RGBA", (width, 2 * pad + 2 * label_h + picture.height), PANEL)
    draw = ImageDraw.Draw(img)
    draw.text((pad, pad - 2), title, font=f, fill=TEXT)
    draw.text((pad, pad - 2 + label_h), line, font=f, fill=DIM)
    img.paste(picture, (pad, pad + 2 * label_h))
    return _premultiply(img)


def side_by_side(pictures: Sequence[np.ndarray], gap: int = 8) -> np.ndarray:
    """Premultiplied RGBA panels left to right, bottom-aligned, with transparent gaps.

    Side by side, not stacked: the map inset with its histograms is already
    most of a small window's height.
    """
    width = sum(p.shape[1] for p in pictures) + gap * (len(pictures) - 1)
    height = max(p.shape[0] for p in pictures)
    out = np.zeros((height, width, 4), dtype=np.uint8)
    x = 0
    for p in pictures:
        out[height - p.shape[0] :, x : x + p.shape[1]] = p
        x += p.shape[1] + gap
    return out
