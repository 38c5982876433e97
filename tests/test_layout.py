"""Layout invariants: hand-computed geometry and properties on random graphs."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from viz3d.capture import synthetic_trace
from viz3d.dag import ranks_of
from viz3d.layout import GENERIC, SlabShape, compute_layout, layout_trace, tile_extent, tile_grid
from viz3d.layout.slabs import TILE_GAP_FRACTION


def test_tile_grid_is_near_square_and_holds_every_channel() -> None:
    assert tile_grid(64, 8, 8) == (8, 8)
    assert tile_grid(16, 4, 16) == (8, 2)  # wide maps: more rows, so the face is square
    for c in (1, 3, 7, 32, 100, 513, 2048):
        rows, cols = tile_grid(c, 7, 7)
        assert rows * cols >= c and (rows - 1) * cols < c
        assert max(rows, cols) / min(rows, cols) <= 3


def test_tile_extent_is_sublinear() -> None:
    w7, _ = tile_extent(7, 7)
    w112, _ = tile_extent(112, 112)
    assert math.isclose(w112 / w7, 4.0)  # sqrt(112 / 7)
    w, h = tile_extent(4, 16)
    assert math.isclose(w / h, 4.0)
    assert min(tile_extent(1, 1)) >= 1.5


def test_slab_geometry_by_hand() -> None:
    layout = compute_layout([SlabShape(4, 16, 16)], [])
    s = layout.slabs[0]
    tile = 4.0  # sqrt(16)
    gap = TILE_GAP_FRACTION * tile
    assert (s.rows, s.cols) == (2, 2)
    np.testing.assert_allclose(s.size[:2], [2 * tile + 3 * gap] * 2)
    rects = s.tile_rects()
    np.testing.assert_allclose(rects[0], [s.lo[0] + gap, s.hi[1] - gap - tile, s.lo[0] + gap + tile, s.hi[1] - gap])
    np.testing.assert_allclose(rects[3, :2], [s.lo[0] + 2 * gap + tile, s.lo[1] + gap])
    assert s.front_z == s.center[2] + s.size[2] / 2


def test_chain_runs_along_minus_z_and_branches_sit_side_by_side() -> None:
    shapes = [SlabShape(3, 8, 8), SlabShape(4, 8, 8), SlabShape(4, 8, 8), SlabShape(8, 8, 8)]
    edges = [(0, 1, "sequential"), (0, 2, "sequential"), (1, 3, "merge"), (2, 3, "merge")]
    layout = compute_layout(shapes, edges)
    s = layout.slabs
    assert s[1].center[2] < s[0].center[2] and s[3].center[2] < s[1].center[2]
    assert s[1].center[2] == s[2].center[2]  # same rank
    assert s[1].center[0] == 0.0 and s[2].center[0] != 0.0  # main path stays centred
    assert s[3].center[0] == 0.0  # the merge is centred


def test_skip_edges_arc_over_the_slabs_between() -> None:
    trace = synthetic_trace([(4, 8, 8)] * 5, skip_every=4)
    layout = layout_trace(trace)
    arc = next(r for r in layout.routes if r.kind == "skip")
    top = max(s.hi[1] for s in layout.slabs)
    assert arc.points[:, 1].max() > top
    assert len(arc.points) > 2
    straight = next(r for r in layout.routes if r.kind == "sequential")
    assert len(straight.points) == 2


@st.composite
def random_graphs(draw: st.DrawFn) -> tuple[list[SlabShape], list[tuple[int, int, str]]]:
    n = draw(st.integers(1, 24))
    shapes = []
    for _ in range(n):
        if draw(st.integers(0, 9)) == 0:
            shapes.append(GENERIC)
        else:
            shapes.append(SlabShape(draw(st.integers(1, 300)), draw(st.integers(1, 64)), draw(st.integers(1, 64))))
    edges = []
    for i in range(1, n):
        for p in draw(st.sets(st.integers(0, i - 1), min_size=1, max_size=min(3, i))):
            edges.append((p, i, "sequential"))
    return shapes, edges


@settings(max_examples=60, deadline=None)
@given(random_graphs())
def test_no_two_slabs_overlap_and_layout_is_deterministic(graph: tuple) -> None:
    shapes, edges = graph
    a = compute_layout(shapes, edges)
    b = compute_layout(shapes, edges)
    for sa, sb in zip(a.slabs, b.slabs, strict=True):
        np.testing.assert_array_equal(sa.center, sb.center)
        np.testing.assert_array_equal(sa.size, sb.size)
    for i, si in enumerate(a.slabs):
        for sj in a.slabs[i + 1 :]:
            overlap = np.all(si.lo < sj.hi - 1e-9) and np.all(sj.lo < si.hi - 1e-9)
            assert not overlap, f"slabs {si.node_id} and {sj.node_id} overlap"
    rank = ranks_of(len(shapes), [(s, d) for s, d, _ in edges])
    for s, d, _ in edges:
        assert a.slabs[d].center[2] < a.slabs[s].center[2], "edges must point down the flow"
        assert rank[d] > rank[s]


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 400), st.integers(1, 40), st.integers(1, 40))
def test_tiles_fill_the_face_without_overlap(c: int, h: int, w: int) -> None:
    s = compute_layout([SlabShape(c, h, w)], []).slabs[0]
    r = s.tile_rects()
    assert len(r) == c
    assert np.all(r[:, 0] >= s.lo[0] - 1e-9) and np.all(r[:, 2] <= s.hi[0] + 1e-9)
    assert np.all(r[:, 1] >= s.lo[1] - 1e-9) and np.all(r[:, 3] <= s.hi[1] + 1e-9)
    np.testing.assert_allclose(r[:, 2] - r[:, 0], s.tile_w)
    # Neighbours in a row are exactly one tile plus one gap apart: no overlap.
    if s.cols > 1 and c > 1:
        assert math.isclose(r[1, 0] - r[0, 0], s.tile_w + s.gap)


def test_bounds_cover_every_slab_and_route() -> None:
    layout = layout_trace(synthetic_trace([(4, 8, 8), (8, 4, 4), (16, 2, 2)], skip_every=2))
    lo, hi = layout.bounds()
    for s in layout.slabs:
        assert np.all(s.lo >= lo) and np.all(s.hi <= hi)
    for r in layout.routes:
        assert np.all(r.points >= lo - 1e-9) and np.all(r.points <= hi + 1e-9)


def test_health_overlay_bars_and_flag_outlines() -> None:
    from types import SimpleNamespace

    from viz3d.layout.charts import DEAD_RGBA, health_overlay

    trace = synthetic_trace([(4, 8, 8), (6, 4, 4)])
    layout = layout_trace(trace)
    hist = SimpleNamespace(counts=[0, 3, 9, 1])
    stats = {
        0: SimpleNamespace(act_hist=hist, weight_hist=None, dead_channels=[1, 3], saturated_channels=[], flags=[]),
        1: SimpleNamespace(
            act_hist=hist, weight_hist=hist, dead_channels=[], saturated_channels=[2], flags=["x scale"]
        ),
    }
    o = health_overlay(layout, trace.nodes, stats, activations=True)
    assert len(o.bars_lo) == 3 + 3 + 3  # non-empty bins: one chart on slab 0, two on slab 1
    assert (o.bars_hi[:, 1] <= max(s.lo[1] for s in layout.slabs) - 0.5).all()  # standing under the slabs
    assert len(o.segments) == 2 * (4 * 2 + 4 * 1 + 4)  # two dead tiles, one saturated, one scale frame
    assert tuple(o.segment_rgba[0]) == DEAD_RGBA
    weights_view = health_overlay(layout, trace.nodes, stats, activations=False)
    assert len(weights_view.segments) == 0 and len(weights_view.bars_lo) == 3
