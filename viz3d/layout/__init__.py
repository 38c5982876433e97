"""Layout: where each slab, tile and edge sits in space (numpy only)."""

from __future__ import annotations

from viz3d.layout.rows import arranged_layout
from viz3d.layout.slabs import (
    GENERIC,
    Arrangement,
    EdgeRoute,
    Layout,
    LayoutMode,
    SlabLayout,
    SlabShape,
    compute_layout,
    tile_extent,
    tile_grid,
)

__all__ = [
    "GENERIC",
    "Arrangement",
    "EdgeRoute",
    "Layout",
    "LayoutMode",
    "SlabLayout",
    "SlabShape",
    "arranged_layout",
    "compute_layout",
    "layout_trace",
    "tile_extent",
    "tile_grid",
]


def layout_trace(trace: object, mode: LayoutMode = "tile", arrangement: str = "line") -> Layout:
    """Lay out a :class:`viz3d.capture.Trace` (duck-typed so layout needs no torch).

    ``arrangement``: ``"line"`` (ranks along -z), ``"rows"`` (wrapped like text) or ``"auto"``.
    """
    shapes = []
    for node in trace.nodes:  # type: ignore[attr-defined]
        d = node.display
        if d is None:
            shapes.append(GENERIC)
            continue
        tiles = int(d.shape[0]) // 3 if node.display_rgb else int(d.shape[0])
        shapes.append(SlabShape(tiles, int(d.shape[1]), int(d.shape[2]), node.grid_cols))
    edges = [(e.src, e.dst, e.kind) for e in trace.edges]  # type: ignore[attr-defined]
    return arranged_layout(shapes, edges, mode, arrangement)
