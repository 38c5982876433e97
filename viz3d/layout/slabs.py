"""Where every slab, tile and edge sits in space.

Coordinates: x to the right, y up, the network flows along -z (the input is
nearest a camera looking down -z). Each slab's *front face* (at its largest
z) carries its feature maps as tiles in a near-square grid, row 0 at the top.

Sizes are sublinear: an H×W map is drawn √max(H, W) world units across, so a
7×7 map is 2.6 units and a 112×112 map 10.6 units, and both stay readable in
the same picture.

numpy only: nothing here imports GL, vispy, glfw or cupy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from viz3d.dag import ranks_of

# Tunables, in world units unless noted.
TILE_GAP_FRACTION = 0.08  # gap between tiles, as a fraction of the tile's short side
MIN_TILE_EXTENT = 1.5  # smallest tile side, so 1×1 maps stay visible
GENERIC_BOX = 3.0  # side of the box drawn for ops without a tensor to show
LANE_GAP = 4.0  # space between slabs side by side
RANK_GAP = 6.0  # smallest space between consecutive slabs along the flow
RANK_GAP_FRACTION = 0.18  # extra space, as a fraction of the larger face
ARC_SEGMENTS = 24
VOLUME_DEPTH_PER_SQRT_CHANNEL = 0.9  # volume mode: a C-deep block is 0.9·√C units deep

LayoutMode = Literal["tile", "volume"]
Arrangement = Literal["line", "rows"]  # ranks along -z, or wrapped like text facing +z (viz3d.layout.rows)


@dataclass(frozen=True)
class SlabShape:
    """What the layout needs to know about a node: its display volume, or None."""

    channels: int
    height: int
    width: int
    cols: int | None = None  # force this many tiles per row (e.g. an out x in kernel grid)

    @property
    def is_generic(self) -> bool:
        return self.channels == 0


GENERIC = SlabShape(0, 0, 0)


def tile_grid(channels: int, height: int, width: int) -> tuple[int, int]:
    """Rows and columns of a near-square grid of ``channels`` tiles of height×width.

    Among column counts that keep the face within 1.5:1 of square, the one
    leaving the fewest empty cells wins (32 maps: 8×4 rather than 6×6 with 4 holes).
    """
    if channels <= 0:
        return 1, 1
    ideal = math.sqrt(channels * height / max(width, 1))
    fallback = min(channels, max(1, math.ceil(ideal)))
    best = (math.ceil(channels / fallback) * fallback - channels, 0.0, fallback)
    # Only column counts near the ideal can keep the face within 1.5:1.
    for cols in range(max(1, int(ideal / 1.6) - 1), min(channels, math.ceil(ideal * 1.6) + 1) + 1):
        rows = math.ceil(channels / cols)
        ratio = (cols * width) / (rows * height)
        if 1 / 1.5 <= ratio <= 1.5:
            key = (rows * cols - channels, abs(math.log(ratio)), cols)
            best = min(best, key)
    cols = best[2]
    return math.ceil(channels / cols), cols


def tile_extent(height: int, width: int) -> tuple[float, float]:
    """World width and height of one H×W tile (sublinear in the map size)."""
    unit = 1.0 / math.sqrt(max(height, width, 1))
    w, h = width * unit, height * unit
    scale = max(1.0, MIN_TILE_EXTENT / min(w, h))
    return w * scale, h * scale


@dataclass
class SlabLayout:
    """One node's slab: a box whose front face holds ``rows``×``cols`` tiles."""

    node_id: int
    center: np.ndarray  # (3,) float64
    size: np.ndarray  # (3,) width, height, thickness
    channels: int
    rows: int
    cols: int
    tile_w: float
    tile_h: float
    gap: float
    rank: int
    lane: int

    @property
    def is_generic(self) -> bool:
        return self.channels == 0

    @property
    def lo(self) -> np.ndarray:
        """Minimum corner of the bounding box."""
        return self.center - self.size / 2

    @property
    def hi(self) -> np.ndarray:
        """Maximum corner of the bounding box."""
        return self.center + self.size / 2

    @property
    def front_z(self) -> float:
        """z of the face that carries the tiles."""
        return float(self.center[2] + self.size[2] / 2)

    @property
    def back_z(self) -> float:
        return float(self.center[2] - self.size[2] / 2)

    def tile_rects(self) -> np.ndarray:
        """(C, 4) array of tile rectangles on the front face: x0, y0, x1, y1.

        Channel c sits at row c // cols (row 0 at the top), column c % cols.
        """
        c = np.arange(self.channels)
        row, col = c // self.cols, c % self.cols
        x0 = self.lo[0] + self.gap + col * (self.tile_w + self.gap)
        y1 = self.hi[1] - self.gap - row * (self.tile_h + self.gap)
        return np.stack([x0, y1 - self.tile_h, x0 + self.tile_w, y1], axis=1)

    def tile_center(self, channel: int) -> np.ndarray:
        """World position of the centre of ``channel``'s tile on the front face."""
        x0, y0, x1, y1 = self.tile_rects()[channel]
        return np.array([(x0 + x1) / 2, (y0 + y1) / 2, self.front_z])


