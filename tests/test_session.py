"""The session without any GL: every action's resulting state and the events it emits."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch

from tests.fakes import FakeClock
from viz3d.capture import capture
from viz3d.errors import Viz3dError
from viz3d.models.default_net import default_model
from viz3d.models.shapes import sample_image
from viz3d.session import CONNECTION_KINDS, VIEWS, Session, ViewOptions
from viz3d.session.events import SIGNALS, SessionEvents
from viz3d.session.keys import key_table

MODEL = default_model()
INPUTS = [torch.from_numpy(sample_image(i))[None] for i in range(3)]


@pytest.fixture
def session() -> Session:
    return Session.from_model(MODEL, INPUTS, size=(320, 200), clock=FakeClock())


@pytest.fixture
def events(session: Session) -> Iterator[list[str]]:
    fired: list[str] = []
    session.events.changed.append(fired.append)
    yield fired


def test_signals_run_callbacks_then_the_catch_all() -> None:
    ev = SessionEvents()
    order: list[str] = []
    ev.changed.append(lambda name: order.append(f"changed:{name}"))
    handler = ev.colormap.connect(lambda: order.append("cb"))
    ev.colormap.emit()
    ev.colormap.disconnect(handler)
    ev.colormap.emit()
    assert order == ["cb", "changed:colormap", "changed:colormap"]
    assert ev.names() == list(SIGNALS)


def test_options_validate_every_field_with_one_line() -> None:
    for bad, match in (
        ({"colormap": "jet"}, "unknown colormap 'jet'; choose one of viridis"),
        ({"normalization": "median"}, "unknown normalization"),
        ({"show": "saliency"}, "unknown show 'saliency'"),
        ({"target": 2.5}, "target must be a class index"),
        ({"layout_mode": "helix"}, "unknown layout mode"),
        ({"connections": frozenset({"bogus"})}, "unknown connection kinds"),
        ({"connection_budget": -1}, "connection_budget must be"),
        ({"group_depth": 0}, "group_depth must be 1 or more"),
        ({"texture_format": "rgba8"}, "unknown texture format"),
    ):
        with pytest.raises(Viz3dError, match=match):
            ViewOptions(**bad)  # type: ignore[arg-type]
    with pytest.raises(Viz3dError, match="unknown view options"):
        ViewOptions().with_(colourmap="magma")


def test_colormap_and_normalization_cycle_and_emit(session: Session, events: list[str]) -> None:
    session.cycle_colormap()
    assert session.options.colormap == "magma" and events == ["colormap", "selection"]
    events.clear()
    session.cycle_normalization()
    assert session.options.normalization == "channel" and events == ["normalization", "selection"]
    events.clear()
    session.update(colormap="magma")  # no change, no event
    assert events == []


def test_layout_mode_toggle_relays_out_and_flies_home(session: Session, events: list[str]) -> None:
    session.toggle_layout_mode()
    assert session.layout.mode == "volume" and session.options.layout_mode == "volume"
    assert events == ["layout", "connections", "selection", "stats", "message", "camera"]
    assert session.flight is not None and "volume mode" in session.current_message()


def test_select_validates_and_builds_unit_connections_only_when_shown(session: Session, events: list[str]) -> None:
    conv3 = session.trace.node("conv3")
    session.select("conv3:5:2:3")
    assert session.selection == (conv3.id, 5, 2, 3)
    assert events == ["selection", "connections"]
    assert set(session.connection_sets()) == {"graph"}  # rf and weights are hidden: not built
    session.toggle_connections("rf")
    sets = session.connection_sets()
    assert set(sets) == {"graph", "rf"} and sets["rf"][0].total > 0
    outline = session.selection_outline()
    assert outline is not None and len(outline) == 16  # two rectangles: the tile and the pixel
    with pytest.raises(Viz3dError, match="outside layer conv3"):
        session.select((conv3.id, 64, 0, 0))
    with pytest.raises(Viz3dError, match="no layer named"):
        session.select("nope:1")
    session.clear_selection()
    assert session.selection is None and session.connection_sets()["rf"] == []


def test_esc_closes_help_before_clearing_the_selection(session: Session) -> None:
    session.select("conv1:0")
    session.toggle_help()
    session.clear_selection()
    assert not session.options.help and session.selection is not None
    session.clear_selection()
    assert session.selection is None


def test_next_input_uploads_in_place_and_keeps_the_view(session: Session, events: list[str]) -> None:
    session.orbit(15, 5)
    camera = session.camera.to_dict()
    session.select("conv1:3")
    before = session.trace.node("conv1").tensor
    events.clear()
    session.next_input()
    assert session.input_index == 1 and not torch.equal(session.trace.node("conv1").tensor, before)
    assert "scene" not in events and events[:4] == ["values", "connections", "selection", "stats"]
    assert session.camera.to_dict() == camera and session.selection is not None
    expected = capture(MODEL, INPUTS[1])
    assert torch.equal(session.trace.node("conv2").tensor, expected.node("conv2").tensor)


def test_weights_view_keeps_settings_and_ignores_inputs(session: Session, events: list[str]) -> None:
    session.update(colormap="inferno", connection_budget=500)
    session.toggle_view("weights")
    assert session.options.show == "weights" and "scene" in events
    assert session.trace.node("conv1").display_rgb
    assert (session.options.colormap, session.options.connection_budget) == ("inferno", 500)
    events.clear()
    session.next_input()
    assert events == ["message"] and session.input_index == 1  # nothing to upload
    session.cycle_normalization()  # weights view: filter ranges, not the normalization
    assert session.options.shared_filter_range and session.options.normalization == "layer"
    assert session.trace.node("conv1").display_norm == "layer"
    session.toggle_view("weights")
    assert session.options.show == "activations"
    assert torch.equal(session.trace.node("conv1").tensor, capture(MODEL, INPUTS[1]).node("conv1").tensor)


def test_folding_recaptures_and_keeps_every_setting(session: Session, events: list[str]) -> None:
    session.update(colormap="gray", normalization="global", labels=False, stats=True)
    session.select("conv1:2")
    session.toggle_folding()
    assert session.trace.group_depth == 1 and "block" in [n.name for n in session.trace]
    assert "scene" in events and session.selection is None  # the old unit is gone with the old layout
    o = session.options
    assert (o.colormap, o.normalization, o.labels, o.stats, o.group_depth) == ("gray", "global", False, True, 1)
    session.toggle_folding()
    assert session.trace.group_depth is None


def test_folding_without_a_model_says_so(events: list[str]) -> None:
    bare = Session(capture(MODEL, INPUTS[0]))
    bare.toggle_folding()
    bare.next_input()
    assert "only one input" in bare.current_message()
    with pytest.raises(Viz3dError, match="folding needs the model"):
        bare.update(group_depth=2)
    assert bare.options.group_depth is None


def test_stepping_flights_and_home(session: Session) -> None:
    clock = session.clock
    session.next_layer()
    assert session.focus_index == 0 and session.animating and session.cut_z < float("inf")
    clock.t += 0.4  # type: ignore[attr-defined]
    assert session.advance()  # still flying
    clock.t += 1.0  # type: ignore[attr-defined]
    assert not session.advance() and not session.animating
    assert session.camera_node() == session.layout.slabs[0].node_id
    session.home()
    assert session.focus_index == -1 and session.cut_z == float("inf")


def test_direct_camera_moves_stop_a_flight_and_emit_camera(session: Session, events: list[str]) -> None:
    session.next_layer()
    events.clear()
    session.orbit(10, 0)
    assert session.flight is None and events == ["camera"]
    session.toggle_camera_mode()
    assert session.camera.mode == "fly"
    speed = session.fly_speed()
    session.scale_fly_speed(2)
    assert np.isclose(session.fly_speed(), speed * 1.25**2)


def test_messages_expire_with_the_clock(session: Session) -> None:
    session.say("hello")
    assert session.current_message() == "hello"
    session.clock.t += 10  # type: ignore[attr-defined]
    assert session.current_message() == ""


def test_stats_overlay_follows_the_option(session: Session, events: list[str]) -> None:
    assert session.health_overlay() is None
    session.toggle_stats()
    overlay = session.health_overlay()
    assert overlay is not None and len(overlay.bars_lo) > 0 and "stats" in events
    assert "layers flagged" in session.current_message()


def test_the_key_table_comes_from_the_registries() -> None:
    table = key_table()
    kinds = [b for b in table if b.action == "toggle_connections"]
    assert [(b.keys, b.argument) for b in kinds] == [((k.key,), k.name) for k in CONNECTION_KINDS.values()]
    assert any(b.action == "toggle_view" and b.argument in VIEWS for b in table)


def test_a_registered_connection_kind_is_one_row(session: Session) -> None:
    from viz3d.layout.connections import ConnectionSet
    from viz3d.session.connection_kinds import ConnectionKind, register_connection_kind

    def loop(ctx: object) -> list[ConnectionSet]:
        c = np.zeros((1, 3))
        return [ConnectionSet(c, c + 1, c, np.ones((1, 4)), np.ones(1), np.ones(1))]

    register_connection_kind(ConnectionKind("demo", "9", "demo links", (1, 1, 1, 1), False, loop))
    try:
        session.toggle_connections("demo")
        assert session.connection_sets()["demo"][0].total == 1
        assert any(b.argument == "demo" and b.keys == ("9",) for b in key_table())
    finally:
        del CONNECTION_KINDS["demo"]


class TwoInputs(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = torch.nn.Conv2d(3, 4, 3)
        self.b = torch.nn.Conv2d(3, 4, 3)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.a(x) + self.b(y)


def test_a_tuple_is_one_input_of_several_arguments_and_a_list_is_several_inputs() -> None:
    x, y = torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8)
    one = Session.from_model(TwoInputs(), (x, y))
    names = [n.name for n in one.trace]
    assert len(one.inputs) == 1 and {"a", "b"} <= set(names)
    two = Session.from_model(MODEL, [INPUTS[0], INPUTS[1]])
    assert len(two.inputs) == 2


def test_texture_changes_rebuild_even_with_other_changes(session: Session, events: list[str]) -> None:
    session.toggle_view("weights")
    events.clear()
    session.update(shared_filter_range=True, texture_format="r16f")
    assert "scene" in events and "values" in events


def test_a_failed_recapture_leaves_the_session_as_it_was(session: Session) -> None:
    session.inputs[1] = torch.rand(1, 1, 64, 64)  # the model wants 3 channels
    before = session.captured
    with pytest.raises(Viz3dError, match="failed in layer"):
        session.next_input()
    assert session.input_index == 0 and session.captured is before
    session.input_index = 1  # the bad input current: folding fails too
    with pytest.raises(Viz3dError):
        session.toggle_folding()
    assert session.options.group_depth is None and session.trace.group_depth is None
