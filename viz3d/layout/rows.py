"""Rows: a long network wrapped like lines of text, so its overview fills a 16:9 frame (numpy only).

The line arrangement (:func:`viz3d.layout.slabs.compute_layout`) stacks ranks
along -z; seen from the overview, a deep network is a thin diagonal thread. The
rows arrangement keeps every slab's front face at z = 0, towards a camera
looking down -z, and lays the ranks out left to right, parallel lanes stacked
in y inside a rank's column. When a row is full the flow continues at the start
of the next row below, like text. The number of rows is the one whose bounding
box is nearest 16:9, and row breaks prefer the places fewest edges cross (in a
ResNet, between blocks).

Edges are drawn in the gaps, at z = :data:`ROUTE_Z` (inside every slab's
thickness, so never in front of a face):

- neighbours in a row: a straight segment across the gap between their columns;
- skips in a row: an arc from top to top, raised just enough to clear every
  slab it passes over (exact: a symmetric quadratic Bézier is lowest over a
  slab at one of the slab's edges), or a bracket through the column gaps and
  over the row when a slab sits above either end in its column;
- edges between rows: down the gap after the source's column, along the lane
  under the row, and down the gap before the target's column (past the rows
  between along the left margin).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from viz3d.dag import ranks_of
from viz3d.layout.slabs import (
    ARC_SEGMENTS,
    LANE_GAP,
    Arrangement,
    EdgeRoute,
    Layout,
    LayoutMode,
    SlabLayout,
    SlabShape,
    compute_layout,
)

COLUMN_GAP = 2.5  # smallest space between neighbouring columns along a row
COLUMN_GAP_FRACTION = 0.1  # extra space, as a fraction of the taller neighbour
ROW_LANE = 2.0  # the wrap lane runs this far below a row; the next row's arcs start as far below it
ARC_RISE = 2.0  # an arc's apex stands at least this far above the slabs it passes over
ROUTE_Z = -0.5  # routes run inside every slab's thickness (at least 1): behind the faces' plane
TARGET_ASPECT = 16 / 9
ROWS_PAST_RANKS = (
    24  # auto: a network with more ranks than this is wrapped (see README, "An overview that fills the screen")
)
BREAK_TOLERANCE = 0.3  # a row break may move this fraction of a row's width to cut fewer edges


def _columns(slabs: Sequence[SlabLayout]) -> list[list[SlabLayout]]:
    """Slabs by rank, each rank's members in lane order (lane 0 in the middle, lower lanes above)."""
    by_rank: dict[int, list[SlabLayout]] = {}
    for s in slabs:
        by_rank.setdefault(s.rank, []).append(s)
    return [sorted(by_rank[r], key=lambda s: s.lane) for r in sorted(by_rank)]


def _stack(column: list[SlabLayout]) -> list[float]:
    """Centre y of each member: lane 0 (or the lane nearest it) on the row's baseline y = 0."""
    anchor = min(range(len(column)), key=lambda k: (abs(column[k].lane), column[k].lane))
    y = [0.0] * len(column)
    for k in range(anchor + 1, len(column)):
        y[k] = y[k - 1] - column[k - 1].size[1] / 2 - LANE_GAP - column[k].size[1] / 2
    for k in range(anchor - 1, -1, -1):
        y[k] = y[k + 1] + column[k + 1].size[1] / 2 + LANE_GAP + column[k].size[1] / 2
    return y


def _crossings(n_cols: int, col_of: dict[int, int], edges: Sequence[tuple[int, int, str]]) -> np.ndarray:
    """For each boundary b (before column b), how many edges cross it."""
    delta = np.zeros(n_cols + 1)
    for s, d, _ in edges:
        a, b = sorted((col_of[s], col_of[d]))
        if a < b:
            delta[a + 1] += 1
            delta[b + 1] -= 1
    return np.cumsum(delta)[:n_cols]


def _breaks(start: np.ndarray, total: float, cross: np.ndarray, rows: int) -> list[int]:
    """First column of each row: near equal widths, moved within tolerance to where fewest edges cross.

    ``start`` is each column's left edge were the network one long row, ``total`` that row's width.
    """
    out = [0]
    for k in range(1, rows):
        ideal, slack = k * total / rows, BREAK_TOLERANCE * total / rows
        lo = max(out[-1] + 1, int(np.searchsorted(start, ideal - slack, "left")))
        hi = int(np.searchsorted(start, ideal + slack, "right"))
        cands = list(range(lo, hi))
        if not cands:  # no column starts near the ideal place: the nearest one after the last break
            near = max(out[-1] + 1, min(int(np.searchsorted(start, ideal)), len(start) - 1))
            if near >= len(start):
                break
            cands = [near]
        out.append(min(cands, key=lambda b: (cross[b], abs(start[b] - ideal), b)))
    return out


