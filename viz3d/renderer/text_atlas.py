"""Rasterize label strings into one RGBA atlas with Pillow (FreeType)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

ATLAS_WIDTH = 2048


@dataclass
class TextAtlas:
    """Premultiplied RGBA image and, per string, its (x, y, w, h) pixel rectangle."""

    image: np.ndarray  # (H, W, 4) uint8
    rects: list[tuple[int, int, int, int]]


@cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def build_atlas(texts: list[str], font_px: int = 16) -> TextAtlas:
    """Draw every string once (light text, dark outline for any background), shelf-packed."""
    font = _font(font_px)
    pad = 3
    images = []
    for text in texts:
        left, top, right, bottom = font.getbbox(text or " ", stroke_width=2)
        w, h = int(right - left) + 2 * pad, int(bottom - top) + 2 * pad
        img = Image.new("RGBA", (max(w, 1), max(h, 1)), (0, 0, 0, 0))
        ImageDraw.Draw(img).text(
            (pad - left, pad - top),
            text,
            font=font,
            fill=(235, 238, 245, 255),
            stroke_width=2,
            stroke_fill=(0, 0, 0, 255),
        )
        images.append(img)
    x = y = shelf = 0
    placed = []
    for img in images:
        if x + img.width > ATLAS_WIDTH:
            x, y, shelf = 0, y + shelf, 0
        placed.append((x, y, img.width, img.height))
        x += img.width
        shelf = max(shelf, img.height)
    height = max(1, y + shelf)
    atlas = Image.new("RGBA", (ATLAS_WIDTH, height), (0, 0, 0, 0))
    for img, (px, py, _, _) in zip(images, placed, strict=True):
        atlas.paste(img, (px, py))
    arr = np.asarray(atlas, dtype=np.float32)
    arr[..., :3] *= arr[..., 3:] / 255.0  # premultiply for correct blending at glyph edges
    return TextAtlas(image=arr.round().astype(np.uint8), rects=placed)
