"""The picture of pinned feature maps side by side, with one shared colorbar or one per map (Pillow)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from viz3d.app.panels import DIM, PANEL, TEXT, _premultiply, font
from viz3d.scene.colormaps import apply_colormap

PER_ROW = 4
BAR_W = 10


@dataclass(frozen=True)
class PinnedMap:
    """One pinned map: its values (H, W), the colour range it is drawn with, and its title."""

    values: np.ndarray
    lo: float
    hi: float
    title: str


def _fit(colour: np.ndarray, side: int) -> Image.Image:
    """Nearest-neighbour scaled so the long side is ``side`` (cells stay crisp, big maps shrink)."""
    h, w = colour.shape[:2]
    scale = side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return Image.fromarray(np.ascontiguousarray(colour)).resize(size, Image.Resampling.NEAREST).convert("RGBA")


def _bar(lo: float, hi: float, height: int, colormap: str) -> Image.Image:
    ramp = apply_colormap(np.linspace(hi, lo, height), lo, hi, colormap)[:, None, :].repeat(BAR_W, axis=1)
    return Image.fromarray(np.ascontiguousarray(ramp)).convert("RGBA")


def pins_panel(
    maps: Sequence[PinnedMap], colormap: str, shared: bool, side: int = 112, size: int = 12
) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """Pinned maps in pin order, ``PER_ROW`` to a row, and where each map sits ((x0, y0, x1, y1) in the picture).

    With ``shared`` every map uses the first map's range (the caller gives them
    all the same one) and one colorbar stands at the right; otherwise each map
    has a bar and its range printed under it.
    """
    f = font(size)
    pad, gap = 10, 12
    label_h = size + 4
    cell_w = side + (0 if shared else BAR_W + 4)
    cell_h = label_h + side + (0 if shared else label_h)
    cols, rows = min(PER_ROW, len(maps)), -(-len(maps) // PER_ROW)
    grid_w = cols * cell_w + (cols - 1) * gap
    labels = [f"{maps[0].hi:.4g}", f"{(maps[0].lo + maps[0].hi) / 2:.4g}", f"{maps[0].lo:.4g}"] if shared else []
    legend_w = (gap + BAR_W + 6 + max(int(f.getlength(t)) for t in labels)) if shared else 0
    width, height = 2 * pad + grid_w + legend_w, 2 * pad + label_h + rows * cell_h + (rows - 1) * gap
    img = Image.new("RGBA", (width, height), PANEL)
    draw = ImageDraw.Draw(img)
    title = f"{len(maps)} pinned ({'one shared range' if shared else 'a range each'}; R switches, Esc clears)"
    draw.text((pad, pad - 2), title, font=f, fill=TEXT)
    rects = []
    for k, m in enumerate(maps):
        x = pad + (k % PER_ROW) * (cell_w + gap)
        y = pad + label_h + (k // PER_ROW) * (cell_h + gap)
        name = m.title
        while f.getlength(name) > cell_w and len(name) > 4:
            name = "…" + name[2:]  # the end of a long name (layer4.2.conv3 ch 7) tells maps apart
        draw.text((x, y), name, font=f, fill=DIM)
        picture = _fit(apply_colormap(m.values, m.lo, m.hi, colormap), side)
        img.paste(picture, (x, y + label_h))
        rects.append((x, y + label_h, x + picture.width, y + label_h + picture.height))
        if not shared:
            img.paste(_bar(m.lo, m.hi, picture.height, colormap), (x + picture.width + 4, y + label_h))
            draw.text((x, y + label_h + picture.height + 2), f"{m.lo:.4g} .. {m.hi:.4g}", font=f, fill=DIM)
    if shared:
        bx, top, bar_h = pad + grid_w + gap, pad + label_h * 2, rows * cell_h + (rows - 1) * gap - label_h
        img.paste(_bar(maps[0].lo, maps[0].hi, bar_h, colormap), (bx, top))
        for text, ty in zip(labels, (top, top + bar_h // 2 - size // 2, top + bar_h - size), strict=True):
            draw.text((bx + BAR_W + 6, ty), text, font=f, fill=DIM)
    return _premultiply(img), rects
