"""Geometry of connections: graph edges, receptive-field cones and weight links (numpy only).

Each :class:`ConnectionSet` is a batch of quadratic Bézier curves (a straight
line is a curve whose control point is its midpoint) with a colour, a width
in pixels and a strength. The renderer draws one batch per kind in a single
instanced call; :func:`apply_budget` keeps the strongest within a segment
budget so software GL stays interactive.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from viz3d.layout.slabs import Layout, SlabLayout

KIND_COLORS: dict[str, tuple[float, float, float, float]] = {
    "sequential": (0.62, 0.66, 0.74, 0.75),
    "merge": (0.45, 0.75, 1.00, 0.85),
    "skip": (1.00, 0.66, 0.25, 0.90),
    "rf": (0.35, 0.95, 0.85, 0.85),
    "positive": (1.00, 0.45, 0.30, 0.90),
    "negative": (0.35, 0.60, 1.00, 0.90),
}
ARC_SEGMENTS = 24
BUNDLE = ((0.0, 0.0), (-0.3, -0.3), (0.3, -0.3), (-0.3, 0.3), (0.3, 0.3))  # face fractions of a bundle's lines
MAX_RF_TILES_PER_SLAB = 64


@dataclass
class ConnectionSet:
    """A batch of curves drawn with one instanced call."""

    p0: np.ndarray  # (N, 3)
    p1: np.ndarray
    ctrl: np.ndarray
    color: np.ndarray  # (N, 4)
    width: np.ndarray  # (N,) pixels
    strength: np.ndarray  # (N,) higher is kept first under a budget
    segments: int = 1  # segments per curve (1 for straight lines)
    total: int = field(default=-1)  # instances before thinning

    def __post_init__(self) -> None:
        if self.total < 0:
            self.total = len(self.p0)

    def __len__(self) -> int:
        return len(self.p0)

    @property
    def segment_count(self) -> int:
        return len(self) * self.segments

    def take(self, index: np.ndarray) -> ConnectionSet:
        return ConnectionSet(
            self.p0[index], self.p1[index], self.ctrl[index], self.color[index], self.width[index],
            self.strength[index], self.segments, self.total,
        )  # fmt: skip


def _make(rows: list[tuple], segments: int) -> ConnectionSet:
    if not rows:
        z3, z4, z1 = np.zeros((0, 3), np.float32), np.zeros((0, 4), np.float32), np.zeros(0, np.float32)
        return ConnectionSet(z3, z3, z3, z4, z1, z1, segments)
    p0, p1, ctrl, color, width, strength = (np.array(col, np.float32) for col in zip(*rows, strict=True))
    return ConnectionSet(p0, p1, ctrl, color, width, strength, segments)


def apply_budget(sets: Sequence[ConnectionSet], budget: int) -> list[ConnectionSet]:
    """Keep the strongest curves of all sets together within ``budget`` segments."""
    total = sum(s.segment_count for s in sets)
    if total <= budget:
        return list(sets)
    strengths = np.concatenate([s.strength for s in sets]) if sets else np.zeros(0)
    cost = np.concatenate([np.full(len(s), s.segments) for s in sets]) if sets else np.zeros(0)
    order = np.argsort(-strengths, kind="stable")
    keep = np.zeros(len(strengths), bool)
    keep[order[np.cumsum(cost[order]) <= budget]] = True
    out, start = [], 0
    for s in sets:
        out.append(s.take(np.flatnonzero(keep[start : start + len(s)])))
        start += len(s)
    return out


def _face_point(slab: SlabLayout, fx: float, fy: float, z: float) -> np.ndarray:
    return np.array([slab.center[0] + fx * slab.size[0], slab.center[1] + fy * slab.size[1], z])


def graph_connections(
    layout: Layout, flow: Mapping[int, float] | None = None, bundle: bool = True
) -> tuple[ConnectionSet, ConnectionSet]:
    """Straight bundles for neighbouring slabs and arcs for skips, from the layout's routes.

    ``flow`` (node id → mean |activation|) sets widths: 1 px for no signal
    up to 4 px for the strongest. Returns (lines, arcs).
    """
    peak = max(flow.values(), default=0.0) if flow else 0.0
    lines, arcs = [], []
    for route in layout.routes:
        src, dst = layout.slab(route.src), layout.slab(route.dst)
        color = KIND_COLORS.get(route.kind, KIND_COLORS["sequential"])
        strength = (flow or {}).get(route.src, 0.0)
        width = 1.0 + 3.0 * strength / peak if peak > 0 else 1.5
        if route.polyline:  # rows: the route's own path through the gaps, one straight line per leg
            for a, b in zip(route.points[:-1], route.points[1:], strict=True):
                lines.append((a, b, (a + b) / 2, color, width, strength))
        elif len(route.points) == 2:
            offsets = BUNDLE if bundle and not (src.is_generic or dst.is_generic) else BUNDLE[:1]
            for fx, fy in offsets:
                a = _face_point(src, fx, fy, src.back_z)
                b = _face_point(dst, fx, fy, dst.front_z)
                lines.append((a, b, (a + b) / 2, color, width, strength))
        else:
            a, b = route.points[0], route.points[-1]
            mid = route.points[len(route.points) // 2]
            ctrl = 2 * mid - (a + b) / 2  # the Bézier control point through the route's midpoint
            arcs.append((a, b, ctrl, color, width, strength + 1.0))  # skips stay under a budget
    return _make(lines, 1), _make(arcs, ARC_SEGMENTS)


def region_rect(slab: SlabLayout, channel: int, box: tuple[int, int, int, int], hw: tuple[int, int]) -> tuple:
    """World rectangle (x0, y0, x1, y1) of rows y0..y1, cols x0..x1 of one tile (maps are H×W)."""
    tx0, ty0, tx1, ty1 = slab.tile_rects()[channel]
    h, w = hw
    r0, r1, c0, c1 = box
    sx, sy = (tx1 - tx0) / w, (ty1 - ty0) / h
    return tx0 + c0 * sx, ty1 - (r1 + 1) * sy, tx0 + (c1 + 1) * sx, ty1 - r0 * sy


def rf_connections(
    layout: Layout, regions: Mapping[int, object], unit_node: int, unit_point: np.ndarray, displays: Mapping
) -> ConnectionSet:
    """Outlines of each earlier slab's region and lines from the unit to it (a cone).

    ``regions`` maps node id → :class:`viz3d.capture.receptive_field.Region`;
    ``displays`` node id → {"shape": (C, H, W) display shape, "vector": True
    when the node's output is a feature vector shown as cells}. At most
    :data:`MAX_RF_TILES_PER_SLAB` tiles are outlined per slab. Vectorised:
    a ResNet-50 cone is tens of thousands of segments.
    """
    color = np.array(KIND_COLORS["rf"], np.float32)
    faded = color * np.array([1, 1, 1, 0.5], np.float32)
    unit_rank = layout.slab(unit_node).rank
    p0s, p1s, colors, widths, strengths = [], [], [], [], []
    for nid, region in regions.items():
        if nid == unit_node or nid not in displays:
            continue
        slab = layout.slab(nid)
        _, h, w = displays[nid]["shape"]
        tiles = slab.tile_rects()
        if displays[nid]["vector"]:
            feats = region.features  # type: ignore[attr-defined]
            cells = np.arange(h * w) if feats is None else np.array(sorted(feats))
            cells = cells[:256]
            boxes = np.stack([cells // w, cells // w, cells % w, cells % w], axis=1)
            tile = np.repeat(tiles[:1], len(cells), axis=0)
        else:
            chans = region.channels  # type: ignore[attr-defined]
            chosen = np.arange(len(tiles)) if chans is None else np.array(sorted(chans))
            chosen = chosen[:MAX_RF_TILES_PER_SLAB]
            box = [region.y0, region.y1, region.x0, region.x1]  # type: ignore[attr-defined]
            boxes = np.tile(np.array(box), (len(chosen), 1))
            tile = tiles[chosen]
        sx = (tile[:, 2] - tile[:, 0]) / w
        sy = (tile[:, 3] - tile[:, 1]) / h
        x0 = tile[:, 0] + boxes[:, 2] * sx
        x1 = tile[:, 0] + (boxes[:, 3] + 1) * sx
        y0 = tile[:, 3] - (boxes[:, 1] + 1) * sy
        y1 = tile[:, 3] - boxes[:, 0] * sy
        z = np.full_like(x0, slab.front_z + 0.002 * slab.size[2])
        corners = np.stack(
            [np.stack([x0, y0, z], 1), np.stack([x1, y0, z], 1), np.stack([x1, y1, z], 1), np.stack([x0, y1, z], 1)],
            axis=1,
        )  # (R, 4, 3)
        a = corners.reshape(-1, 3)
        b = np.roll(corners, -1, axis=1).reshape(-1, 3)
        strength = 1.0 / (1 + abs(unit_rank - slab.rank))
        p0s += [a, np.repeat(unit_point[None], 4, axis=0)]
        p1s += [b, corners[0]]
        colors += [np.tile(color, (len(a), 1)), np.tile(faded, (4, 1))]
        widths += [np.full(len(a), 1.5), np.full(4, 1.0)]
        strengths += [np.full(len(a), strength), np.full(4, strength * 0.5)]
    if not p0s:
        return _make([], 1)
    p0, p1 = np.concatenate(p0s).astype(np.float32), np.concatenate(p1s).astype(np.float32)
    return ConnectionSet(
        p0, p1, (p0 + p1) / 2, np.concatenate(colors), np.concatenate(widths).astype(np.float32),
        np.concatenate(strengths).astype(np.float32),
    )  # fmt: skip


def weight_connections(
    layout: Layout,
    output_point: np.ndarray,
    source: int,
    links: Sequence[object],
    cell_grid: tuple[int, int] | None = None,
) -> ConnectionSet:
    """Lines from the selected unit to its strongest inputs on slab ``source``.

    Width ∝ weight strength (1–5 px), colour by sign (warm positive, cool
    negative). With ``cell_grid`` (rows, cols) the source is a feature vector
    shown as one map of cells, and ``link.source`` is a feature index;
    otherwise it is a channel (a tile).
    """
    slab = layout.slab(source)
    peak = max((float(link.strength) for link in links), default=1.0) or 1.0  # type: ignore[attr-defined]
    rows = []
    for link in links:
        s = float(link.strength)  # type: ignore[attr-defined]
        i = int(link.source)  # type: ignore[attr-defined]
        if cell_grid is not None:
            n_cols = cell_grid[1]
            x0, y0, x1, y1 = region_rect(slab, 0, (i // n_cols, i // n_cols, i % n_cols, i % n_cols), cell_grid)
            b = np.array([(x0 + x1) / 2, (y0 + y1) / 2, slab.front_z])
        else:
            b = slab.tile_center(i)
        base = KIND_COLORS["positive" if link.sign >= 0 else "negative"]  # type: ignore[attr-defined]
        color = (*base[:3], 0.35 + 0.6 * s / peak)
        rows.append((output_point, b, (output_point + b) / 2, color, 1.0 + 4.0 * s / peak, s))
    return _make(rows, 1)