def _row_spans(breaks: list[int], n_cols: int) -> list[range]:
    return [range(b, e) for b, e in zip(breaks, [*breaks[1:], n_cols], strict=True)]


def _extent(
    breaks: list[int],
    start: np.ndarray,
    width: np.ndarray,
    top: np.ndarray,
    bottom: np.ndarray,
    peaks: list[tuple[int, int, float]],
) -> float:
    """How much of a 16:9 frame the rows' bounding box fills when fitted (1.0: exactly 16:9).

    ``peaks`` (first column, last column, top) are the skip arcs: an arc whose ends share a row raises it.
    """
    spans = _row_spans(breaks, len(width))
    row = np.searchsorted(np.array(breaks), np.arange(len(width)), "right") - 1
    row_top = [float(top[r.start : r.stop].max()) for r in spans]
    for a, b, peak in peaks:
        if row[a] == row[b]:
            row_top[row[a]] = max(row_top[row[a]], peak)
    w = max(float(start[r.stop - 1] + width[r.stop - 1] - start[r.start]) for r in spans)
    h = sum(t - float(bottom[r.start : r.stop].min()) for t, r in zip(row_top, spans, strict=True))
    aspect = w / max(h + 2 * ROW_LANE * (len(spans) - 1), 1e-9)
    return min(aspect / TARGET_ASPECT, TARGET_ASPECT / aspect)


def arrange_rows(line: Layout, edges: Sequence[tuple[int, int, str]]) -> Layout:
    """The slabs of a line layout wrapped into rows nearest 16:9, with routes in the gaps."""
    if not line.slabs:
        return replace(line, arrangement="rows")
    columns = _columns(line.slabs)
    n_cols = len(columns)
    ys = [_stack(c) for c in columns]
    width = np.array([max(float(s.size[0]) for s in c) for c in columns])
    top = np.array(
        [max(y + s.size[1] / 2 for s, y in zip(c, cy, strict=True)) for c, cy in zip(columns, ys, strict=True)]
    )
    bottom = np.array(
        [min(y - s.size[1] / 2 for s, y in zip(c, cy, strict=True)) for c, cy in zip(columns, ys, strict=True)]
    )
    tall = top - bottom
    gap = np.zeros(n_cols)
    gap[1:] = COLUMN_GAP + COLUMN_GAP_FRACTION * np.maximum(tall[1:], tall[:-1])
    start = np.concatenate([[0.0], np.cumsum(width[:-1] + gap[1:])])  # each column's left edge on one long row
    total = float(start[-1] + width[-1])
    # An arc is the same wherever its row starts: measured once on one long row, each skip's peak is known.
    flat = _Rows(line.slabs, columns, ys, start + width / 2, [range(n_cols)], width, gap)
    peaks = flat.arc_peaks(edges)
    cross = _crossings(n_cols, flat.col_of, edges)
    # r rows of height h hold a width total / r: near 16:9 when r ≈ √(9·total / (16·h)); try up to twice that.
    guess = math.sqrt(total / (TARGET_ASPECT * float(np.median(tall) + 2 * ROW_LANE)))
    most = min(n_cols, 2 * math.ceil(guess) + 2)
    options = [_breaks(start, total, cross, rows) for rows in range(1, most + 1)]
    breaks = max(options, key=lambda b: (round(_extent(b, start, width, top, bottom, peaks), 6), -len(b)))
    spans = _row_spans(breaks, n_cols)

    # x: each row starts at x = 0; y: rows downwards, each as tall as its slabs and arcs, a wrap lane between.
    cx = start + width / 2
    for span in spans:
        cx[span.start : span.stop] -= start[span.start]
    geometry = _Rows(line.slabs, columns, ys, cx, spans, width, gap)
    baseline = 0.0
    for i in range(len(spans)):
        if i:
            baseline -= geometry.bottom_drop(i - 1) + 2 * ROW_LANE + geometry.arc_top(i, edges)
        geometry.shift_row(i, baseline)
    routes = [geometry.route(s, d, kind) for s, d, kind in edges]
    return Layout(slabs=geometry.slabs, routes=routes, mode=line.mode, extras=line.extras, arrangement="rows")


