"""Receptive fields: which earlier positions a selected unit depends on, along the real graph.

Regions are computed backwards from the unit through every op's
:class:`~viz3d.capture.spatial.SpatialOp` (kernel, stride, padding,
dilation, adaptive bins, concatenation offsets, slices, flatten order), through
branches and merges, down to the input. A region is a box of rows and
columns plus the set of channels involved, in each node's own coordinates
(sample dimension removed). Ops of unknown mapping depend on everything
(and mark the result approximate).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from viz3d.capture.display_regions import display_feature
from viz3d.capture.spatial import SpatialOp, adaptive_rows, window_rows
from viz3d.capture.trace import Node, Trace


@dataclass(frozen=True)
class Region:
    """Positions of one node's output a unit depends on.

    For (C, H, W) outputs: ``channels`` (None = all) and the inclusive box
    ``y0..y1``, ``x0..x1``. For (F,) feature vectors: ``features`` (None =
    all) and no box; for 2-D outputs (tokens, signals, one map cut out of an
    image) ``features`` are flat indices ``i * cols + j`` of the sample.
    ``exact`` is False once an op of unknown mapping was crossed.
    """

    channels: frozenset[int] | None = None
    y0: int = 0
    y1: int = 0
    x0: int = 0
    x1: int = 0
    features: frozenset[int] | None = None
    exact: bool = True

    def union(self, other: Region) -> Region:
        def merge(a: frozenset[int] | None, b: frozenset[int] | None) -> frozenset[int] | None:
            return None if a is None or b is None else a | b

        return Region(
            merge(self.channels, other.channels),
            min(self.y0, other.y0),
            max(self.y1, other.y1),
            min(self.x0, other.x0),
            max(self.x1, other.x1),
            merge(self.features, other.features),
            self.exact and other.exact,
        )


def _shape(node: Node) -> tuple[int, ...]:
    """Per-sample shape of a node's output."""
    return tuple(node.shape[1:]) if len(node.shape) >= 2 else tuple(node.shape)


def _full(node: Node, exact: bool = True) -> Region:
    return _full_shape(_shape(node), exact)


def _full_shape(s: tuple[int, ...], exact: bool = True) -> Region:
    if len(s) == 3:
        return Region(None, 0, s[1] - 1, 0, s[2] - 1, exact=exact)
    return Region(None, features=None, exact=exact)


def _box_of_features(features: frozenset[int] | None, parent: Node) -> Region:
    """Flatten's inverse: feature indices of a flattened (C, H, W) as channels and a box."""
    _, h, w = _shape(parent)
    if features is None:
        return _full(parent)
    idx = np.array(sorted(features))
    ch, rest = np.divmod(idx, h * w)
    ys, xs = np.divmod(rest, w)
    return Region(frozenset(int(v) for v in ch), int(ys.min()), int(ys.max()), int(xs.min()), int(xs.max()))


def _region_of_product(picked: list[set[int]], ps: tuple[int, ...], exact: bool) -> Region:
    """The region of a parent holding every combination of the per-dim index sets ``picked``."""
    full = [len(p) == s for p, s in zip(picked, ps, strict=True)]
    if len(ps) == 3:
        channels = None if full[0] else frozenset(picked[0])
        return Region(channels, min(picked[1]), max(picked[1]), min(picked[2]), max(picked[2]), exact=exact)
    if all(full):
        return Region(None, features=None, exact=exact)
    grids = np.meshgrid(*(np.array(sorted(p)) for p in picked), indexing="ij")
    return _region_of_points([g.ravel() for g in grids], ps, exact)


