"""The diagram as a PNG or PDF, drawn with Pillow from the same layout as the SVG."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from viz3d.graph.layered import Box, Drawing
from viz3d.graph.model import Graph
from viz3d.graph.style import EDGE_STYLE, LEGEND, style_of, text_colour

SCALE = 2  # pixels per layout unit: crisp text on high-density screens and in print
MAX_SIDE = 30000  # Pillow and PDF viewers struggle beyond this


def _bezier(points: list[tuple[float, float]], steps: int = 24) -> list[tuple[float, float]]:
    p = np.array(points)
    t = np.linspace(0, 1, steps)[:, None]
    curve = (1 - t) ** 3 * p[0] + 3 * (1 - t) ** 2 * t * p[1] + 3 * (1 - t) * t**2 * p[2] + t**3 * p[3]
    return [(float(x), float(y)) for x, y in curve]


def _node(draw: ImageDraw.ImageDraw, box: Box, fill: str, shape: str, s: float) -> None:
    x0, y0, x1, y1 = box.left * s, box.y * s, box.right * s, box.bottom * s
    outline = "#2a2f3a"
    if shape == "pill":
        draw.rounded_rectangle((x0, y0, x1, y1), radius=(y1 - y0) / 2, fill=fill, outline=outline, width=2)
    elif shape == "round":
        draw.rounded_rectangle((x0, y0, x1, y1), radius=8 * s, fill=fill, outline=outline, width=2)
    elif shape == "ellipse":
        draw.ellipse((x0, y0, x1, y1), fill=fill, outline=outline, width=2)
    elif shape == "hexagon":
        k, my = 10 * s, (y0 + y1) / 2
        draw.polygon(
            [(x0 + k, y0), (x1 - k, y0), (x1, my), (x1 - k, y1), (x0 + k, y1), (x0, my)], fill=fill, outline=outline
        )
    else:
        draw.rectangle((x0, y0, x1, y1), fill=fill, outline=outline, width=2)
        if shape == "double":
            draw.rectangle((x0 + 3 * s, y0 + 3 * s, x1 - 3 * s, y1 - 3 * s), outline=outline, width=1)


def to_image(graph: Graph, drawing: Drawing) -> Image.Image:
    """An RGB image of the drawing."""
    s = float(SCALE)
    if max(drawing.width, drawing.height) * s > MAX_SIDE:
        s = MAX_SIDE / max(drawing.width, drawing.height)
    img = Image.new("RGB", (max(1, int(drawing.width * s)), max(1, int(drawing.height * s))), "#ffffff")
    draw = ImageDraw.Draw(img)
    bold, small = ImageFont.load_default(size=max(6, int(12 * s))), ImageFont.load_default(size=max(6, int(11 * s)))
    x = 30.0
    for kind in LEGEND:
        fill, _ = style_of(kind)
        draw.rectangle((x * s, 24 * s, (x + 14) * s, 38 * s), fill=fill, outline="#2a2f3a")
        draw.text(((x + 19) * s, 25 * s), kind, font=small, fill="#1d2230")
        x += 30 + 7.2 * len(kind)
    for r in drawing.routes:
        colour, _ = EDGE_STYLE.get(r.kind, EDGE_STYLE["sequential"])
        pts = [(px * s, py * s) for px, py in _bezier(r.points)]
        draw.line(pts, fill=colour, width=max(1, int(1.4 * s)))
        (ax, ay), (bx, by) = pts[-2], pts[-1]
        d = np.array([bx - ax, by - ay])
        d = d / (np.linalg.norm(d) + 1e-9) * 7 * s
        n = np.array([-d[1], d[0]]) * 0.5
        tip = np.array([bx, by])
        draw.polygon([tuple(tip), tuple(tip - d + n), tuple(tip - d - n)], fill=colour)
    for node, box in zip(graph.nodes, drawing.boxes, strict=True):
        fill, shape = style_of(node.kind)
        _node(draw, box, fill, shape, s)
        ink = text_colour(fill)
        draw.text((box.x * s, (box.y + 12) * s), node.label, font=bold, fill=ink, anchor="mm")
        draw.text((box.x * s, (box.y + 28) * s), node.detail, font=small, fill=ink, anchor="mm")
    return img


def to_bytes(graph: Graph, drawing: Drawing, fmt: str) -> bytes:
    """PNG or PDF bytes of the drawing."""
    buf = io.BytesIO()
    img = to_image(graph, drawing)
    if fmt == "pdf":
        img.save(buf, format="PDF", resolution=72.0 * SCALE)
    else:
        img.save(buf, format="PNG")
    return buf.getvalue()