class _Rows:
    """Columns placed in rows (row i's baseline at y = 0 until :meth:`shift_row`), and the routes between them."""

    def __init__(
        self,
        line: Sequence[SlabLayout],
        columns: list[list[SlabLayout]],
        ys: list[list[float]],
        cx: np.ndarray,
        spans: list[range],
        width: np.ndarray,
        gap: np.ndarray,
    ) -> None:
        self.by_id = {
            s.node_id: replace(s, center=np.array([cx[k], y, -s.size[2] / 2]))  # front faces at z = 0
            for k, c in enumerate(columns)
            for s, y in zip(c, ys[k], strict=True)
        }
        self.slabs = [self.by_id[s.node_id] for s in line]
        self.columns = [[self.by_id[s.node_id] for s in c] for c in columns]
        self.col_of = {s.node_id: k for k, c in enumerate(columns) for s in c}
        self.row_of = {s.node_id: i for i, span in enumerate(spans) for k in span for s in columns[k]}
        self.spans, self.cx, self.width, self.gap = spans, cx, width, gap
        self.starts = {span.start for span in spans}
        self.baseline = [0.0] * len(spans)

    def arc_peaks(self, edges: Sequence[tuple[int, int, str]]) -> list[tuple[int, int, float]]:
        """(source column, target column, highest y) of every edge drawn as an arc when its ends share a row."""
        return [
            (self.col_of[s], self.col_of[d], float(self._arc(self.by_id[s], self.by_id[d])[:, 1].max()))
            for s, d, kind in edges
            if self._arcs(s, d, kind)
        ]

    def members(self, row: int) -> list[SlabLayout]:
        return [s for k in self.spans[row] for s in self.columns[k]]

    def top(self, row: int) -> float:
        return max(float(s.hi[1]) for s in self.members(row))

    def bottom(self, row: int) -> float:
        return min(float(s.lo[1]) for s in self.members(row))

    def bottom_drop(self, row: int) -> float:
        """How far below the row's baseline its lowest slab reaches."""
        return self.baseline[row] - self.bottom(row)

    def arc_top(self, row: int, edges: Sequence[tuple[int, int, str]]) -> float:
        """How far above the row's baseline its slabs and arcs reach (before the row is moved)."""
        peak = self.top(row)
        for s, d, kind in edges:
            if self.row_of[s] == row == self.row_of[d] and self._arcs(s, d, kind):
                peak = max(peak, float(self._arc(self.by_id[s], self.by_id[d])[:, 1].max()))
        return peak - self.baseline[row]

    def shift_row(self, row: int, baseline: float) -> None:
        dy = baseline - self.baseline[row]
        for s in self.members(row):
            s.center[1] += dy
        self.baseline[row] = baseline

    # --- routes ---------------------------------------------------------------------
    def _gap_after(self, node: int) -> float:
        k = self.col_of[node]
        nxt = self.gap[k + 1] if k + 1 < len(self.gap) and k + 1 not in self.starts else COLUMN_GAP
        return self.cx[k] + self.width[k] / 2 + nxt / 2

    def _gap_before(self, node: int) -> float:
        k = self.col_of[node]
        before = self.gap[k] if k not in self.starts else COLUMN_GAP
        return self.cx[k] - self.width[k] / 2 - before / 2

    def _on_top(self, node: int) -> bool:
        return self.columns[self.col_of[node]][0].node_id == node

    def _arcs(self, s: int, d: int, kind: str) -> bool:
        forward = self.col_of[d] > self.col_of[s]
        far = kind == "skip" or self.col_of[d] - self.col_of[s] > 1
        return forward and far and self._on_top(s) and self._on_top(d)

    def _arc(self, a: SlabLayout, b: SlabLayout) -> np.ndarray:
        """Top to top, the control point as low as lets the curve clear every slab in between."""
        y0, y1 = float(a.hi[1]), float(b.hi[1])
        x0, x1 = float(a.center[0]), float(b.center[0])
        need = max(y0, y1) + ARC_RISE
        # Concave, the curve is lowest over a slab at one of the slab's edges: clearing every edge clears it all.
        for k in range(self.col_of[a.node_id], self.col_of[b.node_id] + 1):
            for s in self.columns[k]:
                clear = float(s.hi[1]) + (ARC_RISE / 2 if s is a or s is b else ARC_RISE)  # drawn as chords: a margin
                for x in (float(s.lo[0]), float(s.hi[0])):
                    u = (x - x0) / (x1 - x0)
                    if 0 < u < 1:
                        need = max(need, (clear - (1 - u) ** 2 * y0 - u**2 * y1) / (2 * u * (1 - u)))
        ctrl = np.array([(x0 + x1) / 2, need, ROUTE_Z])
        start, end = np.array([x0, y0, ROUTE_Z]), np.array([x1, y1, ROUTE_Z])
        t = np.linspace(0.0, 1.0, ARC_SEGMENTS + 1)[:, None]
        return (1 - t) ** 2 * start + 2 * (1 - t) * t * ctrl + t**2 * end

    def route(self, s: int, d: int, kind: str) -> EdgeRoute:
        a, b = self.by_id[s], self.by_id[d]
        ra, rb = self.row_of[s], self.row_of[d]
        if ra == rb and self._arcs(s, d, kind):
            return EdgeRoute(s, d, kind, self._arc(a, b))
        out = [(float(a.hi[0]), float(a.center[1])), (self._gap_after(s), float(a.center[1]))]
        into = [(self._gap_before(d), float(b.center[1])), (float(b.lo[0]), float(b.center[1]))]
        if ra == rb and self.col_of[d] == self.col_of[s] + 1:  # across the gap between the two columns
            k = self.col_of[s]
            right, left = self.cx[k] + self.width[k] / 2, self.cx[k + 1] - self.width[k + 1] / 2
            pts = [out[0], (right, out[0][1]), (left, into[1][1]), into[1]]
        elif ra == rb:  # a bracket over the row
            over = max(self.top(ra), float(a.hi[1]), float(b.hi[1])) + ARC_RISE
            pts = [*out, (out[1][0], over), (into[0][0], over), *into]
        else:  # under the source's row, past the rows between on the left, into the target's row from above
            below = self.bottom(ra) - ROW_LANE
            above = self.bottom(rb - 1) - ROW_LANE if rb > 0 else self.top(rb) + ROW_LANE
            margin = -COLUMN_GAP
            pts = [*out, (out[1][0], below)]
            if rb != ra + 1:
                pts += [(margin, below), (margin, above)]
            pts += [(into[0][0], above), *into]
        return EdgeRoute(s, d, kind, _polyline(pts), polyline=True)


