"""Rows: long networks wrapped like text, facing the camera (hand-computed geometry, properties, the session)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from torch import nn

from tests.fakes import FakeClock
from tests.test_layout import random_graphs
from viz3d.errors import Viz3dError
from viz3d.layout import SlabShape, arranged_layout, compute_layout
from viz3d.layout.rows import COLUMN_GAP, COLUMN_GAP_FRACTION, ROUTE_Z, ROW_LANE, ROWS_PAST_RANKS
from viz3d.layout.slabs import TILE_GAP_FRACTION, Layout
from viz3d.scene.camera import ROWS_OVERVIEW, box_corners, frame_scene
from viz3d.session import Session, ViewOptions
from viz3d.session.navigation import NO_CUT


def chain(n: int) -> tuple[list[SlabShape], list[tuple[int, int, str]]]:
    return [SlabShape(4, 16, 16)] * n, [(i, i + 1, "sequential") for i in range(n - 1)]


def test_a_chain_of_forty_wraps_into_five_rows_of_eight_by_hand() -> None:
    shapes, edges = chain(40)
    layout = arranged_layout(shapes, edges, arrangement="rows")
    side = 2 * 4.0 + 3 * TILE_GAP_FRACTION * 4.0  # 2x2 tiles of 4 units: 8.96 across
    gap = COLUMN_GAP + COLUMN_GAP_FRACTION * side
    pitch = side + 2 * ROW_LANE  # rows one face and two wrap-lane gaps apart (a chain has no arcs)
    # 40 slabs in r rows of 40/r: 4 rows are 120.2 x 47.8 (2.51:1), 5 rows 95.5 x 60.8 (1.57:1), 6 rows 83.1 x 73.8
    # (1.13:1); fitted into 16:9 they fill 71 %, 88 % and 63 % of it: five rows of eight.
    assert layout.arrangement == "rows"
    for i, s in enumerate(layout.slabs):
        np.testing.assert_allclose(s.center, [side / 2 + (i % 8) * (side + gap), -(i // 8) * pitch, -0.5], atol=1e-9)
        assert s.front_z == 0.0  # every face looks down +z
    lo, hi = layout.bounds()
    np.testing.assert_allclose(hi[:2] - lo[:2], [8 * side + 7 * gap + COLUMN_GAP, 5 * side + 4 * 2 * ROW_LANE])
    inside = layout.routes[0]  # 0 -> 1: straight across the gap
    np.testing.assert_allclose(inside.points, [[side, 0, ROUTE_Z], [side + gap, 0, ROUTE_Z]])
    wrap = layout.routes[7]  # 7 -> 8: down after the row's end, back along the lane under it, into the next row
    end = 8 * side + 7 * gap
    lane = -side / 2 - ROW_LANE
    expected = [[end, 0], [end + COLUMN_GAP / 2, 0], [end + COLUMN_GAP / 2, lane]]
    expected += [[-COLUMN_GAP / 2, lane], [-COLUMN_GAP / 2, -pitch], [0, -pitch]]
    np.testing.assert_allclose(wrap.points[:, :2], expected, atol=1e-9)
    assert wrap.polyline and np.all(wrap.points[:, 2] == ROUTE_Z)


def test_branches_stack_in_a_column_and_a_skip_arcs_over_the_row() -> None:
    # 0 -> (1 | 2) -> 3, and a skip 0 -> 3: the branch sits below the main lane, the skip clears both.
    shapes = [SlabShape(4, 16, 16), SlabShape(4, 16, 16), SlabShape(16, 16, 16), SlabShape(4, 16, 16)]
    edges = [(0, 1, "sequential"), (0, 2, "sequential"), (1, 3, "merge"), (2, 3, "merge"), (0, 3, "skip")]
    layout = arranged_layout(shapes, edges, arrangement="rows")
    s = layout.slabs
    assert s[1].center[0] == s[2].center[0] and s[1].center[1] == 0.0
    assert s[2].hi[1] < s[1].lo[1]  # lane 1 below lane 0
    assert s[0].center[0] < s[1].center[0] < s[3].center[0]
    skip = next(r for r in layout.routes if r.kind == "skip")
    assert not skip.polyline and len(skip.points) > 2
    np.testing.assert_allclose(skip.points[[0, -1], :2], [[s[0].center[0], s[0].hi[1]], [s[3].center[0], s[3].hi[1]]])
    assert _route_hits(layout) == []


def _route_hits(layout: Layout) -> list[tuple[int, int, int]]:
    """(route src, route dst, slab) wherever a route passes through a slab's face (ends on its edges are fine)."""
    hits = []
    for r in layout.routes:
        t = np.linspace(0.0, 1.0, 9)[:, None]
        pts = np.vstack([a + t * (b - a) for a, b in zip(r.points[:-1], r.points[1:], strict=True)])
        for s in layout.slabs:
            inside = np.all((pts[:, :2] > s.lo[:2] + 1e-6) & (pts[:, :2] < s.hi[:2] - 1e-6), axis=1)
            if inside.any():
                hits.append((r.src, r.dst, s.node_id))
    return hits


