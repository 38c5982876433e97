"""The session's top patches and feature visualization (GL-free), the O key, and the panels' pixels (Pillow)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from tests.test_explain_top_patches import SIDE, CornerDetector
from viz3d.app.explain_panel import CELL, VIS_SIDE, feature_vis_panel, patches_panel, side_by_side
from viz3d.errors import Viz3dError
from viz3d.explain import FeatureVis, Patch, top_patches
from viz3d.scene.keymap import KEYMAP, binding_for
from viz3d.session import Session
from viz3d.session import channel_insight as explaining_module
from viz3d.session.keys import key_table


def squares_batch() -> torch.Tensor:
    x = torch.full((4, 3, SIDE, SIDE), 0.1)
    for i, (r, c) in enumerate([(4, 4), (20, 8), (10, 22), (18, 18)]):
        if i != 2:
            x[i, :, r : r + 6, c : c + 6] = 1.0
    return x


def test_selecting_a_channel_of_the_attached_layer_shows_its_patches() -> None:
    model = CornerDetector().eval()
    x = squares_batch()
    session = Session.from_model(model, x[:1])
    fired = []
    session.events.explain.connect(lambda: fired.append(session.explain_version))
    result = top_patches(model, x, "conv2", k=3)
    session.set_top_patches(result)
    assert fired == [1] and session.shown_top_patches() is None  # nothing selected yet
    session.select("conv2:0:2:2")
    layer, channel, patches = session.shown_top_patches() or ("", -1, [])
    assert (layer, channel) == ("conv2", 0)
    assert [p.image for p in patches] == [p.image for p in result.patches(0)]
    session.select("conv1:0:2:2")
    assert session.shown_top_patches() is None  # another layer's channel
    with pytest.raises(Viz3dError, match="no layer of that name"):
        session.set_top_patches(dataclasses.replace(result, layer="nowhere"))
    with pytest.raises(Viz3dError, match="have 2 channels, the layer has 3"):
        session.set_top_patches(dataclasses.replace(result, layer="input"))


def test_o_runs_the_feature_visualization_a_frame_at_a_time_while_its_channel_is_selected(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(explaining_module, "FEATURE_VIS_STEPS", 3)
    monkeypatch.setattr(explaining_module, "FRAME_BUDGET_SECONDS", 0.0)  # one step per frame
    model = CornerDetector().eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    session = Session.from_model(model, squares_batch()[:1])
    session.start_feature_vis()
    assert session.feature_vis is None and "click a channel" in session.current_message()
    session.select("conv2:1:0:0")
    session.start_feature_vis()
    run = session.shown_feature_vis()
    assert run is not None and (run.layer, run.channel, run.done) == ("conv2", 1, 0) and session.animating
    session.select("conv2:0:0:0")  # another channel: the run pauses (nothing shown to form)
    assert session.shown_feature_vis() is None and not session.animating and not session.advance()
    session.select("conv2:1:0:0")
    steps = []
    while session.animating:
        session.advance()
        steps.append(run.done)
    assert steps == [1, 2, 3] and run.finished and "done (3 steps)" in session.current_message()
    assert run.image().shape == (3, SIDE, SIDE)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_shift_x_is_bound_to_the_feature_visualization() -> None:
    assert [b.shift_action for b in key_table() if "X" in b.keys] == ["start_feature_vis"]
    for mode in ("orbit", "fly"):
        found = binding_for("X", mode, shift=True, table=KEYMAP)
        assert found is not None and found[1] == "start_feature_vis"


def test_panels_show_the_crops_and_the_image_at_their_places() -> None:
    red, blue = np.zeros((3, 8, 8), np.float32), np.zeros((3, 16, 4), np.float32)
    red[0], blue[2] = 1.0, 1.0
    patches = [Patch(red, 2.0, "a.png", 0, (0, 7, 0, 7), (1, 1)), Patch(blue, 1.0, "b.png", 1, (0, 15, 0, 3), (0, 0))]
    picture = patches_panel("conv2", 0, patches)
    pad, label_h, gap = 10, 12 + 3, 8
    top = pad + label_h + 4
    assert tuple(picture[top + CELL // 2, pad + CELL // 2]) == (255, 0, 0, 255)  # 8x8 red, enlarged to the cell
    blue_x = pad + CELL + gap + CELL // 8  # 16x4 blue fits the cell's height: 16 px wide
    assert tuple(picture[top + CELL // 2, blue_x]) == (0, 0, 255, 255)
    model = CornerDetector().eval()
    run = FeatureVis(model, "conv2", 0, steps=1, size=16)
    run.advance()
    vis = feature_vis_panel(run)
    image = (np.clip(run.image(), 0, 1) * 255).round().astype(np.uint8)
    scale = VIS_SIDE // 16
    for y, x in [(0, 0), (5, 11), (15, 15)]:
        at = vis[pad + 2 * (12 + 4) + y * scale + scale // 2, pad + x * scale + scale // 2]
        assert tuple(at[:3]) == tuple(image[:, y, x]) and at[3] == 255
    both = side_by_side([vis, picture])
    assert both.shape == (max(vis.shape[0], picture.shape[0]), vis.shape[1] + 8 + picture.shape[1], 4)
    np.testing.assert_array_equal(both[-vis.shape[0] :, : vis.shape[1]], vis)


@pytest.mark.gl
def test_the_viewer_inset_carries_the_patches_and_the_forming_image(gl: object) -> None:
    from viz3d.notebook.view import NotebookView

    model = CornerDetector().eval()
    x = squares_batch()
    session = Session.from_model(model, x[:1], size=(900, 600))
    view = NotebookView(session, (900, 600))
    session.select("conv2:0:2:2")
    view.frame()
    alone = view.hud.inset()
    session.set_top_patches(top_patches(model, x, "conv2", k=3))
    view.frame()
    with_patches = view.hud.inset()
    assert "inset" in view.hud.names() and with_patches.shape[1] > alone.shape[1] + 3 * CELL
    np.testing.assert_array_equal(with_patches[-alone.shape[0] :, -alone.shape[1] :], alone)  # the map, at the right
    session.start_feature_vis()
    session.advance()
    view.frame()
    assert view.hud.inset().shape[1] > with_patches.shape[1] + VIS_SIDE
