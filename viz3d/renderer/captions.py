"""Large text over the 3D view: a tour's caption in the lower third, presenter messages (Pillow pictures).

Sizes follow the frame's height, not a fixed pixel count, so a caption is
as large on a 4K recording as in a 1080p window (and twice as many pixels
tall): text scales with the output. Pictures are premultiplied RGBA, ready
for :class:`~viz3d.renderer.overlay.Overlay`.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

CAPTION_HEIGHT = 0.045  # caption text height, as a fraction of the frame's height (×font scale)
CAPTION_BOTTOM = 0.90  # the caption box's bottom edge, as a fraction of the height: the lower third
CAPTION_WIDTH = 0.8  # lines wrap at this fraction of the width
MESSAGE_HEIGHT = 0.03
INK = (246, 248, 252, 255)
BOX = (10, 12, 16, 190)

Rect = tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels, y down


@cache
def _font(px: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=px)


def _wrap(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: float) -> list[str]:
    """Words into lines no wider than ``width`` pixels (a longer single word stays whole)."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in paragraph.split():
            trial = f"{line} {word}".strip()
            if line and font.getlength(trial) > width:
                lines.append(line)
                line = word
            else:
                line = trial
        lines.append(line)
    return lines


def text_box(text: str, px: int, max_width: float) -> np.ndarray:
    """``text`` at ``px`` pixels, wrapped at ``max_width``, centred on a translucent dark box (premultiplied)."""
    font = _font(max(6, px))
    lines = _wrap(text, font, max_width)
    pad, line_h = max(2, px // 2), round(px * 1.3)
    width = int(max(font.getlength(t) for t in lines)) + 2 * pad
    img = Image.new("RGBA", (max(width, 1), len(lines) * line_h + 2 * pad), BOX)
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(lines):
        draw.text((width / 2, pad + i * line_h), line, font=font, fill=INK, anchor="ma")
    arr = np.asarray(img, dtype=np.float32)
    arr[..., :3] *= arr[..., 3:] / 255.0
    return arr.round().astype(np.uint8)


def caption_picture(text: str, size: tuple[int, int], font_scale: float = 1.0) -> tuple[np.ndarray, tuple[int, int]]:
    """The caption for a frame of ``size`` pixels and where its top-left corner goes (lower third, centred)."""
    w, h = size
    image = text_box(text, round(h * CAPTION_HEIGHT * font_scale), w * CAPTION_WIDTH)
    ih, iw = image.shape[:2]
    return image, ((w - iw) // 2, max(0, round(h * CAPTION_BOTTOM) - ih))


def message_picture(text: str, size: tuple[int, int], font_scale: float = 1.0) -> tuple[np.ndarray, tuple[int, int]]:
    """A status message for presenter mode and where it goes (top, centred)."""
    w, h = size
    image = text_box(text, round(h * MESSAGE_HEIGHT * font_scale), w * CAPTION_WIDTH)
    return image, ((w - image.shape[1]) // 2, round(h * 0.03))


def rect_of(image: np.ndarray, position: tuple[float, float], scale: float = 1.0) -> Rect:
    """The rectangle ``image`` covers at ``position``, both scaled by ``scale``."""
    x, y = position
    return (x * scale, y * scale, (x + image.shape[1]) * scale, (y + image.shape[0]) * scale)