@dataclass
class EdgeRoute:
    """The polyline an edge is drawn along."""

    src: int
    dst: int
    kind: str
    points: np.ndarray  # (P, 3)
    polyline: bool = False  # drawn as straight segments through the points (rows), not a face-to-face bundle or arc


@dataclass
class Layout:
    """Slabs and edge routes of a whole network."""

    slabs: list[SlabLayout]
    routes: list[EdgeRoute] = field(default_factory=list)
    mode: LayoutMode = "tile"
    extras: list[np.ndarray] = field(default_factory=list)  # corners of other things drawn (the answer panel)
    arrangement: Arrangement = "line"

    def slab(self, node_id: int) -> SlabLayout:
        for s in self.slabs:
            if s.node_id == node_id:
                return s
        raise KeyError(node_id)

    def corner_points(self) -> np.ndarray:
        """Every slab's 8 corners and every route point: what a camera must keep in view."""
        pts = []
        for s in self.slabs:
            lo, hi = s.lo, s.hi
            pts.append(np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])]))
        pts += [r.points for r in self.routes] + list(self.extras)
        return np.vstack(pts) if pts else np.zeros((1, 3))

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Minimum and maximum corners of everything drawn."""
        pts = [s.lo for s in self.slabs] + [s.hi for s in self.slabs]
        pts += [r.points for r in self.routes] + list(self.extras)
        allp = np.vstack([np.atleast_2d(p) for p in pts])
        return allp.min(axis=0), allp.max(axis=0)


def _slab_size(shape: SlabShape, mode: LayoutMode) -> tuple[float, float, float, int, int, float, float, float]:
    if shape.is_generic:
        return GENERIC_BOX, GENERIC_BOX, GENERIC_BOX, 1, 1, 0.0, 0.0, 0.0
    if shape.cols:
        cols = min(shape.cols, shape.channels)
        rows = math.ceil(shape.channels / cols)
    else:
        rows, cols = tile_grid(shape.channels, shape.height, shape.width)
    tw, th = tile_extent(shape.height, shape.width)
    if mode == "volume":
        # One map's extent across, the channels in depth.
        depth = max(1.0, VOLUME_DEPTH_PER_SQRT_CHANNEL * math.sqrt(shape.channels))
        return tw, th, depth, rows, cols, tw, th, 0.0
    gap = TILE_GAP_FRACTION * min(tw, th)
    width = cols * tw + (cols + 1) * gap
    height = rows * th + (rows + 1) * gap
    thickness = max(1.0, 0.04 * max(width, height))
    return width, height, thickness, rows, cols, tw, th, gap


def _assign_lanes(n: int, rank: list[int], edges: Sequence[tuple[int, int]]) -> list[int]:
    """Lane of each node: a node keeps its first parent's lane when free, else the nearest free one."""
    parents: dict[int, list[int]] = {}
    for s, d in edges:
        parents.setdefault(d, []).append(s)
    taken: dict[int, set[int]] = {}
    lane = [0] * n
    for i in range(n):
        ps = sorted(p for p in parents.get(i, []) if p < i)
        want = lane[ps[0]] if ps else 0
        used = taken.setdefault(rank[i], set())
        for step in range(n + 1):
            for cand in (want + step, want - step) if step else (want,):
                if cand not in used:
                    lane[i] = cand
                    break
            else:
                continue
            break
        used.add(lane[i])
    return lane


