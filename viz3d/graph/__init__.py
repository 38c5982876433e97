"""``viz3d graph``: the network's dataflow as a clean 2D diagram (SVG, PNG or PDF)."""

from __future__ import annotations

from pathlib import Path

from viz3d.capture.trace import Trace
from viz3d.graph.layered import Drawing, layered_drawing
from viz3d.graph.model import Graph, GraphEdge, GraphNode, build_graph

__all__ = ["Drawing", "Graph", "GraphEdge", "GraphNode", "build_graph", "export_graph", "layered_drawing"]
FORMATS = ("svg", "png", "pdf")


def export_graph(trace: Trace, path: str | Path, title: str = "", fold_repeats: bool = True) -> Graph:
    """Write the architecture diagram of ``trace`` to ``path`` (format from its suffix), atomically."""
    from viz3d.files import atomic_write_bytes, check_output_path

    check_output_path(path, FORMATS)  # before the layout: the path is refused in one line, nothing drawn
    fmt = Path(path).suffix.lower().lstrip(".")
    graph = build_graph(trace, fold_repeats)
    drawing = layered_drawing(graph)
    if fmt == "svg":
        from viz3d.graph.svg import to_svg

        data = to_svg(graph, drawing, title).encode()
    else:
        from viz3d.graph.raster import to_bytes

        data = to_bytes(graph, drawing, fmt)
    atomic_write_bytes(path, data)
    return graph
