"""Colours and shapes of the diagram, by node kind (shared by the SVG and raster writers)."""

from __future__ import annotations

from typing import Literal

Shape = Literal["pill", "rect", "round", "hexagon", "ellipse", "double"]

KIND_STYLE: dict[str, tuple[str, Shape]] = {
    "input": ("#7fc8f8", "pill"),
    "conv": ("#4e79a7", "rect"),
    "norm": ("#b07aa1", "round"),
    "activation": ("#59a14f", "round"),
    "pool": ("#f28e2b", "hexagon"),
    "linear": ("#e15759", "double"),
    "merge": ("#edc948", "ellipse"),
    "reshape": ("#9c755f", "round"),
    "slice": ("#ff9da7", "round"),
    "block": ("#76b7b2", "double"),
    "identity": ("#bab0ac", "round"),
    "other": ("#bab0ac", "rect"),
}
EDGE_STYLE: dict[str, tuple[str, str]] = {
    "sequential": ("#7a7f8c", ""),
    "merge": ("#4a90d9", ""),
    "skip": ("#e8902e", "6 4"),
}
LEGEND = ("input", "conv", "norm", "activation", "pool", "linear", "merge", "block", "other")


def legend_width() -> float:
    """Width the legend row needs (layout units)."""
    return 30.0 + sum(30 + 7.2 * len(k) for k in LEGEND)


BACKGROUND = "#ffffff"
TEXT = "#1d2230"
TEXT_ON_DARK = "#ffffff"


def style_of(kind: str) -> tuple[str, Shape]:
    return KIND_STYLE.get(kind, KIND_STYLE["other"])


def text_colour(fill: str) -> str:
    """Dark text on light fills, white on dark ones."""
    r, g, b = (int(fill[i : i + 2], 16) for i in (1, 3, 5))
    return TEXT if 0.299 * r + 0.587 * g + 0.114 * b > 150 else TEXT_ON_DARK
