"""The answer panel's picture: the top classes as labelled bars, drawn with Pillow (no GL).

The picture is large (it is read from close by) and bold (it is read from
the overview, shrunk); the rows' places are returned with it in texture
coordinates, so the pick pass can tell which bar was clicked.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from viz3d.session.prediction import Prediction, percent

WIDTH, HEIGHT = 1024, 640  # pixels; the aspect of viz3d.layout.panel.ASPECT
BACKGROUND = (36, 40, 50, 255)
BORDER = (120, 130, 150, 255)
TEXT = (236, 239, 245, 255)
DIM = (160, 168, 184, 255)
BAR = (74, 170, 222, 255)
BAR_TOP = (250, 190, 70, 255)  # the most probable class
TRACK = (58, 64, 78, 255)
SELECTED = (255, 255, 255, 255)
MARGIN = 36
TITLE_HEIGHT = 170


@dataclass(frozen=True)
class PanelImage:
    """RGBA pixels (row 0 at the top) and each bar row's (v0, v1, class index), v down from 0 to 1."""

    image: np.ndarray  # (HEIGHT, WIDTH, 4) uint8
    rows: tuple[tuple[float, float, int], ...]


@cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _fit(draw: ImageDraw.ImageDraw, text: str, size: int, width: float) -> str:
    """``text`` shortened with an ellipsis until it fits ``width`` pixels."""
    font = _font(size)
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


def panel_image(prediction: Prediction, selected: int | None = None) -> PanelImage:
    """The panel of ``prediction``; the row of class ``selected`` (a chosen logit) is outlined."""
    img = Image.new("RGBA", (WIDTH, HEIGHT), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    draw.rounded_rectangle((0, 0, WIDTH - 1, HEIGHT - 1), radius=28, fill=BACKGROUND, outline=BORDER, width=4)
    best = prediction.top[0]
    head = f"{prediction.node_name}: top {len(prediction.top)} of {prediction.classes} classes (softmax)"
    draw.text((MARGIN, 22), _fit(draw, head, 34, WIDTH - 2 * MARGIN), font=_font(34), fill=DIM)
    answer = _fit(draw, f"{best.name}  {percent(best.probability)}", 84, WIDTH - 2 * MARGIN)
    draw.text((MARGIN, 62), answer, font=_font(84), fill=TEXT)
    rows = []
    row_h = (HEIGHT - TITLE_HEIGHT - MARGIN) / max(len(prediction.top), 1)
    name_w = int(WIDTH * 0.40)
    bar_x0, bar_x1 = MARGIN + name_w, WIDTH - MARGIN - 190
    for i, score in enumerate(prediction.top):
        y0 = TITLE_HEIGHT + i * row_h
        y1 = y0 + row_h
        mid = (y0 + y1) / 2
        name = _fit(draw, score.name, 50, name_w - 16)
        draw.text((MARGIN, mid), name, font=_font(50), fill=TEXT, anchor="lm")
        bar_h = row_h * 0.56
        draw.rectangle((bar_x0, mid - bar_h / 2, bar_x1, mid + bar_h / 2), fill=TRACK)
        filled = bar_x0 + max(0.0, min(1.0, score.probability)) * (bar_x1 - bar_x0)
        if filled > bar_x0:
            draw.rectangle((bar_x0, mid - bar_h / 2, filled, mid + bar_h / 2), fill=BAR_TOP if i == 0 else BAR)
        draw.text((WIDTH - MARGIN, mid), percent(score.probability), font=_font(46), fill=TEXT, anchor="rm")
        if score.index == selected:
            draw.rounded_rectangle((MARGIN - 14, y0 + 3, WIDTH - MARGIN + 14, y1 - 3), 12, outline=SELECTED, width=5)
        rows.append((y0 / HEIGHT, y1 / HEIGHT, score.index))
    return PanelImage(np.asarray(img, dtype=np.uint8).copy(), tuple(rows))
