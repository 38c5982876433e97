"""Camera tours: the path through the stops, JSON files, session actions, and the window's keys and captions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from vispy.util import keys

from viz3d.app.window import ViewerWindow
from viz3d.errors import Viz3dError
from viz3d.models.default_net import default_model
from viz3d.models.shapes import sample_image
from viz3d.scene.camera import OrbitCamera
from viz3d.scene.tour import Tour, TourStop, load_tour
from viz3d.session import Session

MODEL = default_model()
INPUTS = [torch.from_numpy(sample_image(i))[None] for i in range(2)]
SIZE = (320, 200)


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def cam(target: tuple[float, float, float], distance: float, azimuth: float, elevation: float) -> OrbitCamera:
    return OrbitCamera(target=np.array(target, float), distance=distance, azimuth=azimuth, elevation=elevation)


def path_tour(hold: float = 0.0) -> Tour:
    stops = [
        TourStop(cam((0, 0, 0), 10, 350, 10), 0, 0.5, "start"),
        TourStop(cam((5, 1, -20), 4, 20, 25), 2.0, hold, "middle"),
        TourStop(cam((9, -2, -40), 30, 60, -5), 3.0, hold, "third"),
        TourStop(cam((0, 0, -60), 12, 100, 5), 1.5, 1.0, "end"),
    ]
    return Tour(stops)


def state(c: OrbitCamera) -> np.ndarray:
    return np.array([*c.target, np.log(c.distance), c.azimuth, c.elevation])


def unwrap(states: np.ndarray) -> np.ndarray:
    states = states.copy()
    states[:, 4] = np.degrees(np.unwrap(np.radians(states[:, 4])))
    return states


# --- the path (no GL) ---------------------------------------------------------------
def test_the_path_passes_through_every_stop_and_holds_there() -> None:
    tour = path_tour(hold=0.7)
    assert tour.duration == pytest.approx(0.5 + 2 + 0.7 + 3 + 0.7 + 1.5 + 1.0)
    for stop, t in zip(tour.stops, tour.arrivals(), strict=True):
        for at in (t, t + stop.hold):
            c = tour.camera_at(at)
            np.testing.assert_allclose(c.target, stop.camera.target, atol=1e-9)
            assert c.distance == pytest.approx(stop.camera.distance)
            assert (c.azimuth - stop.camera.azimuth + 180) % 360 - 180 == pytest.approx(0, abs=1e-9)
            assert c.elevation == pytest.approx(stop.camera.elevation)


def test_velocity_is_continuous_through_stops_passed_without_a_hold() -> None:
    tour = path_tour(hold=0.0)
    dt = 1e-4
    for i in (1, 2):  # stops the camera flies through
        t = tour.arrivals()[i]
        before, _, after = (
            unwrap(np.array([state(tour.camera_at(t + k * dt)) for k in ks])) for ks in ((-2, -1), (0,), (1, 2))
        )
        v_in = (before[1] - before[0]) / dt
        v_out = (after[1] - after[0]) / dt
        assert np.linalg.norm(v_in[:3]) > 0.5  # moving, not an eased stop
        np.testing.assert_allclose(v_in, v_out, rtol=1e-2, atol=1e-2)
    # The azimuth goes the short way round: 350° → 20° is +30°, not -330°.
    path = unwrap(np.array([state(tour.camera_at(t)) for t in np.linspace(0.5, 2.5, 50)]))
    assert np.ptp(path[:, 4]) < 40


def test_a_held_stop_is_reached_at_zero_speed_and_left_smoothly() -> None:
    tour = path_tour(hold=0.5)
    t, dt = tour.arrivals()[1], 1e-4
    v = (state(tour.camera_at(t)) - state(tour.camera_at(t - dt))) / dt
    assert np.abs(v).max() < 1e-2


def test_stop_at_names_the_stop_the_camera_heads_for() -> None:
    tour = path_tour(hold=0.5)
    assert [tour.stop_at(t) for t in (0.0, 0.5, 0.6, 2.5, 3.1, 100.0)] == [0, 0, 1, 1, 2, 3]


def test_tour_json_round_trip(tmp_path: Path) -> None:
    tour = path_tour(hold=0.25)
    tour.stops[1].view = {"colormap": "magma", "cut": "conv2", "connections": ["graph", "rf"], "select": "conv3:5"}
    path = tour.save(tmp_path / "talk.json")
    again = load_tour(path)
    assert again.to_dict() == tour.to_dict()
    for t in np.linspace(0, tour.duration, 17):
        np.testing.assert_allclose(state(again.camera_at(t)), state(tour.camera_at(t)))


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("{", "cannot read tour file"),
        ('{"stops": []}', "no stops"),
        ('{"stops": [{"fly": 1}]}', "stop 0: a stop needs a camera"),
        ('{"stops": [{"camera": {"target": [0, 0, 0], "distance": -1, "azimuth": 0, "elevation": 0}}]}', "distance"),
        (
            '{"stops": [{"camera": {"target": [0,0,0], "distance": 1, "azimuth": 0, "elevation": 0}, "hold": -2}]}',
            "hold",
        ),
        (
            '{"stops": [{"camera": {"target": [0,0,0], "distance": 1, "azimuth": 0, "elevation": 0}, '
            '"view": {"x": 1}}]}',
            "unknown view",
        ),
        (
            '{"stops": [{"camera": {"target": [0,0,0], "distance": 1, "azimuth": 0, "elevation": 0}, '
            '"view": {"colormap": "jet"}}]}',
            "jet",
        ),
    ],
)
def test_a_bad_tour_file_is_one_line(tmp_path: Path, content: str, says: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(Viz3dError, match=says) as info:
        load_tour(path)
    assert "\n" not in str(info.value)
    with pytest.raises(Viz3dError, match="not found"):
        load_tour(tmp_path / "missing.json")


# --- session actions (no GL) -----------------------------------------------------------
@pytest.fixture
def session() -> Session:
    return Session.from_model(MODEL, INPUTS, size=SIZE, clock=FakeClock())


def test_flythrough_stops_at_stage_boundaries_and_orbit_turns_once(session: Session) -> None:
    fly = session.load_tour("flythrough")
    cuts = [s.view.get("cut") for s in fly.stops]
    assert cuts[0] is None and cuts[-1] is None and 6 <= len(fly) <= 10
    sizes = [tuple(session.trace.node(name).display.shape[1:]) for name in cuts[1:-1]]
    assert len(set(sizes)) >= 4  # each stop a new spatial size (a new stage)
    orbit = session.load_tour("orbit")
    azimuths = np.degrees(
        np.unwrap(np.radians([orbit.camera_at(t).azimuth for t in np.linspace(0, orbit.duration, 200)]))
    )
    assert azimuths[-1] - azimuths[0] == pytest.approx(360, abs=1e-6)
    assert np.all(np.diff(azimuths) > 0)  # always the same way round


def test_add_remove_save_and_step_stops(session: Session, tmp_path: Path) -> None:
    session.add_tour_stop()
    session.fly_to_node(session.trace.node("conv2").id)
    session.clock.t += 2  # type: ignore[attr-defined]
    session.advance()
    session.update(colormap="magma")
    session.add_tour_stop()
    session.add_tour_stop()
    session.remove_tour_stop()
    assert session.tour is not None and len(session.tour) == 2
    assert session.tour.stops[1].view["cut"] == "conv2" and session.tour.stops[1].view["colormap"] == "magma"
    path = session.save_tour(tmp_path / "t.json")
    assert path is not None and json.loads(path.read_text())["stops"][1]["view"]["cut"] == "conv2"
    session.home()
    assert session.tour_index == 0 and session.options.colormap == "viridis" and session.cut_z == float("inf")
    session.next_layer()
    assert session.tour_index == 1 and session.options.colormap == "magma"
    session.clock.t += 5  # type: ignore[attr-defined]
    session.advance()
    np.testing.assert_allclose(session.camera.eye, session.tour.stops[1].camera.eye)


def test_a_tour_naming_a_missing_layer_is_one_line(session: Session, tmp_path: Path) -> None:
    tour = Tour([TourStop(session.camera.copy(), view={"cut": "conv99"})])
    with pytest.raises(Viz3dError, match="tour stop 0: no layer named 'conv99'"):
        session.load_tour(tour)
    with pytest.raises(Viz3dError, match="unknown tour"):
        session.load_tour("spiral")


# --- the window ---------------------------------------------------------------------------
@pytest.fixture
def window() -> Iterator[ViewerWindow]:
    s = Session.from_model(MODEL, INPUTS, size=SIZE, clock=FakeClock())
    w = ViewerWindow(s, backend="egl")
    w.canvas.events.ignore_callback_errors = False
    yield w
    w.canvas.close()


def key(window: ViewerWindow, name: str, shift: bool = False, control: bool = False) -> None:
    k = keys.Key(name)
    mods = (keys.SHIFT,) * shift + (keys.CONTROL,) * control
    window.canvas.events.key_press(key=k, modifiers=mods, text="")
    window.canvas.events.key_release(key=k, modifiers=mods, text="")


def shown(window: ViewerWindow) -> np.ndarray:
    """The window's frame with its panels, as the user sees it (top row first)."""
    from viz3d.renderer.offscreen import read_frame

    return read_frame(lambda big, scale: window.on_draw(), window.size, canvas=window.canvas)


