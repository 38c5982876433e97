"""Connections: geometry for every edge, planted weights, the budget, and pixels on real GL."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

import viz3d
from tests.models import TinyInception, TinyResNet
from tests.test_render_pixels import SIZE, front_camera, one_layer
from viz3d.capture import capture
from viz3d.capture.weights import top_weight_links
from viz3d.layout import layout_trace
from viz3d.layout.connections import ConnectionSet, apply_budget, graph_connections
from viz3d.renderer.offscreen import render_frame
from viz3d.renderer.scene_renderer import SceneRenderer
from viz3d.scene.labels import project
from viz3d.session.unit_links import parse_unit, unit_connections


@pytest.mark.parametrize("model", [TinyResNet(), TinyInception()])
def test_every_trace_edge_has_geometry(model: nn.Module) -> None:
    trace = capture(model, torch.rand(1, 3, 16, 16))
    layout = layout_trace(trace)
    lines, arcs = graph_connections(layout)
    for e in trace.edges:
        src, dst = layout.slab(e.src), layout.slab(e.dst)
        starts = np.vstack([lines.p0, arcs.p0])
        ends = np.vstack([lines.p1, arcs.p1])
        hit = np.isclose(starts[:, 2], src.back_z) & np.isclose(ends[:, 2], dst.front_z)
        hit &= (np.abs(starts[:, 0] - src.center[0]) <= src.size[0] / 2 + 1e-6) & (
            np.abs(ends[:, 0] - dst.center[0]) <= dst.size[0] / 2 + 1e-6
        )
        assert hit.any(), f"edge {trace.nodes[e.src].name} -> {trace.nodes[e.dst].name} has no geometry"


def test_residual_models_get_skip_arcs_over_the_slabs() -> None:
    trace = capture(TinyResNet(), torch.rand(1, 3, 16, 16))
    layout = layout_trace(trace)
    _, arcs = graph_connections(layout)
    skips = [e for e in trace.edges if e.kind == "skip"]
    assert len(skips) >= 1 and len(arcs) >= len(skips)
    top = max(s.hi[1] for s in layout.slabs)
    apex = 0.25 * arcs.p0 + 0.5 * arcs.ctrl + 0.25 * arcs.p1  # the Bézier at t = 1/2
    assert (apex[:, 1] > top).all()
    assert arcs.segments > 1


def test_widths_follow_the_signal_flowing_out() -> None:
    trace = capture(TinyResNet(), torch.rand(1, 3, 16, 16))
    layout = layout_trace(trace)
    flow = {n.id: float(i + 1) for i, n in enumerate(trace.nodes)}
    lines, _ = graph_connections(layout, flow)
    assert lines.width.min() >= 1.0 and np.isclose(lines.width.max(), 4.0, atol=0.2)


def test_top_k_weights_pick_the_planted_channels() -> None:
    conv = nn.Conv2d(8, 4, 3, padding=1, bias=False)
    with torch.no_grad():
        conv.weight.fill_(0.001)
        conv.weight[2, 5] = 1.0  # strongest, positive
        conv.weight[2, 1] = -0.5  # second, negative
        conv.weight[2, 6, 0, 0] = 0.3  # third
    trace = capture(nn.Sequential(conv), torch.rand(1, 8, 6, 6))
    links = top_weight_links(trace, 1, output=2, k=3)
    assert [link.source for link in links] == [5, 1, 6]
    assert [link.sign for link in links] == [1, -1, 1]
    assert links[0].strength == pytest.approx(9.0)
    lin = nn.Linear(5, 2)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[0.0, 0.1, -3.0, 0.2, 0.0], [1.0, 0, 0, 0, 0]]))
    trace = capture(nn.Sequential(lin), torch.rand(1, 5))
    assert [link.source for link in top_weight_links(trace, 1, output=0, k=2)] == [2, 3]


def test_unit_connections_for_conv_and_linear_units() -> None:
    trace = capture(TinyResNet(), torch.rand(1, 3, 16, 16))
    layout = layout_trace(trace)
    node, c, y, x = parse_unit(trace, "b2c2:3:2:5")
    sets = unit_connections(trace, layout, node, c, y, x)
    assert len(sets["weights"][0]) == 16
    assert sets["rf"][0].total > 0
    fc = trace.node("fc")
    sets = unit_connections(trace, layout, fc.id, 0, 0, 1)
    assert len(sets["weights"][0]) == 16  # all 16 inputs of the linear layer, strongest first
    with pytest.raises(viz3d.Viz3dError, match="outside layer"):
        unit_connections(trace, layout, node, 99, 0, 0)
    with pytest.raises(viz3d.Viz3dError, match="bad unit"):
        parse_unit(trace, "b2c2")


def test_budget_keeps_the_strongest_and_counts_the_rest() -> None:
    rng = np.random.default_rng(0)
    n = 1000
    pts = rng.normal(size=(n, 3)).astype(np.float32)
    strength = rng.random(n).astype(np.float32)
    lines = ConnectionSet(pts, pts + 1, pts + 0.5, np.ones((n, 4), np.float32), np.ones(n, np.float32), strength)
    arcs = ConnectionSet(pts[:10], pts[:10] + 1, pts[:10] + 2, np.ones((10, 4)), np.ones(10), np.full(10, 2.0), 24)
    kept = apply_budget([lines, arcs], budget=500)
    assert sum(s.segment_count for s in kept) <= 500
    assert len(kept[1]) == 10  # the strongest (arcs) survive first
    assert kept[0].strength.min() >= np.sort(strength)[-(500 - 240)]
    assert kept[0].total == n


@pytest.mark.gl
def test_line_and_arc_pixels_where_the_geometry_says(gl: Any) -> None:
    display = torch.zeros(1, 4, 4)
    trace = one_layer(display)
    layout = layout_trace(trace)
    slab = layout.slabs[0]
    cam = front_camera(slab)
    cam.ortho_height = 30.0
    vp = cam.view_projection(SIZE[0] / SIZE[1])
    renderer = SceneRenderer(trace, layout, labels=False)
    z = slab.front_z + 1.0
    left = np.array([slab.lo[0] - 2.0, slab.hi[1] + 3.0, z])
    right = np.array([slab.hi[0] + 2.0, slab.hi[1] + 3.0, z])
    below = np.array([slab.center[0], slab.lo[1] - 6.0, z])
    line = ConnectionSet(left[None], right[None], ((left + right) / 2)[None], np.array([[1.0, 0.0, 0.0, 1.0]]),
                         np.array([5.0]), np.ones(1))  # fmt: skip
    arc = ConnectionSet(left[None], right[None], below[None], np.array([[0.0, 1.0, 0.0, 1.0]]), np.array([3.0]),
                        np.ones(1), segments=24)  # fmt: skip
    from viz3d.renderer.offscreen import offscreen_canvas

    offscreen_canvas()
    renderer.initialize()
    renderer.set_connections({"weights": [line, arc]})
    image = render_frame(renderer, vp, SIZE)
    (mx, my), _ = project(((left + right) / 2)[None], vp, SIZE)[0][0], None
    column = image[:, int(mx), :3].astype(int)
    red = np.flatnonzero((column[:, 0] > 200) & (column[:, 1] < 60))
    assert 4 <= len(red) <= 6 and abs(red.mean() - my) < 1.0  # 5 px wide, centred on the line
    apex = 0.25 * left + 0.5 * below + 0.25 * right
    (ax, ay), _ = project(apex[None], vp, SIZE)[0][0], None
    green = np.flatnonzero((image[:, int(ax), 1] > 200) & (image[:, int(ax), 0] < 60))
    assert len(green) >= 2 and abs(green.mean() - ay) < 1.5
    assert image[int(my) + 20, int(mx), 0] < 60  # nothing red away from the line


def test_linear_units_trace_their_strongest_contributions() -> None:
    lin = nn.Linear(16, 2)
    with torch.no_grad():
        lin.weight.zero_()
        lin.weight[1, 5] = 2.0  # feature 5 = channel 1, y 0, x 1 of the (4, 2, 2) map
        lin.weight[1, 12] = -3.0  # channel 3, y 0, x 0
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.Flatten(), lin)
    trace = capture(model, torch.rand(1, 1, 2, 2) + 1.0)
    layout = layout_trace(trace)
    from viz3d.capture.receptive_field import Region as R
    from viz3d.capture.receptive_field import region_field, top_contributions

    top = top_contributions(trace, 3, 1, k=2)
    assert sorted(i for i, _ in top) == [5, 12]
    regions = region_field(trace, 2, R(features=frozenset({5, 12})))
    assert regions[1].channels == frozenset({1, 3})
    sets = unit_connections(trace, layout, 3, 0, 0, 1, kinds=("rf",))
    assert len(sets["rf"][0]) > 0


def test_mean_abs_activation_by_hand() -> None:
    from viz3d.capture import synthetic_trace
    from viz3d.capture.weights import mean_abs_activation

    trace = synthetic_trace([(1, 2, 2), (1, 2, 2), (2, 1, 2)], skip_every=0)
    a, b, c = (n for n in trace.nodes if n.display is not None)
    a.display = torch.tensor([[[1.0, -3.0], [float("nan"), 2.0]]])  # NaN counts as 0
    b.display = torch.tensor([[[float("inf"), 0.0], [0.0, 0.0]]])  # +Inf as the largest float32
    c.display = torch.tensor([[[0.5, -0.25]], [[-1.0, 2.0]]], dtype=torch.float16)
    got = mean_abs_activation(trace)
    assert got[a.id] == pytest.approx(6.0 / 4)
    assert got[b.id] == pytest.approx(float(torch.finfo(torch.float32).max) / 4, rel=1e-6)
    assert got[c.id] == pytest.approx(3.75 / 4)
