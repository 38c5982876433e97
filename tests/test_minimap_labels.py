"""Minimap blocks, hover and clicks; labels clear of every HUD panel; Home restarts stepping (window and notebook)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn
from vispy.util import keys

from tests.fakes import FakeClock, minimap_point
from viz3d.app.minimap import Minimap, block_names, blocks_of
from viz3d.app.window import ViewerWindow
from viz3d.capture import capture
from viz3d.models.default_net import default_model
from viz3d.models.shapes import sample_image
from viz3d.session import Session

MODEL = default_model()
INPUT = torch.from_numpy(sample_image(0))[None]


def staged_net() -> nn.Module:
    """A stem, three named stages of four units, a head: blocks layer1..layer3 at depth 1."""

    def stage(cin: int, cout: int) -> nn.Sequential:
        return nn.Sequential(
            nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(), nn.Conv2d(cout, cout, 3, padding=1), nn.ReLU()
        )

    parts = [("stem", nn.Conv2d(3, 4, 3)), ("layer1", stage(4, 4)), ("layer2", stage(4, 6)), ("layer3", stage(6, 8))]
    return nn.Sequential(OrderedDict([*parts, ("pool", nn.AdaptiveAvgPool2d(1))])).eval()


def test_ops_without_a_module_join_the_block_around_them() -> None:
    names = ["input", "layer1.0.conv1", "add", "layer1.0.conv2", "add_1", "layer2.0.conv1", "fc"]
    has_module = [False, True, False, True, False, True, True]
    assert block_names(names, has_module, 1) == ["input", "layer1", "layer1", "layer1", "add_1", "layer2", "fc"]


def test_minimap_names_its_blocks_in_bands_and_maps_clicks_to_nodes() -> None:
    trace = capture(staged_net(), torch.rand(1, 3, 12, 12))
    keys_ = blocks_of(trace)
    assert [keys_[n.id] for n in trace.nodes if n.name.startswith("layer2.")] == ["layer2"] * 4
    mini = Minimap(trace, max_height=200)
    mini.position = (10.0, 30.0)
    assert [name for name, _, _ in mini.blocks if name.startswith("layer")] == ["layer1", "layer2", "layer3"]
    img = mini.image().astype(int)
    rows = []
    for name, y0, y1 in mini.blocks:
        if not name.startswith("layer"):
            continue
        gutter = img[int(y0) : int(y1) + 1, 2 : mini.gutter - 2, :3]
        assert (gutter.max(axis=-1) > 150).sum() >= 10, name  # the caption's light text is drawn in its band
        rows.append(img[int((y0 + y1) / 2), 1, :3])
    assert (rows[0] != rows[1]).any() and (rows[1] != rows[2]).any()  # bands alternate their shade
    for node in mini.graph.nodes:  # a click at the middle of each box names that box's unit
        x0, y0, x1, y1 = mini._rect(node.id)
        assert mini.node_at(10 + (x0 + x1) / 2, 30 + (y0 + y1) / 2) == node.members[0]
    assert mini.node_at(5.0, 5.0) is None  # off the map


@pytest.fixture
def window(gl: Any) -> Iterator[ViewerWindow]:
    session = Session.from_model(MODEL, [INPUT], size=(960, 600), clock=FakeClock())
    w = ViewerWindow(session, backend="egl")
    w.canvas.events.ignore_callback_errors = False
    yield w
    w.canvas.close()


def press(window: ViewerWindow, name: str) -> None:
    window.canvas.events.key_press(key=keys.Key(name), modifiers=(), text=name if len(name) == 1 else "")
    window.canvas.events.key_release(key=keys.Key(name), modifiers=(), text="")


@pytest.mark.gl
def test_no_label_under_any_panel(window: ViewerWindow) -> None:
    s = window.session
    s.update(minimap=False, hud=False)
    window.on_draw()
    bare = window.renderer._labels._plan[1].rect  # type: ignore[index]
    assert len(bare) >= 3
    unit = window.physical_size[0] / window.size[0]
    would_cover = 0
    panels = {
        "hud": lambda on: s.update(hud=on),
        "minimap": lambda on: s.update(minimap=on),
        "search": lambda on: s.open_search() if on else s.close_search(),
        "help": lambda on: s.update(help=on),
        "inset": lambda on: s.select("conv2:3" if on else None),
    }
    for name, show in panels.items():
        show(True)
        window.on_draw()
        assert set(window.hud.names()) == {name}
        (a0, b0, a1, b1,) = window.hud.rects(unit)[0]  # fmt: skip
        would_cover += int(any(not (x1 <= a0 or a1 <= x0 or y1 <= b0 or b1 <= y0) for x0, y0, x1, y1 in bare))
        for x0, y0, x1, y1 in window.renderer._labels._plan[1].rect:  # type: ignore[index]
            assert x1 <= a0 or a1 <= x0 or y1 <= b0 or b1 <= y0, name
        show(False)
    assert would_cover >= 3  # most panels sit where labels would otherwise be drawn


@pytest.mark.gl
def test_minimap_hover_names_the_node_and_a_click_flies_there(window: ViewerWindow) -> None:
    s = window.session
    target, pos = minimap_point(window, "block.conv2")
    mini = window.hud.minimap(window.size)
    window.canvas.events.mouse_move(pos=pos, buttons=[])
    assert window.hud.hover_text.startswith("block.conv2 (Conv2d)")
    window.on_draw()
    assert "minimap_tip" in window.hud.names() and mini.hovered == target
    tip = window.hud._overlay._panels["minimap_tip"]
    assert tip.position[0] >= mini.position[0] + mini.size[0]  # beside the map, level with the node
    assert abs(tip.position[1] + tip.shape[0] / 2 - pos[1]) <= 1.0
    window.canvas.events.mouse_press(pos=pos, button=1)
    window.canvas.events.mouse_release(pos=pos, button=1)
    s.clock.t += 1.0  # type: ignore[attr-defined]
    s.advance()
    assert s.camera_node() == target
    window.canvas.events.mouse_move(pos=(950.0, 10.0), buttons=[])  # off the map: the tooltip goes
    window.on_draw()
    assert "minimap_tip" not in window.hud.names()


@pytest.mark.gl
def test_notebook_minimap_click_and_home_restarts_stepping(gl: Any) -> None:
    pytest.importorskip("jupyter_rfb", reason="the notebook extra is not installed: pip install 'viz3d[notebook]'")
    from viz3d.notebook.view import NotebookView

    s = Session.from_model(MODEL, [INPUT], size=(480, 300), clock=FakeClock())
    view = NotebookView(s, (480, 300))
    try:
        view.frame()
        mini = view.hud.minimap(view.logical)
        target = s.trace.node("conv2").id
        gnode = next(n for n in mini.graph.nodes if target in n.members)
        x0, y0, x1, y1 = mini._rect(gnode.id)
        x, y = mini.position[0] + (x0 + x1) / 2, mini.position[1] + (y0 + y1) / 2
        ev = {"x": x, "y": y, "button": 1, "buttons": (), "modifiers": ()}
        assert view.handle_event({"type": "pointer_move", **ev})
        assert view.hud.hover_text.startswith("conv2 (Conv2d)")
        view.handle_event({"type": "pointer_down", **ev})
        view.handle_event({"type": "pointer_up", **ev})
        s.clock.t += 1.0  # type: ignore[attr-defined]
        s.advance()
        assert s.camera_node() == target
        first = s.layout.slabs[0].node_id
        for name in ("PageDown", "PageDown", "Home", "PageDown"):
            view.handle_event({"type": "key_down", "key": name, "modifiers": ()})
            view.handle_event({"type": "key_up", "key": name, "modifiers": ()})
        assert s.focus_index == 0  # Home: stepping starts again from the first layer
        s.clock.t += 1.0  # type: ignore[attr-defined]
        s.advance()
        assert s.camera_node() == first
    finally:
        view.close()


@pytest.mark.gl
def test_labels_are_drawn_where_decided_and_each_is_pinned_to_a_visible_point_of_its_slab(gl: Any) -> None:
    from viz3d.export.offscreen import OffscreenView
    from viz3d.scene.label_placement import ATTACH_FRACTION
    from viz3d.scene.labels import project

    s = Session.from_model(MODEL, [INPUT], size=(640, 400))
    with OffscreenView(s, (640, 400)) as view:
        with_labels = view.frame().astype(int)
        plan = view.renderer._labels._plan[1]
        s.update(labels=False)
        without = view.frame().astype(int)
        assert len(plan.slab) >= 3
        changed = np.abs(with_labels - without)[..., :3].max(axis=-1) > 40
        inside = np.zeros_like(changed)
        for x0, y0, x1, y1 in plan.rect.round().astype(int):
            assert changed[max(y0, 0) : y1, max(x0, 0) : x1].sum() >= 20  # text drawn in each decided box
            inside[max(y0 - 1, 0) : y1 + 1, max(x0 - 1, 0) : x1 + 1] = True
        assert not (changed & ~inside).any()  # and nowhere else
        slabs = s.layout.slabs
        for i, anchor in zip(plan.slab, plan.anchor, strict=True):
            slab = slabs[i]
            into = ATTACH_FRACTION * slab.size[1] * (-1 if anchor[1] >= slab.hi[1] - 1e-9 else 1)
            probe = anchor + np.array([0.0, 2 * into, 0.0])
            x, y = project(probe[None], s.view_projection(), (640, 400))[0][0]
            hit = view.pick(int(np.rint(x)), int(np.rint(y)))
            assert hit is not None and hit.node_id == slab.node_id  # the scene shows that slab where its label hangs


@pytest.mark.gl
def test_a_flight_shares_label_decisions_and_lands_on_a_fresh_one(
    window: ViewerWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    import viz3d.renderer.labels as labels_module

    calls: list[int] = []
    real = labels_module.place_labels
    monkeypatch.setattr(labels_module, "place_labels", lambda *a, **k: calls.append(1) or real(*a, **k))
    s = window.session
    window.on_draw()
    s.next_layer()
    for _ in range(6):  # six frames of the flight, each from a new camera
        s.clock.t += 0.05  # type: ignore[attr-defined]
        s.advance()
        window.on_draw()
    assert s.flight is not None and len(calls) == 1 + 2  # the first frame, then one decision per three frames
    s.clock.t += 1.0  # type: ignore[attr-defined]
    s.advance()
    window.on_draw()  # landed: decided for this very view
    landed = window.renderer._labels._plan[1]  # type: ignore[index]
    assert len(calls) == 4
    window.renderer._labels._plan = None
    window.on_draw()
    assert window.renderer._labels._plan[1].slab.tolist() == landed.slab.tolist()  # type: ignore[index]