def test_keys_build_a_tour_space_plays_and_the_clicker_steps_stops(window: ViewerWindow, tmp_path: Path) -> None:
    s, clock = window.session, window.session.clock
    window.output_dir = tmp_path
    key(window, "T")
    key(window, "PageDown")  # no tour stepping yet with one stop? a tour is loaded: stop 1 of 1
    key(window, "Home")
    s.fly_to_node(s.trace.node("conv3").id)
    clock.t += 2  # type: ignore[attr-defined]
    s.advance()
    key(window, "T")
    key(window, "S", control=True)
    assert json.loads((tmp_path / "viz3d-tour.json").read_text())["stops"][1]["view"]["cut"] == "conv3"
    key(window, "Home")
    clock.t += 5  # type: ignore[attr-defined]
    s.advance()
    key(window, "Space")
    assert s.tour_playing and window.timer.running
    eyes = []
    for _ in range(60):
        clock.t += 0.1  # type: ignore[attr-defined]
        window._on_timer()
        eyes.append(s.camera.eye.copy())
    assert not s.tour_playing and not window.timer.running  # the end of the tour stops the timer
    assert s.tour is not None
    np.testing.assert_allclose(eyes[-1], s.tour.stops[1].camera.eye, atol=1e-9)
    steps = np.linalg.norm(np.diff(eyes, axis=0), axis=1)
    assert steps.max() < 0.2 * np.linalg.norm(eyes[-1] - eyes[0])  # smooth, no jump
    key(window, "PageUp")
    assert s.tour_index == 0
    key(window, "PageDown")
    assert s.tour_index == 1 and s.cut_z < float("inf")


