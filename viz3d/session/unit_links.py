"""Connections of one selected unit: its receptive-field cone and its strongest weights.

Joins capture (receptive fields, weights) with layout (where things are) into
:class:`~viz3d.layout.connections.ConnectionSet` batches for the renderer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

import numpy as np
import torch

from viz3d.capture.display_regions import display_region
from viz3d.capture.receptive_field import Region, receptive_field, region_field, top_contributions, unit_region
from viz3d.capture.trace import Trace
from viz3d.capture.weights import top_weight_links
from viz3d.errors import Viz3dError
from viz3d.layout.connections import ConnectionSet, region_rect, rf_connections, weight_connections
from viz3d.layout.slabs import Layout

TOP_K_WEIGHTS = 16
TOP_K_CONTRIBUTIONS = 16


def unit_point(trace: Trace, layout: Layout, node_id: int, channel: int, y: int, x: int) -> np.ndarray:
    """World position of feature-map pixel (y, x) of ``channel`` on the node's slab face."""
    node = trace.nodes[node_id]
    if node.display is None:
        return layout.slab(node_id).center.copy()
    _, h, w = (int(v) for v in node.display.shape)
    slab = layout.slab(node_id)
    x0, y0, x1, y1 = region_rect(slab, channel, (y, y, x, x), (h, w))
    return np.array([(x0 + x1) / 2, (y0 + y1) / 2, slab.front_z])


def _displays(trace: Trace) -> dict[int, dict[str, object]]:
    return {
        n.id: {"shape": tuple(int(v) for v in n.display.shape), "vector": len(n.shape) == 2}
        for n in trace.nodes
        if n.display is not None
    }


def unit_connections(
    trace: Trace, layout: Layout, node_id: int, channel: int, y: int, x: int, kinds: Iterable[str] = ("rf", "weights")
) -> dict[str, list[ConnectionSet]]:
    """The receptive-field cone ("rf") and strongest weights ("weights") of one unit.

    (channel, y, x) are display coordinates: for a feature vector shown as a
    grid of cells, channel 0 and the cell's row and column.
    """
    node = trace.nodes[node_id]
    if node.display is None:
        raise Viz3dError(f"layer {node.name} has no activation to select a unit in")
    c, h, w = (int(v) for v in node.display.shape)
    if not (0 <= channel < c and 0 <= y < h and 0 <= x < w):
        raise Viz3dError(f"unit ({channel}, {y}, {x}) is outside layer {node.name}'s shown shape ({c}, {h}, {w})")
    point = unit_point(trace, layout, node_id, channel, y, x)
    out: dict[str, list[ConnectionSet]] = {}
    kinds = set(kinds)
    if "rf" in kinds:
        if isinstance(node.module, torch.nn.Linear) and node.inputs:
            # A linear unit reads everything: show where its strongest contributions come from.
            top = top_contributions(trace, node_id, y * w + x, TOP_K_CONTRIBUTIONS)
            start = Region(features=frozenset(i for i, _ in top))
            regions = region_field(trace, node.inputs[0], start)
            regions[node_id] = unit_region(node, channel, y, x)
        else:
            regions = receptive_field(trace, node_id, channel, y, x)
        # 2-D outputs hold flat sample indices: outline them where their display shows them.
        shown = {nid: display_region(trace.nodes[nid], r) for nid, r in regions.items()}
        shown = {nid: _as_tiles(trace, nid, r) for nid, r in shown.items() if r.channels != frozenset()}
        out["rf"] = [rf_connections(layout, shown, node_id, point, _displays(trace))]
    if "weights" in kinds and node.inputs:
        output = channel if len(node.shape) == 4 else y * w + x
        links = top_weight_links(trace, node_id, output, TOP_K_WEIGHTS)
        source = trace.nodes[node.inputs[0]]
        if source.display_rgb:  # channel triples are one colour tile: point at the tile, once
            tiles = {link.source // 3: replace(link, source=link.source // 3) for link in reversed(links)}
            links = sorted(tiles.values(), key=lambda link: -link.strength)
        if links and source.display is not None:
            grid = (int(source.display.shape[1]), int(source.display.shape[2])) if len(source.shape) == 2 else None
            out["weights"] = [weight_connections(layout, point, source.id, links, grid)]
    return out


def _as_tiles(trace: Trace, node_id: int, region: Region) -> Region:
    """A region's channels as tiles: on a colour picture (the input) channel c is in tile c // 3."""
    if not trace.nodes[node_id].display_rgb or region.channels is None:
        return region
    return replace(region, channels=frozenset(c // 3 for c in region.channels))


def parse_unit(trace: Trace, text: str) -> tuple[int, int, int, int]:
    """``LAYER:CHANNEL[:Y:X]`` → (node id, channel, y, x); y and x default to the map's centre."""
    parts = text.rsplit(":", 3)
    try:
        if len(parts) == 4:
            name, ch, yy, xx = parts[0], int(parts[1]), int(parts[2]), int(parts[3])
        elif len(parts) >= 2:
            name, ch = ":".join(parts[:-1]), int(parts[-1])
            yy = xx = -1
        else:
            raise ValueError
    except ValueError:
        raise Viz3dError(f"bad unit {text!r}: use LAYER:CHANNEL or LAYER:CHANNEL:Y:X, e.g. conv2:5:10:12") from None
    try:
        node = trace.node(name)
    except KeyError:
        raise Viz3dError(
            f"no layer named {name!r}; layers are: {', '.join(n.name for n in trace.nodes[:12])}..."
        ) from None
    if node.display is None:
        raise Viz3dError(f"layer {name} has no activation to select a unit in")
    c, h, w = (int(v) for v in node.display.shape)
    channels = c // 3 if node.display_rgb else c
    if len(parts) == 4 and not (0 <= yy < h and 0 <= xx < w):
        raise Viz3dError(f"bad unit {text!r}: y must be in 0..{h - 1} and x in 0..{w - 1} for layer {name}")
    if not 0 <= ch < channels:
        raise Viz3dError(f"bad unit {text!r}: channel must be in 0..{channels - 1} for layer {name}")
    return node.id, ch, (h // 2 if yy < 0 else yy), (w // 2 if xx < 0 else xx)


def unit_outline(trace: Trace, layout: Layout, node_id: int, channel: int, y: int, x: int) -> np.ndarray:
    """Line segments around one feature-map pixel (and its tile), for highlighting a selected unit."""
    node = trace.nodes[node_id]
    slab = layout.slab(node_id)
    if node.display is None or slab.is_generic:
        return np.zeros((0, 3))
    _, h, w = (int(v) for v in node.display.shape)
    z = slab.front_z + 0.01 * slab.size[2]
    segs = []
    for box in ((0, h - 1, 0, w - 1), (y, y, x, x)):
        x0, y0, x1, y1 = region_rect(slab, channel, box, (h, w))
        c = [(x0, y0, z), (x1, y0, z), (x1, y1, z), (x0, y1, z)]
        segs += [c[i % 4] for k in range(4) for i in (k, k + 1)]
    return np.array(segs)