@settings(max_examples=25, deadline=None)
@given(random_graphs())
def test_rows_never_overlap_face_the_camera_and_route_through_the_gaps(graph: tuple) -> None:
    shapes, edges = graph
    a = arranged_layout(shapes, edges, arrangement="rows")
    b = arranged_layout(shapes, edges, arrangement="rows")
    for sa, sb in zip(a.slabs, b.slabs, strict=True):
        np.testing.assert_array_equal(sa.center, sb.center)
    for i, si in enumerate(a.slabs):
        assert si.front_z == 0.0
        for sj in a.slabs[i + 1 :]:
            assert not (np.all(si.lo < sj.hi - 1e-9) and np.all(sj.lo < si.hi - 1e-9)), (si.node_id, sj.node_id)
    assert _route_hits(a) == []
    line = compute_layout(shapes, edges)
    for s_line, s_rows in zip(line.slabs, a.slabs, strict=True):  # the same slabs, moved
        np.testing.assert_array_equal(s_line.size, s_rows.size)
        assert (s_line.rank, s_line.tile_w) == (s_rows.rank, s_rows.tile_w)


def test_auto_wraps_past_the_threshold_and_options_validate() -> None:
    assert arranged_layout(*chain(ROWS_PAST_RANKS)).arrangement == "line"
    assert arranged_layout(*chain(ROWS_PAST_RANKS + 1)).arrangement == "rows"
    assert arranged_layout(*chain(ROWS_PAST_RANKS + 1), arrangement="line").arrangement == "line"
    with pytest.raises(Viz3dError, match="arrangement 'helix'; choose one of auto, line, rows"):
        ViewOptions(arrangement="helix")  # type: ignore[arg-type]


class LongNet(nn.Module):
    """30 small convolutions and a classifier: past the auto threshold, quick to capture."""

    def __init__(self) -> None:
        super().__init__()
        self.convs = nn.Sequential(*(nn.Conv2d(3 if i == 0 else 4, 4, 3, padding=1) for i in range(30)))
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(4 * 8 * 8, 5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.convs(x))


def test_the_session_frames_rows_from_the_front_and_steps_along_them_without_a_cutaway() -> None:
    torch.manual_seed(0)
    session = Session.from_model(LongNet().eval(), torch.rand(1, 3, 8, 8), size=(1280, 720), clock=FakeClock())
    layout = session.layout
    assert layout.arrangement == "rows"
    home = session.home_camera()
    assert (home.azimuth, home.elevation) == ROWS_OVERVIEW
    corners = np.vstack([np.hstack([box_corners(s.lo, s.hi), np.ones((8, 1))]) for s in layout.slabs])
    clip = corners @ session.view_projection().T
    assert np.all(np.abs(clip[:, :2] / clip[:, 3:4]) <= 1.0)  # every unit on screen
    panel = session.answer_panel()
    assert panel is not None
    last = layout.slab(session.prediction().node_id)  # type: ignore[union-attr]
    row = [s for s in layout.slabs if s.lo[1] <= last.center[1] <= s.hi[1]]
    assert panel.center[0] - panel.width / 2 > max(s.hi[0] for s in row)  # after the last row's end
    assert panel.center[1] == last.center[1]
    # Stepping flies along the flow and hides nothing: no layer stands in front of another.
    for index in range(3):
        session.next_layer()
        session.clock.t += 2.0  # type: ignore[attr-defined]
        session.advance()
        assert session.cut_z == NO_CUT
        assert session.camera_node() == layout.slabs[index].node_id
    session.focus_layer(session.trace.nodes[layout.slabs[20].node_id].name)
    assert session.cut_z == NO_CUT and session.camera_node() == layout.slabs[20].node_id
    # The flythrough stops at stage boundaries along the rows, from the front, nothing cut away.
    tour = session.load_tour("flythrough")
    hops = [i for i, s in enumerate(tour.stops) if "cut" not in s.view]
    assert hops and all(tour.stops[i].hold == 0.0 for i in hops)  # legs between rows pass a view of both ends
    for i in hops:
        ends = [layout.slab(session.trace.node(tour.stops[k].view["cut"]).id) for k in (i - 1, i + 1)]
        corners = np.vstack([np.hstack([box_corners(e.lo, e.hi), np.ones((8, 1))]) for e in ends])
        clip = corners @ tour.stops[i].camera.view_projection(16 / 9).T
        assert np.all(np.abs(clip[:, :2] / clip[:, 3:4]) <= 1.0)
    t = 0.0
    for stop in tour.stops:
        t += stop.fly
        session.seek_tour(t)
        assert session.cut_z == NO_CUT
        if stop.view.get("cut"):
            assert session.trace.nodes[session.camera_node()].name == stop.view["cut"]  # type: ignore[index]
        t += stop.hold
    session.fly_to_node(layout.slabs[7].node_id)
    session.add_tour_stop()  # a stop recorded in rows keeps the layer stepped to
    assert session.tour is not None and session.tour.stops[-1].view["cut"] == session.trace.nodes[7].name
    session.update(arrangement="line")
    assert session.layout.arrangement == "line" and session.camera.azimuth != ROWS_OVERVIEW[0]


