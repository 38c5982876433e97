"""The difference views: b minus a in coolwarm over one symmetric range per layer (values, then real GL pixels)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from tests.test_render_pixels import SIZE, front_camera, texel_center
from viz3d.capture import capture
from viz3d.capture.difference import UNCHANGED_RANGE, difference_trace
from viz3d.errors import Viz3dError
from viz3d.export.offscreen import OffscreenView
from viz3d.scene.colormaps import apply_colormap, colormap_lut, lut_index
from viz3d.scene.labels import project
from viz3d.session import Session, ViewOptions
from viz3d.session.comparing import snapshot_difference
from viz3d.session.keys import key_table
from viz3d.session.timeline import take_snapshot

QUIET = ViewOptions(labels=False, connections=frozenset(), minimap=False, prediction=False)


def net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(16, 5)
    )


def nudge(model: nn.Module, scale: float = 0.1, seed: int = 1) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(scale * torch.randn(p.shape, generator=g))


def test_each_map_is_b_minus_a_over_one_symmetric_range_per_layer() -> None:
    model, x = net(), torch.rand(1, 3, 6, 6)
    a = capture(model, x)
    nudge(model)
    b = capture(model, x)
    diff = difference_trace(a, b)
    for na, nb, nd in zip(a.nodes, b.nodes, diff.nodes, strict=True):
        if nd.name == "input":  # one probe: its difference is zero, drawn as the neutral centre
            assert torch.equal(nd.display, torch.zeros_like(nd.display)) and nd.display_range == UNCHANGED_RANGE
            assert not nd.display_rgb
            continue
        delta = nb.display - na.display
        torch.testing.assert_close(nd.display, delta, rtol=0, atol=0)
        m = float(delta.abs().max())
        assert m > 0 and nd.display_range == (-m, m), nd.name
        assert nd.display_colormap == "coolwarm" and nd.display_centred


def test_different_structures_are_one_line_naming_the_layer() -> None:
    x = torch.rand(1, 3, 6, 6)
    a = capture(net(), x)
    other = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(32, 5)
    )
    with pytest.raises(Viz3dError) as err:
        difference_trace(a, capture(other, x))
    assert "\n" not in str(err.value) and "layer 0 (4, 6, 6) vs 0 (8, 6, 6)" in str(err.value)
    with pytest.raises(Viz3dError, match="different structures"):
        difference_trace(a, capture(nn.Sequential(nn.Conv2d(3, 4, 3, padding=1)), x))


def test_a_session_compares_with_a_snapshot_and_two_snapshots_compare_without_one() -> None:
    model, x = net(), torch.rand(1, 3, 6, 6)
    before = take_snapshot(model, x, step=0)
    nudge(model)
    after = take_snapshot(model, x, step=1)
    session = Session(capture(model, x), model=model, inputs=[x], options=QUIET)
    session.compare_with(before, show="weight-difference")
    shown = session.trace.node("0")
    w = model[0].weight.detach() - before.weights["0.weight"]
    torch.testing.assert_close(shown.display, w.reshape(12, 3, 3), rtol=0, atol=0)  # colour filters' R, G, B
    assert shown.grid_cols == 3 and not shown.display_rgb
    assert session.trace.node("1").display is None  # no weights: a box
    session.compare_with(before)  # the activation difference
    act = snapshot_difference(after.trace, before, after)
    for n, m in zip(session.trace.nodes, act.nodes, strict=True):
        assert (n.display is None) == (m.display is None)
        if n.display is not None:
            torch.testing.assert_close(n.display, m.display, rtol=0, atol=0)
            assert n.display_range == m.display_range
    lin = snapshot_difference(after.trace, before, after, what="weights").node("4")
    torch.testing.assert_close(lin.display[0], after.weights["4.weight"] - before.weights["4.weight"])


def test_a_reference_that_does_not_fit_leaves_the_session_as_it_was() -> None:
    model, x = net(), torch.rand(1, 3, 6, 6)
    session = Session(capture(model, x), model=model, inputs=[x], options=QUIET)
    with pytest.raises(Viz3dError, match="needs a reference"):
        Session(capture(model, x), options=QUIET.with_(show="difference"))
    with pytest.raises(Viz3dError, match="needs a reference"):
        session.update(show="weight-difference")
    assert session.options.show == "activations"
    other = nn.Sequential(nn.Conv2d(3, 2, 3, padding=1))
    with pytest.raises(Viz3dError, match="do not fit"):
        session.compare_with(capture(other, x))
    assert session.options.show == "activations" and session.reference is None
    with pytest.raises(Viz3dError, match="has no activations"):
        session.compare_with(model.state_dict())  # weights only: fine for the weight difference
    session.compare_with(model.state_dict(), show="weight-difference")
    assert session.trace.node("0").display_range == UNCHANGED_RANGE


def test_z_switches_between_the_two_differences() -> None:
    model, x = net(), torch.rand(1, 3, 6, 6)
    session = Session(capture(model, x), model=model, inputs=[x], options=QUIET)
    session.toggle_difference()
    assert session.options.show == "activations" and "nothing to compare with" in session.current_message()
    before = take_snapshot(model, x, step=0)
    session.compare_with(before)
    session.toggle_difference()
    assert session.options.show == "weight-difference" and "since step 0" in session.current_message()
    session.toggle_view("weights")  # W: the weights themselves; Z: back to a difference
    session.toggle_difference()
    assert session.options.show == "difference"
    assert any(b.keys == ("Z",) and b.action == "toggle_difference" for b in key_table())


def pixel(image: np.ndarray, point: np.ndarray, vp: np.ndarray) -> np.ndarray:
    (x, y), _ = project(point[None], vp, SIZE)[0][0], None
    return image[int(y), int(x), :3].astype(int)


def frame_of(session: Session, name: str) -> tuple[np.ndarray, Any, np.ndarray]:
    """The session's frame looking straight at layer ``name`` (the layers in front cut away)."""
    session.focus_layer(name, frame=False)
    slab = session.layout.slab(session.trace.node(name).id)
    session.set_camera(front_camera(slab))
    with OffscreenView(session, SIZE) as view:
        image = view.frame()
    return image, slab, session.view_projection(SIZE[0] / SIZE[1])