def _region_of_points(coords: list[np.ndarray], ps: tuple[int, ...], exact: bool) -> Region:
    """The region of a parent holding the points ``coords`` (one index array per dim)."""
    if len(ps) == 3:
        channels = frozenset(int(c) for c in np.unique(coords[0]))
        ys, xs = coords[1], coords[2]
        channels_or_all = None if len(channels) == ps[0] else channels
        return Region(channels_or_all, int(ys.min()), int(ys.max()), int(xs.min()), int(xs.max()), exact=exact)
    flat = np.ravel_multi_index(tuple(coords), ps)
    return Region(features=frozenset(int(f) for f in np.unique(flat)), exact=exact)


def _through_slice(spec: SpatialOp, region: Region, ps: tuple[int, ...], ns: tuple[int, ...]) -> Region | None:
    """The parent positions a region of a slice's output holds (see ``SpatialOp.slice_dims``)."""
    if not (1 <= len(ps) <= 3 and 1 <= len(ns) <= 3) or len(spec.slice_dims) != len(ns):
        return _full_shape(ps, exact=False)
    source = [spec.slice_dims.index(d) if d in spec.slice_dims else None for d in range(len(ps))]
    if len(ns) == 3 or region.features is None:
        # A box of channels x rows x cols (or everything): map each dim's index set on its own.
        wanted = [set(range(s)) for s in ns]
        if len(ns) == 3:
            channels = region.channels if region.channels is not None else range(ns[0])
            wanted = [set(channels), set(range(region.y0, region.y1 + 1)), set(range(region.x0, region.x1 + 1))]
        picked = [
            {idx[o] for o in wanted[k]} if k is not None else {idx[0]}
            for idx, k in zip(spec.slice_index, source, strict=True)
        ]
        return _region_of_product(picked, ps, region.exact) if all(picked) else None
    # Single features of a 1-D or 2-D output: map each point, so no false combinations appear.
    points = np.unravel_index(np.array(sorted(region.features)), ns)
    coords = [
        np.asarray(idx)[points[k]] if k is not None else np.full(len(points[0]), idx[0])
        for idx, k in zip(spec.slice_index, source, strict=True)
    ]
    return _region_of_points(coords, ps, region.exact)


def _through_stack(region: Region, parent_pos: int, ps: tuple[int, ...]) -> Region | None:
    """The (H, W) parent that became channel ``parent_pos`` of a stack: the box as flat features."""
    if region.channels is not None and parent_pos not in region.channels:
        return None
    rows, cols = set(range(region.y0, region.y1 + 1)), set(range(region.x0, region.x1 + 1))
    return _region_of_product([rows, cols], ps, region.exact)