def test_captions_appear_in_the_lower_third(window: ViewerWindow) -> None:
    s = window.session
    s.update(hud=False)  # the status line would change too
    before = shown(window)
    s.load_tour(Tour([TourStop(s.camera.copy(), 0, 2, "Edges first, then shapes")]))
    s.home()
    s.clock.t += 1.0  # the flight to the stop (where the camera already is) ends: a still frame, as before
    window._on_timer()
    assert not window.timer.running
    after = shown(window)
    assert s.caption() == "Edges first, then shapes" and "caption" in window.hud.names()
    h = SIZE[1]
    lower = np.abs(after.astype(int) - before.astype(int)).sum(-1)
    bright = (after[..., :3].min(-1) > 200) & (lower > 100)
    rows = np.flatnonzero(bright.any(axis=1))
    assert len(rows) and rows.min() > 0.6 * h and rows.max() < 0.95 * h  # white text in the lower third
    assert not (lower[: int(0.5 * h)] > 100).any()


def test_presenter_mode_hides_the_overlays(window: ViewerWindow) -> None:
    s = window.session
    s.update(help=True)
    with_panels = shown(window)
    assert {"hud", "minimap", "help"} <= set(window.hud.names())
    key(window, "F5")
    s.clock.t += 5  # type: ignore[attr-defined]  (the "presenter mode" message expires)
    bare = shown(window)
    assert s.options.present and not {"hud", "minimap", "help", "message"} & set(window.hud.names())
    s.update(present=False, help=False, hud=False, minimap=False)
    plain = shown(window)
    assert np.array_equal(bare, plain)  # nothing drawn over the scene
    assert (np.abs(with_panels.astype(int) - bare.astype(int)).sum(-1) > 30).sum() > 2000


def test_q_asks_before_quitting(window: ViewerWindow) -> None:
    s = window.session
    key(window, "Q")
    assert not window.closed and "press Q again to quit" in s.current_message()
    s.clock.t += 10  # type: ignore[attr-defined]
    key(window, "Q")  # too late: asks again
    assert not window.closed
    s.clock.t += 1  # type: ignore[attr-defined]
    key(window, "Q")
    assert window.closed


def test_a_slow_action_says_working_on_screen_first(window: ViewerWindow, monkeypatch: pytest.MonkeyPatch) -> None:
    s = window.session
    s.update(present=True)
    seen: list[tuple[str, list[str]]] = []
    toggle = s.toggle_view
    monkeypatch.setattr(
        s, "toggle_view", lambda name: (seen.append((s.current_message(), window.hud.names())), toggle(name))
    )
    key(window, "W")
    assert seen == [("working…", seen[0][1])] and "message" in seen[0][1]  # drawn before the action ran
    assert s.options.show == "weights"
