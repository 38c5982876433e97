"""Pictures of the viewer's 2D panels, drawn with Pillow: HUD text, key help, the inset map."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from viz3d.scene.colormaps import apply_colormap

TEXT = (232, 236, 244, 255)
DIM = (160, 168, 182, 255)
PANEL = (14, 16, 21, 205)


@cache
def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _premultiply(img: Image.Image) -> np.ndarray:
    arr = np.asarray(img, dtype=np.float32)
    arr[..., :3] *= arr[..., 3:] / 255.0
    return arr.round().astype(np.uint8)


def text_panel(lines: list[str], size: int = 14, pad: int = 8, min_width: int = 0) -> np.ndarray:
    """Lines of text on a translucent dark box (premultiplied RGBA)."""
    f = font(size)
    line_h = size + 5
    width = max([int(f.getlength(t)) for t in lines] + [min_width]) + 2 * pad
    img = Image.new("RGBA", (max(width, 1), len(lines) * line_h + 2 * pad - 5), PANEL)
    draw = ImageDraw.Draw(img)
    for i, t in enumerate(lines):
        draw.text((pad, pad + i * line_h), t, font=f, fill=TEXT if i == 0 else DIM)
    return _premultiply(img)


def help_panel(rows: list[tuple[str, str]], title: str = "viz3d keys", size: int = 15, columns: int = 2) -> np.ndarray:
    """Keys and what they do, under a title, in ``columns`` columns of (key, description)."""
    f = font(size)
    pad, line_h, gutter = 14, size + 7, 28
    per_col = -(-len(rows) // columns)
    cols = [rows[i * per_col : (i + 1) * per_col] for i in range(columns)]
    key_w = [max((int(f.getlength(k)) for k, _ in c), default=0) + 18 for c in cols]
    text_w = [max((int(f.getlength(d)) for _, d in c), default=0) for c in cols]
    width = sum(key_w) + sum(text_w) + 2 * pad + gutter * (columns - 1)
    img = Image.new("RGBA", (width, (per_col + 1) * line_h + 2 * pad), (14, 16, 21, 240))
    draw = ImageDraw.Draw(img)
    draw.text((pad, pad), title, font=font(size + 2), fill=TEXT)
    x = pad
    for c, kw, tw in zip(cols, key_w, text_w, strict=True):
        for i, (keys, what) in enumerate(c, start=1):
            y = pad + i * line_h + 4
            draw.text((x, y), keys, font=f, fill=(255, 200, 120, 255))
            draw.text((x + kw, y), what, font=f, fill=TEXT)
        x += kw + tw + gutter
    return _premultiply(img)


def inset_panel(
    values: np.ndarray,
    lo: float,
    hi: float,
    colormap: str,
    title: str,
    side: int = 256,
    size: int = 13,
    rgb: bool = False,
    histograms: Sequence[tuple[str, Sequence[int], tuple[float, float, float]]] = (),
) -> np.ndarray:
    """One feature map (or filter) enlarged, nearest neighbour, with a colorbar and its value range.

    ``values`` is (H, W), or (3, H, W) with ``rgb`` (a colour filter: each
    component mapped from [lo, hi] to [0, 1]). Maps of at most 7×7 print
    their values in the cells. ``histograms`` (title, counts, rgb) are drawn
    as small bar charts under the map.
    """
    h, w = values.shape[-2:]
    scale = max(1, side // max(h, w))
    if rgb:
        span = hi - lo if hi > lo else 1.0
        colour = (np.clip((np.moveaxis(values, 0, -1) - lo) / span, 0, 1) * 255).round().astype(np.uint8)
    else:
        colour = apply_colormap(values, lo, hi, colormap)
    big = np.repeat(np.repeat(colour, scale, axis=0), scale, axis=1)
    bar_w, pad = 14, 10
    f = font(size)
    labels = [f"{hi:.4g}", f"{(lo + hi) / 2:.4g}", f"{lo:.4g}"]
    label_w = max(int(f.getlength(t)) for t in labels)
    width = max(big.shape[1] + bar_w + label_w + 4 * pad, int(f.getlength(title)) + 2 * pad)
    chart_h = 44
    height = big.shape[0] + 2 * pad + size + 8 + len(histograms) * (chart_h + size + 8)
    img = Image.new("RGBA", (width, height), PANEL)
    draw = ImageDraw.Draw(img)
    draw.text((pad, pad - 2), title, font=f, fill=TEXT)
    top = pad + size + 6
    img.paste(Image.fromarray(big).convert("RGBA"), (pad, top))
    if h * w <= 49:
        # Small kernels print their weights: one value per cell, or R, G, B stacked for colour filters.
        cell = font(max(8, min(14, scale // (7 if rgb else 4))))
        for y in range(h):
            for x in range(w):
                r, g, b = (int(v) for v in colour[y, x])
                ink = (0, 0, 0, 255) if 0.299 * r + 0.587 * g + 0.114 * b > 140 else (255, 255, 255, 255)
                centre = (pad + (x + 0.5) * scale, top + (y + 0.5) * scale)
                text = "\n".join(f"{v:.2g}" for v in values[:, y, x]) if rgb else f"{values[y, x]:.2g}"
                draw.multiline_text(centre, text, font=cell, fill=ink, anchor="mm", align="center", spacing=1)
    bx = pad * 2 + big.shape[1]
    if rgb:
        ramp = np.linspace(1.0, 0.0, big.shape[0])[:, None, None] * np.ones((1, bar_w, 3)) * 255
        bar = ramp.round().astype(np.uint8)
    else:
        bar = apply_colormap(np.linspace(hi, lo, big.shape[0]), lo, hi, colormap)[:, None, :].repeat(bar_w, axis=1)
    img.paste(Image.fromarray(np.ascontiguousarray(bar)).convert("RGBA"), (bx, top))
    for text, y in zip(labels, (top, top + big.shape[0] // 2 - size // 2, top + big.shape[0] - size), strict=True):
        draw.text((bx + bar_w + 6, y), text, font=f, fill=DIM)
    y = top + big.shape[0] + 8
    for name, counts, bar_rgb in histograms:
        draw.text((pad, y), name, font=f, fill=DIM)
        y += size + 4
        c = np.sqrt(np.asarray(counts, float))
        if len(c) and c.max() > 0:
            w_bar = (width - 2 * pad) / len(c)
            fill = (*(int(255 * v) for v in bar_rgb), 255)
            for i, v in enumerate(c / c.max()):
                if v > 0:
                    x0 = pad + i * w_bar
                    draw.rectangle((x0, y + chart_h * (1 - v), x0 + max(1.0, w_bar - 1), y + chart_h), fill=fill)
        y += chart_h + 4
    return _premultiply(img)


def search_panel(query: str, rows: Sequence[tuple[str, str]], chosen: int, size: int = 15) -> np.ndarray:
    """The layer search: the query line, then (name, type) rows with the chosen one highlighted."""
    f = font(size)
    pad, line_h = 10, size + 7
    head = f"/ {query}_"
    hint = "Up/Down choose, Enter flies there, Esc closes" if rows else "no layer matches: Backspace to edit"
    texts = [head, *(f"{name}   {kind}" for name, kind in rows), hint]
    width = max(360, max(int(f.getlength(t)) for t in texts) + 2 * pad)
    img = Image.new("RGBA", (width, len(texts) * line_h + 2 * pad), (14, 16, 21, 235))
    draw = ImageDraw.Draw(img)
    draw.text((pad, pad), head, font=f, fill=TEXT)
    for i, (name, kind) in enumerate(rows):
        y = pad + (i + 1) * line_h
        if i == chosen:
            draw.rectangle((pad // 2, y - 2, width - pad // 2, y + line_h - 3), fill=(60, 80, 120, 255))
        draw.text((pad, y), name, font=f, fill=TEXT)
        draw.text((pad + int(f.getlength(name + "   ")), y), kind, font=f, fill=(255, 200, 120, 255))
    draw.text((pad, pad + (len(rows) + 1) * line_h), hint, font=f, fill=DIM)
    return _premultiply(img)