def _covered(layout: Layout, grid: tuple[int, int] = (160, 90)) -> tuple[float, bool]:
    """Share of a 16:9 overview covered by slab silhouettes (on a grid of sample points), and all on screen."""
    camera = frame_scene(layout, "overview", 16 / 9)
    gx, gy = np.meshgrid((np.arange(grid[0]) + 0.5) / grid[0] * 2 - 1, (np.arange(grid[1]) + 0.5) / grid[1] * 2 - 1)
    samples = np.stack([gx.ravel(), gy.ravel()], axis=1)
    hit = np.zeros(len(samples), bool)
    on_screen = True
    for s in layout.slabs:
        clip = np.hstack([box_corners(s.lo, s.hi), np.ones((8, 1))]) @ camera.view_projection(16 / 9).T
        ndc = clip[:, :2] / clip[:, 3:4]
        on_screen &= bool(np.all(np.abs(ndc) <= 1.0))
        hull = _hull(ndc)
        edges = np.roll(hull, -1, axis=0) - hull  # counter-clockwise: inside is left of every edge
        rel = samples[:, None, :] - hull[None]
        hit |= np.all(edges[None, :, 0] * rel[..., 1] - edges[None, :, 1] * rel[..., 0] >= 0, axis=1)
    return float(hit.mean()), on_screen


def _hull(points: np.ndarray) -> np.ndarray:
    """Convex hull, counter-clockwise (Andrew's monotone chain)."""
    pts = sorted(map(tuple, points))

    def half(seq: list) -> list:
        out: list = []
        for p in seq:
            while (
                len(out) >= 2
                and (out[-1][0] - out[-2][0]) * (p[1] - out[-2][1]) - (out[-1][1] - out[-2][1]) * (p[0] - out[-2][0])
                <= 0
            ):
                out.pop()
            out.append(p)
        return out

    lower, upper = half(pts), half(pts[::-1])
    return np.array(lower[:-1] + upper[:-1])


def dense_blocks(blocks: int = 4, per_block: int = 6) -> tuple[list[SlabShape], list[tuple[int, int, str]]]:
    """A DenseNet-like graph by its shapes: in a block each conv sees a concat of every earlier output."""
    shapes, edges = [SlabShape(16, 32, 32)], []
    last, size, channels = 0, 32, 16
    for _ in range(blocks):
        feeds = [last]
        for _ in range(per_block):
            shapes.append(SlabShape(8, size, size))  # the layer's output
            conv = len(shapes) - 1
            edges.append((last, conv, "sequential"))
            channels += 8
            shapes.append(SlabShape(channels, size, size))  # the concat
            cat = len(shapes) - 1
            edges += [(conv, cat, "merge")] + [(f, cat, "skip") for f in feeds[-1:]]
            feeds.append(cat)
            last = cat
        size, channels = size // 2, channels // 2
        shapes.append(SlabShape(channels, size, size))  # the transition
        edges.append((last, len(shapes) - 1, "sequential"))
        last = len(shapes) - 1
    return shapes, edges


@pytest.mark.parametrize(
    ("graph", "least"),
    [(chain(150), 0.35), (dense_blocks(), 0.25)],  # slabs of mixed heights leave more of each row empty
    ids=["chain-150", "dense-4x6"],
)
def test_long_networks_in_rows_fill_the_overview_with_every_unit_on_screen(graph: tuple, least: float) -> None:
    # Slab silhouettes only: a rendered frame adds edges, labels and the panel (bench_overview.py: 49 % and 39 %).
    rows, on_screen = _covered(arranged_layout(*graph))  # auto: both are past the threshold
    line, _ = _covered(arranged_layout(*graph, arrangement="line"))
    assert on_screen and rows >= least, rows
    assert rows > 3 * line, (rows, line)  # the thin thread the rows replace


def test_a_long_flight_hops_back_midway_and_a_short_one_does_not() -> None:
    from viz3d.scene.camera import OrbitCamera
    from viz3d.scene.flight import HOP_SPAN, CameraFlight

    a = OrbitCamera(target=np.zeros(3), distance=10.0)
    far = OrbitCamera(target=np.array([300.0, -40.0, 0.0]), distance=10.0)  # 302.7 away: 30 view distances
    hop = CameraFlight(a, far)
    travel = float(np.hypot(300.0, 40.0))
    assert hop.at(hop.duration / 2).distance == pytest.approx(travel / HOP_SPAN)  # both ends in view midway
    assert hop.at(0.0).distance == pytest.approx(10.0) and hop.at(hop.duration).distance == pytest.approx(10.0)
    near = CameraFlight(a, OrbitCamera(target=np.array([8.0, 0.0, 0.0]), distance=10.0))
    assert near.at(near.duration / 2).distance == pytest.approx(10.0)