@pytest.mark.gl
def test_difference_pixels_are_the_lut_colours_of_b_minus_a_under_the_symmetric_range(gl: Any) -> None:
    model, x = net(), torch.rand(1, 3, 6, 6)
    a = capture(model, x)
    nudge(model)
    session = Session(capture(model, x), model=model, inputs=[x], options=QUIET, size=SIZE)
    session.compare_with(a)
    image, slab, vp = frame_of(session, "0")
    delta = (session.captured.node("0").display - a.node("0").display).numpy()
    m = float(np.abs(delta).max())
    largest = tuple(int(v) for v in np.unravel_index(np.abs(delta).argmax(), delta.shape))  # an end of the range
    for c, y, xx in [(0, 0, 0), (1, 2, 3), (2, 5, 5), (3, 4, 1), largest]:
        t = (delta[c, y, xx] + m) / (2 * m)  # the hand-computed normalised value
        expected = colormap_lut("coolwarm")[lut_index(np.array([t]))][0]
        got = pixel(image, texel_center(slab, c, y, xx, 6, 6), vp)
        np.testing.assert_array_equal(got, expected, err_msg=f"channel {c} at {y},{xx}")

    # Weights: the linear layer's matrix change, and an unchanged layer in the neutral centre colour.
    session.compare_with(a, show="weight-difference")  # a's modules are the nudged ones now: no change
    image, slab, vp = frame_of(session, "4")
    centre = colormap_lut("coolwarm")[lut_index(np.array([0.5]))][0]
    np.testing.assert_array_equal(pixel(image, texel_center(slab, 0, 2, 7, 5, 16), vp), centre)
    reference = {k: v.clone() for k, v in model.state_dict().items()}
    nudge(model, seed=2)
    session.compare_with(reference, show="weight-difference")
    image, slab, vp = frame_of(session, "4")
    dw = (model[4].weight.detach() - reference["4.weight"]).numpy()
    m = float(np.abs(dw).max())
    for r, col in [(0, 0), (4, 15), (2, 7), (3, 9)]:
        expected = apply_colormap(np.array([dw[r, col]]), -m, m, "coolwarm")[0]
        np.testing.assert_array_equal(pixel(image, texel_center(slab, 0, r, col, 5, 16), vp), expected)