def compute_layout(
    shapes: Sequence[SlabShape], edges: Sequence[tuple[int, int, str]], mode: LayoutMode = "tile"
) -> Layout:
    """Place one slab per node and route every edge.

    ``shapes[i]`` describes node ``i``; ``edges`` are (src, dst, kind). In
    ``tile`` mode a slab's face holds its maps side by side; in ``volume``
    mode a slab is one map wide and its channels deep. The result is
    deterministic and no two slabs overlap.
    """
    n = len(shapes)
    pairs = [(s, d) for s, d, _ in edges]
    rank = ranks_of(n, pairs)
    lane = _assign_lanes(n, rank, pairs)
    dims = [_slab_size(s, mode) for s in shapes]

    by_rank: dict[int, list[int]] = {}
    for i in range(n):
        by_rank.setdefault(rank[i], []).append(i)

    # x: within a rank, lanes sit side by side; lane 0 is centred on x = 0.
    x = np.zeros(n)
    for members in by_rank.values():
        ordered = sorted(members, key=lambda i: lane[i])
        zero = [i for i in ordered if lane[i] == 0]
        anchor = zero[0] if zero else min(ordered, key=lambda i: abs(lane[i]))
        a = ordered.index(anchor)
        x[anchor] = 0.0
        for k in range(a + 1, len(ordered)):
            prev, cur = ordered[k - 1], ordered[k]
            x[cur] = x[prev] + dims[prev][0] / 2 + LANE_GAP + dims[cur][0] / 2
        for k in range(a - 1, -1, -1):
            nxt, cur = ordered[k + 1], ordered[k]
            x[cur] = x[nxt] - dims[nxt][0] / 2 - LANE_GAP - dims[cur][0] / 2

    # z: ranks one after another along -z, spaced by their size.
    max_rank = max(rank, default=0)
    thick = [max(dims[i][2] for i in by_rank[r]) for r in range(max_rank + 1)]
    face = [max(max(dims[i][0], dims[i][1]) for i in by_rank[r]) for r in range(max_rank + 1)]
    zc = np.zeros(max_rank + 1)
    for r in range(1, max_rank + 1):
        spacing = RANK_GAP + RANK_GAP_FRACTION * max(face[r], face[r - 1])
        zc[r] = zc[r - 1] - (thick[r - 1] / 2 + spacing + thick[r] / 2)

    slabs = []
    for i in range(n):
        w, h, d, rows, cols, tw, th, gap = dims[i]
        slabs.append(
            SlabLayout(
                node_id=i,
                center=np.array([x[i], 0.0, zc[rank[i]]]),
                size=np.array([w, h, d]),
                channels=shapes[i].channels,
                rows=rows,
                cols=cols,
                tile_w=tw,
                tile_h=th,
                gap=gap,
                rank=rank[i],
                lane=lane[i],
            )
        )
    layout = Layout(slabs=slabs, mode=mode)
    layout.routes = [_route(slabs[s], slabs[d], kind, slabs) for s, d, kind in edges]
    return layout


def _route(a: SlabLayout, b: SlabLayout, kind: str, slabs: Sequence[SlabLayout]) -> EdgeRoute:
    """Straight segment for neighbours; an arc over the slabs in between for longer edges."""
    start = np.array([a.center[0], a.center[1], a.back_z])
    end = np.array([b.center[0], b.center[1], b.front_z])
    if b.rank - a.rank <= 1 and kind != "skip":
        return EdgeRoute(a.node_id, b.node_id, kind, np.stack([start, end]))
    between = [s for s in slabs if a.rank <= s.rank <= b.rank]
    top = max(float(s.hi[1]) for s in between)
    start = np.array([a.center[0], a.hi[1], a.back_z])
    end = np.array([b.center[0], b.hi[1], b.front_z])
    # A quadratic Bézier whose apex clears every slab it passes over.
    apex = top + 0.25 * abs(end[2] - start[2]) ** 0.5 + 2.0
    ctrl = (start + end) / 2
    ctrl[1] = 2 * apex - (start[1] + end[1]) / 2
    t = np.linspace(0.0, 1.0, ARC_SEGMENTS + 1)[:, None]
    pts = (1 - t) ** 2 * start + 2 * (1 - t) * t * ctrl + t**2 * end
    return EdgeRoute(a.node_id, b.node_id, kind, pts)