def _polyline(points: list[tuple[float, float]]) -> np.ndarray:
    """The path at :data:`ROUTE_Z`, repeated points dropped."""
    keep = [points[0]]
    for p in points[1:]:
        if math.isclose(p[0], keep[-1][0]) and math.isclose(p[1], keep[-1][1]):
            continue
        if len(keep) >= 2 and _collinear(keep[-2], keep[-1], p):
            keep[-1] = p
        else:
            keep.append(p)
    return np.array([[x, y, ROUTE_Z] for x, y in keep])


def _collinear(a: tuple[float, float], b: tuple[float, float], c: tuple[float, float]) -> bool:
    """Whether b lies on the straight way from a on to c (so the path need not bend there)."""
    cross = (b[0] - a[0]) * (c[1] - b[1]) - (b[1] - a[1]) * (c[0] - b[0])
    dot = (b[0] - a[0]) * (c[0] - b[0]) + (b[1] - a[1]) * (c[1] - b[1])
    return abs(cross) < 1e-9 and dot >= 0


def rank_count(edges: Sequence[tuple[int, int, str]], n: int) -> int:
    """How many ranks (slabs one after another along the flow) a network of ``n`` nodes has."""
    return max(ranks_of(n, [(s, d) for s, d, _ in edges]), default=-1) + 1


def resolve_arrangement(arrangement: str, ranks: int) -> Arrangement:
    """``auto`` is rows past :data:`ROWS_PAST_RANKS` ranks, else the line."""
    if arrangement == "auto":
        return "rows" if ranks > ROWS_PAST_RANKS else "line"
    return "rows" if arrangement == "rows" else "line"


def arranged_layout(
    shapes: Sequence[SlabShape],
    edges: Sequence[tuple[int, int, str]],
    mode: LayoutMode = "tile",
    arrangement: str = "auto",
) -> Layout:
    """:func:`~viz3d.layout.slabs.compute_layout`, wrapped into rows when ``arrangement`` (or auto) says so."""
    line = compute_layout(shapes, edges, mode)
    if resolve_arrangement(arrangement, rank_count(edges, len(shapes))) == "rows":
        return arrange_rows(line, edges)
    return line