def _backward(trace: Trace, node: Node, region: Region, parent_pos: int) -> Region | None:
    """The region of input ``parent_pos`` of ``node`` that ``region`` of its output reads; None if none."""
    parent = trace.nodes[node.inputs[parent_pos]]
    spec = node.spec
    ps, ns = _shape(parent), _shape(node)
    if spec.kind == "elementwise":
        if len(ps) == 3 and len(ns) == 3:
            if ps[1:] == (1, 1):  # broadcast (e.g. a per-channel scale)
                return replace(region, y0=0, y1=0, x0=0, x1=0, channels=region.channels if ps[0] > 1 else None)
            return region if ps == ns else _full(parent, exact=False)
        return region if ps == ns else _full(parent, exact=False)
    if spec.kind == "window" and len(ps) == 3 and len(ns) == 3:
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = spec.kernel, spec.stride, spec.padding, spec.dilation
        y0, y1 = window_rows(region.y0, region.y1, kh, sh, ph, dh, ps[1])
        x0, x1 = window_rows(region.x0, region.x1, kw, sw, pw, dw, ps[2])
        channels = region.channels
        if spec.mixes_channels:
            if spec.groups == 1 or channels is None:
                channels = None if spec.groups == 1 else channels
            else:
                per_out, per_in = ns[0] // spec.groups, ps[0] // spec.groups
                groups = {c // per_out for c in channels}
                channels = frozenset(g * per_in + k for g in groups for k in range(per_in))
        return Region(channels, y0, y1, x0, x1, exact=region.exact)
    if spec.kind == "adaptive" and len(ps) == 3 and len(ns) == 3 and spec.out_size:
        y0, y1 = adaptive_rows(region.y0, region.y1, ns[1], ps[1])
        x0, x1 = adaptive_rows(region.x0, region.x1, ns[2], ps[2])
        return Region(region.channels, y0, y1, x0, x1, exact=region.exact)
    if spec.kind == "concat" and len(ps) == 3:
        offset = sum(_shape(trace.nodes[p])[0] for p in node.inputs[:parent_pos])
        wanted = range(offset, offset + ps[0])
        if region.channels is None:
            return region
        picked = frozenset(c - offset for c in region.channels if c in wanted)
        return replace(region, channels=picked) if picked else None
    if spec.kind == "slice":
        # Only the sliced tensor is read at positions; index tensors carry no gradient.
        return _through_slice(spec, region, ps, ns) if parent_pos == 0 else None
    if spec.kind == "stack" and len(ps) == 2 and len(ns) == 3:
        return _through_stack(region, parent_pos, ps)
    if spec.kind == "flatten" and len(ps) == 3:
        return replace(_box_of_features(region.features, parent), exact=region.exact)
    if spec.kind == "global_pool" and len(ps) == 3:
        full = _full(parent)
        return replace(full, channels=region.features, exact=region.exact)
    if spec.kind == "dense":
        return replace(_full(parent), exact=region.exact)
    return _full(parent, exact=False)


def unit_region(node: Node, channel: int, y: int, x: int) -> Region:
    """The region of one unit, given in display coordinates (channel, y, x)."""
    s = _shape(node)
    if len(s) == 3:
        return Region(frozenset({channel}), y, y, x, x)
    feature = display_feature(node, channel, y, x)
    if feature is not None:  # a 2-D output: the flat index of the sample, whatever the display
        return Region(features=frozenset({feature}))
    if node.display is not None:
        cols = int(node.display.shape[2])
        return Region(features=frozenset({y * cols + x}))
    return Region(features=frozenset({0}))


def receptive_field(trace: Trace, node_id: int, channel: int, y: int, x: int) -> dict[int, Region]:
    """Every node the unit (channel, y, x) of ``node_id`` depends on, with the region it reads.

    The selected node itself is included with the unit's own region.
    """
    return region_field(trace, node_id, unit_region(trace.nodes[node_id], channel, y, x))


def region_field(trace: Trace, node_id: int, region: Region) -> dict[int, Region]:
    """Like :func:`receptive_field`, starting from a whole region of ``node_id``'s output."""
    regions: dict[int, Region] = {node_id: region}
    for nid in range(node_id, -1, -1):  # node order is topological
        current = regions.get(nid)
        if current is None:
            continue
        node = trace.nodes[nid]
        for pos, parent in enumerate(node.inputs):
            back = _backward(trace, node, current, pos)
            if back is not None:
                regions[parent] = regions[parent].union(back) if parent in regions else back
    return regions


def top_contributions(trace: Trace, node_id: int, feature: int, k: int = 16) -> list[tuple[int, float]]:
    """For a linear layer's output ``feature``: the ``k`` input features with the largest |w·a|.

    Returns (input feature index, signed contribution w·a), strongest first.
    """
    node = trace.nodes[node_id]
    module = node.module
    if not isinstance(module, torch.nn.Linear) or not node.inputs:
        return []
    parent = trace.nodes[node.inputs[0]]
    if parent.tensor is None:
        return []
    a = parent.tensor.detach().reshape(parent.tensor.shape[0], -1)[trace.batch_index].float()
    w = module.weight.detach()[feature].float().to(a.device)
    contrib = w * a
    top = torch.topk(contrib.abs(), min(k, contrib.numel()))
    values = contrib[top.indices].cpu().tolist()
    return [(int(i), float(v)) for i, v in zip(top.indices.cpu().tolist(), values, strict=True)]
