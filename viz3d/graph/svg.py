"""The diagram as SVG text (no dependencies): nodes carry their names and kinds as data attributes."""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from viz3d.graph.layered import Box, Drawing
from viz3d.graph.model import Graph
from viz3d.graph.style import EDGE_STYLE, LEGEND, style_of, text_colour


def _shape(box: Box, fill: str, shape: str) -> str:
    x, y, w, h = box.left, box.y, box.w, box.h
    common = f'fill="{fill}" stroke="#2a2f3a" stroke-width="1"'
    if shape == "pill":
        return f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" rx="{h / 2:.1f}" {common}/>'
    if shape == "round":
        return f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" rx="8" {common}/>'
    if shape == "ellipse":
        return f'<ellipse cx="{box.x:.1f}" cy="{y + h / 2:.1f}" rx="{w / 2:.1f}" ry="{h / 2:.1f}" {common}/>'
    if shape == "hexagon":
        k = 10.0
        pts = [(x + k, y), (x + w - k, y), (x + w, y + h / 2), (x + w - k, y + h), (x + k, y + h), (x, y + h / 2)]
        return f'<polygon points="{" ".join(f"{px:.1f},{py:.1f}" for px, py in pts)}" {common}/>'
    if shape == "double":
        inner = (
            f'<rect x="{x + 3:.1f}" y="{y + 3:.1f}" width="{w - 6:.1f}" height="{h - 6:.1f}" '
            'fill="none" stroke="#2a2f3a" stroke-width="0.8"/>'
        )
        return f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" {common}/>' + inner
    return f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" {common}/>'


def to_svg(graph: Graph, drawing: Drawing, title: str = "") -> str:
    """SVG source of the drawing (deterministic for a given graph)."""
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{drawing.width:.0f}" height="{drawing.height:.0f}" '
        f'viewBox="0 0 {drawing.width:.0f} {drawing.height:.0f}" font-family="DejaVu Sans, Arial, sans-serif">',
        f"<title>{escape(title or 'viz3d architecture graph')}</title>",
        '<rect width="100%" height="100%" fill="#ffffff"/>',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#7a7f8c"/></marker></defs>',
    ]
    x = 30.0
    out.append('<g class="legend">')
    for kind in LEGEND:
        fill, _ = style_of(kind)
        out.append(f'<rect x="{x:.1f}" y="24" width="14" height="14" fill="{fill}" stroke="#2a2f3a"/>')
        out.append(f'<text x="{x + 19:.1f}" y="35" font-size="12" fill="#1d2230">{kind}</text>')
        x += 30 + 7.2 * len(kind)
    out.append("</g>")
    out.append('<g class="edges" fill="none">')
    for r in drawing.routes:
        colour, dash = EDGE_STYLE.get(r.kind, EDGE_STYLE["sequential"])
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = r.points
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(
            f'<path class="edge" data-src="{r.src}" data-dst="{r.dst}" data-kind="{r.kind}" '
            f'd="M {x0:.1f} {y0:.1f} C {x1:.1f} {y1:.1f} {x2:.1f} {y2:.1f} {x3:.1f} {y3:.1f}" '
            f'stroke="{colour}" stroke-width="1.4"{dash_attr} marker-end="url(#arrow)"/>'
        )
    out.append("</g>")
    out.append('<g class="nodes">')
    for node, box in zip(graph.nodes, drawing.boxes, strict=True):
        fill, shape = style_of(node.kind)
        ink = text_colour(fill)
        out.append(
            f'<g class="node" id="node-{node.id}" data-name={quoteattr(node.label)} data-kind="{node.kind}" '
            f'data-count="{node.count}">'
        )
        out.append(_shape(box, fill, shape))
        out.append(
            f'<text x="{box.x:.1f}" y="{box.y + 17:.1f}" font-size="12" font-weight="bold" text-anchor="middle" '
            f'fill="{ink}">{escape(node.label)}</text>'
        )
        out.append(
            f'<text x="{box.x:.1f}" y="{box.y + 32:.1f}" font-size="11" text-anchor="middle" '
            f'fill="{ink}">{escape(node.detail)}</text>'
        )
        out.append("</g>")
    out.append("</g></svg>")
    return "\n".join(out) + "\n"
