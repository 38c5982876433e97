"""The viewer window driven through vispy's event system on a hidden EGL canvas.

Each test gets its own window over a fresh session (no test depends on another's order).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image
from vispy.util import keys

from tests.fakes import FakeClock, minimap_point
from viz3d.app.navigation import HELD_ACTIONS, LOOK_DEGREES_PER_PIXEL, ORBIT_DEGREES_PER_PIXEL, ZOOM_PER_WHEEL_STEP
from viz3d.app.window import ViewerWindow
from viz3d.capture import capture
from viz3d.errors import Viz3dError
from viz3d.models.default_net import default_model
from viz3d.models.shapes import sample_image
from viz3d.renderer.offscreen import read_frame
from viz3d.scene import keymap
from viz3d.scene.camera import box_corners
from viz3d.scene.labels import project
from viz3d.scene.picking import PickHit
from viz3d.session import Session
from viz3d.session.navigation import FAST_FACTOR, FLY_SPEED_PER_RADIUS, SPEED_PER_WHEEL_STEP

pytestmark = pytest.mark.gl

MODEL = default_model()
INPUTS = [torch.from_numpy(sample_image(i))[None] for i in range(3)]
SIZE = (320, 200)


@pytest.fixture
def window() -> Iterator[ViewerWindow]:
    session = Session.from_model(MODEL, INPUTS, size=SIZE, clock=FakeClock())
    w = ViewerWindow(session, backend="egl")
    w.canvas.events.ignore_callback_errors = False  # let handler errors fail the test
    yield w
    w.canvas.close()


def key(window: ViewerWindow, name: str, shift: bool = False, release: bool = True) -> None:
    k = keys.Key(name)
    mods = (keys.SHIFT,) if shift else ()
    window.canvas.events.key_press(key=k, modifiers=mods, text="")
    if release:
        window.canvas.events.key_release(key=k, modifiers=mods, text="")


def drag(window: ViewerWindow, start: tuple[float, float], end: tuple[float, float], button: int = 1) -> None:
    ev = window.canvas.events
    press = ev.mouse_press(pos=start, button=button)
    ev.mouse_move(pos=end, button=button, buttons=[button], press_event=press)
    ev.mouse_release(pos=end, button=button)


def click(window: ViewerWindow, pos: tuple[float, float]) -> None:
    window.canvas.events.mouse_press(pos=pos, button=1)
    window.canvas.events.mouse_release(pos=pos, button=1)


def settle(window: ViewerWindow) -> None:
    """Let any flight finish (the fake clock jumps past it)."""
    window.session.clock.t += 1.0  # type: ignore[attr-defined]
    window.session.advance()


def pixel_of(window: ViewerWindow, point: np.ndarray) -> np.ndarray:
    return project(np.asarray(point, float)[None], window.session.view_projection(), window.size)[0][0]


def frame(window: ViewerWindow) -> np.ndarray:
    return read_frame(lambda big, scale: window.view.draw(big, scale), window.size, canvas=window.canvas)


def test_left_drag_orbits_around_the_pivot(window: ViewerWindow) -> None:
    cam = window.session.camera
    az, el, d = cam.azimuth, cam.elevation, cam.distance
    target = cam.target.copy()
    drag(window, (100, 100), (140, 90))
    cam = window.session.camera
    assert np.isclose((cam.azimuth - az) % 360, 40 * ORBIT_DEGREES_PER_PIXEL)
    assert np.isclose(cam.elevation - el, -10 * ORBIT_DEGREES_PER_PIXEL)
    np.testing.assert_allclose(cam.target, target)  # the pivot stays
    assert np.isclose(np.linalg.norm(cam.eye - target), d)


def test_scroll_zooms_toward_the_cursor(window: ViewerWindow) -> None:
    cam = window.session.camera
    cursor = (250.0, 60.0)
    nx, ny = window.nav.ndc(cursor)
    hw, hh = cam.half_extent(window.session.aspect)
    under = cam.target + cam.right * nx * hw + cam.up * ny * hh
    d = cam.distance
    window.canvas.events.mouse_wheel(pos=cursor, delta=(0, 2))
    assert np.isclose(window.session.camera.distance, d * ZOOM_PER_WHEEL_STEP**2)
    np.testing.assert_allclose(pixel_of(window, under), cursor, atol=1e-6)


def test_right_drag_pans(window: ViewerWindow) -> None:
    target = window.session.camera.target.copy()
    drag(window, (100, 100), (150, 100), button=2)
    moved = window.session.camera.target - target
    right = window.session.camera.right
    assert np.dot(moved, right) < 0  # content follows the mouse: the target moves left
    assert np.linalg.norm(moved - np.dot(moved, right) * right) < 1e-6


def test_fly_mode_moves_at_the_scene_scaled_speed(window: ViewerWindow) -> None:
    s = window.session
    key(window, "Tab")
    assert s.camera.mode == "fly"
    eye, forward = s.camera.eye.copy(), s.camera.forward.copy()
    key(window, "W", release=False)
    assert window.timer.running  # a held key animates
    window.nav.step(0.5)
    speed = FLY_SPEED_PER_RADIUS * s.camera.scene_radius
    np.testing.assert_allclose(s.camera.eye - eye, forward * speed * 0.5, atol=1e-9)
    key(window, "Shift", release=False)
    eye = s.camera.eye.copy()
    window.nav.step(0.25)
    np.testing.assert_allclose(np.linalg.norm(s.camera.eye - eye), speed * FAST_FACTOR * 0.25)
    window.canvas.events.key_release(key=keys.Key("W"), modifiers=(), text="")
    window.canvas.events.key_release(key=keys.SHIFT, modifiers=(), text="")
    assert not window.nav.held
    eye = s.camera.eye.copy()
    key(window, "E", release=False)
    window.nav.step(0.5)
    np.testing.assert_allclose(s.camera.eye - eye, [0, speed * 0.5, 0], atol=1e-9)
    key(window, "E")
    # Scroll changes the speed in fly mode instead of zooming.
    window.canvas.events.mouse_wheel(pos=(100, 100), delta=(0, 1))
    assert np.isclose(s.fly_speed(), speed * SPEED_PER_WHEEL_STEP)


def test_fly_mode_drag_looks_around_the_eye(window: ViewerWindow) -> None:
    key(window, "Tab")
    eye = window.session.camera.eye.copy()
    az = window.session.camera.azimuth
    drag(window, (100, 100), (150, 100))
    np.testing.assert_allclose(window.session.camera.eye, eye, atol=1e-9)
    assert np.isclose((window.session.camera.azimuth - az) % 360, 50 * LOOK_DEGREES_PER_PIXEL)


def test_page_down_flies_to_the_next_layer_and_home_resets_stepping(window: ViewerWindow) -> None:
    s = window.session
    key(window, "PageDown")
    key(window, "PageDown")
    assert s.focus_index == 1 and window.timer.running
    slab = s.layout.slabs[1]
    positions = []
    for _ in range(100):
        s.clock.t += 0.01  # type: ignore[attr-defined]
        window._on_timer()
        positions.append(s.camera.eye.copy())
    assert s.flight is None and not window.timer.running  # the timer stops when nothing moves
    steps = np.linalg.norm(np.diff(positions, axis=0), axis=1)
    assert steps.max() < 0.1 * np.linalg.norm(positions[-1] - positions[0])  # continuous, no jump
    px = project(box_corners(slab.lo, slab.hi), s.view_projection(), window.size)[0]
    assert (px >= 0).all() and (px[:, 0] <= SIZE[0]).all() and (px[:, 1] <= SIZE[1]).all()
    key(window, "Home")
    key(window, "PageDown")
    assert s.focus_index == 0  # Home starts stepping again from the first layer


def test_fly_to_a_tile_under_the_cursor(window: ViewerWindow) -> None:
    s = window.session
    slab = s.layout.slab(s.trace.node("conv1").id)
    centre = pixel_of(window, slab.tile_center(5))
    window.canvas.events.mouse_move(pos=tuple(centre), buttons=[])
    key(window, "F")
    settle(window)
    x0, y0, x1, y1 = slab.tile_rects()[5]
    corners = np.array([[x, y, slab.front_z] for x in (x0, x1) for y in (y0, y1)])
    px = project(corners, s.view_projection(), window.size)[0]
    assert (px >= 0).all() and (px[:, 0] <= SIZE[0]).all() and (px[:, 1] <= SIZE[1]).all()
    assert np.ptp(px[:, 0]) > 100  # the tile now fills much of the view


def test_hover_and_click_pick_the_feature_map(window: ViewerWindow) -> None:
    s = window.session
    node = s.trace.node("conv3")
    s.fly_to_node(node.id)
    settle(window)
    _, h, w = node.display.shape
    slab = s.layout.slab(node.id)
    x0, y0, x1, y1 = slab.tile_rects()[7]
    point = np.array([x0 + (3 + 0.5) / w * (x1 - x0), y1 - (2 + 0.5) / h * (y1 - y0), slab.front_z])
    pos = tuple(pixel_of(window, point))
    window.canvas.events.mouse_move(pos=pos, buttons=[])
    assert window.nav.hover == PickHit(node.id, 7, 2, 3)
    value = float(node.display[7, 2, 3])
    assert f"channel 7 (y 2, x 3) = {value:.4g}" in window.hud.hover_text
    assert "conv3 (Conv2d) 1x64x8x8" in window.hud.hover_text
    click(window, pos)
    assert s.selection == (node.id, 7, 2, 3)
    key(window, "2")
    key(window, "3")
    connections = window.renderer.connections
    assert connections["rf"][0].total > 0 and connections["weights"][0].total == 16
    window.on_draw()
    assert "inset" in window.hud.names()
    key(window, "Escape")
    window.on_draw()
    assert s.selection is None and "inset" not in window.hud.names()
    assert window.renderer.connections["rf"] == []


def test_every_key_in_the_table_has_a_handler_and_is_in_the_help(window: ViewerWindow) -> None:
    rows = dict(keymap.help_lines(window.keys))
    for binding in window.keys:
        prefix = f"{binding.modifier}+" if binding.modifier else ""
        assert prefix + " / ".join(binding.keys) + (f" ({binding.mode})" if binding.mode else "") in rows
        for action in [binding.action] + ([binding.shift_action] if binding.shift_action else []):
            if binding.held:
                assert action in HELD_ACTIONS
            else:
                assert action in window.actions or callable(getattr(Session, action, None)), action


def test_keys_1_2_3_toggle_the_connection_kinds_in_the_picture(window: ViewerWindow) -> None:
    s = window.session
    s.select("conv3:5")
    with_graph = frame(window)
    key(window, "1")
    assert "graph" not in s.options.connections and "graph" not in window.renderer.connections
    without = frame(window)
    assert (np.abs(with_graph.astype(int) - without.astype(int)).sum(-1) > 30).sum() > 50
    key(window, "2")
    rf = frame(window)
    assert (np.abs(rf.astype(int) - without.astype(int)).sum(-1) > 30).sum() > 20
    key(window, "2")
    key(window, "3")
    weights = frame(window)
    assert window.renderer.connections["weights"][0].total == 16 and "rf" not in window.renderer.connections
    assert (np.abs(weights.astype(int) - without.astype(int)).sum(-1) > 30).sum() > 4  # 16 thin lines, far away
    assert "strongest weights shown" in s.current_message()


def test_help_overlay_toggles(window: ViewerWindow) -> None:
    window.on_draw()
    key(window, "H")
    window.on_draw()
    assert "help" in window.hud.names()
    key(window, "Escape")  # Esc closes the help first
    window.on_draw()
    assert "help" not in window.hud.names()


def test_keys_change_colormap_normalization_labels_and_mode(window: ViewerWindow) -> None:
    s = window.session
    key(window, "C")
    assert s.options.colormap == "magma" and window.renderer.colormap == "magma"
    key(window, "N")
    assert s.options.normalization == "channel" and window.renderer.normalization == "channel"
    key(window, "L")
    assert not window.renderer.show_labels
    key(window, "V")
    assert s.options.layout_mode == "volume" and window.renderer.layout.mode == "volume"


def test_a_rebuild_keeps_every_setting(window: ViewerWindow) -> None:
    s = window.session
    s.update(colormap="inferno", normalization="global", connection_budget=123, texture_format="r16f", labels=False)
    s.update(connections=frozenset({"graph", "rf"}), stats=True)
    key(window, "G")  # a new network structure: the renderer is rebuilt
    r = window.renderer
    assert s.trace.group_depth == 1
    assert (r.colormap, r.normalization, r.connection_budget, r.texture_format) == ("inferno", "global", 123, "r16f")
    assert not r.show_labels and set(r.connections) == {"graph", "rf"} and r._boxes.chart_count > 0


def test_screenshot_keys_write_pngs_with_lines_and_text_scaled(window: ViewerWindow, tmp_path: Path) -> None:
    window.output_dir = tmp_path
    key(window, "P")
    key(window, "P", shift=True)
    paths = sorted(tmp_path.glob("*.png"), key=lambda p: Image.open(p).size)
    sizes = [Image.open(p).size for p in paths]
    assert sizes == [(320, 200), (640, 400)]
    one, two = (np.asarray(Image.open(p).convert("RGB")).astype(int) for p in paths)
    # Twice the size draws the same picture twice as large: halved, it is close to the 1x one.
    halved = two.reshape(200, 2, 320, 2, 3).mean(axis=(1, 3))
    assert np.abs(halved - one).mean() < 6


def test_camera_json_round_trip(window: ViewerWindow, tmp_path: Path) -> None:
    s = window.session
    window.output_dir = tmp_path
    s.orbit(33, 7)
    key(window, "K")
    saved = s.camera.to_dict()
    s.set_camera(s.home_camera())
    s.load_camera(tmp_path / "viz3d-camera.json")
    assert s.camera.to_dict() == saved
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(Viz3dError, match="cannot read camera file"):
        s.load_camera(tmp_path / "bad.json")


def test_next_input_recaptures_keeps_the_view_and_refreshes_the_widths(window: ViewerWindow) -> None:
    from viz3d.capture.weights import mean_abs_activation
    from viz3d.layout.connections import graph_connections

    s = window.session
    s.orbit(20, 0)
    before = s.camera.to_dict()
    old = s.trace.node("conv1").tensor
    old_widths = window.renderer.connections["graph"][0].width.copy()
    key(window, "I")
    assert s.input_index == 1 and not torch.equal(s.trace.node("conv1").tensor, old)
    assert s.camera.to_dict() == before
    expected, _ = graph_connections(s.layout, mean_abs_activation(s.trace))
    now = window.renderer.connections["graph"][0].width
    np.testing.assert_allclose(now, expected.width)  # from the new input's activations...
    assert not np.allclose(now, old_widths)  # ...which differ from the first input's


def test_next_input_in_the_weights_view_uploads_nothing(window: ViewerWindow, monkeypatch: pytest.MonkeyPatch) -> None:
    s = window.session
    key(window, "W")
    assert s.options.show == "weights"
    uploads: list[Any] = []
    monkeypatch.setattr(window.renderer, "update_activations", lambda trace: uploads.append(trace))
    before = s.captured.node("conv1").tensor
    key(window, "I")
    window.renderer  # noqa: B018  (sync)
    assert uploads == [] and s.input_index == 1
    assert "weights do not change" in s.current_message()
    monkeypatch.undo()
    key(window, "W")  # back to activations: the new input's
    assert s.options.show == "activations"
    assert not torch.equal(s.trace.node("conv1").tensor, before)


def test_closing_the_window_releases_uploads_before_the_context_goes() -> None:
    from OpenGL import GL

    small = ViewerWindow(Session(capture(MODEL, INPUTS[0]), size=(160, 100)), backend="egl")
    small.on_draw()
    renderer = small.renderer
    texture = renderer.layers[0].activation
    seen: list[tuple[int, bool]] = []
    real_release = renderer.uploader.release

    def release() -> None:
        # The CUDA path unregisters here: the context must still be current, the textures still alive.
        handle = small.canvas.context.shared.parser.get_object(texture.id).handle
        seen.append((handle, bool(GL.glIsTexture(handle))))
        real_release()

    renderer.textures.uploader.release = release
    small.canvas.close()
    assert len(seen) == 1 and seen[0][1], "release ran after the textures were gone"
    assert small.closed and renderer.layers == []
    small.on_draw()  # a late draw event does nothing
    small.session.cycle_colormap()  # nor does a late session change
    assert renderer.layers == []


def test_hud_says_which_upload_path_runs(window: ViewerWindow, monkeypatch: pytest.MonkeyPatch) -> None:
    from viz3d.gpu.cuda_upload import CudaUploader
    from viz3d.gpu.upload import GuardedCudaUploader, HostUploader

    assert "upload" not in window.hud.status_lines(None)[0]  # the host path, the usual case, is not announced
    guarded = GuardedCudaUploader(CudaUploader(), HostUploader())
    monkeypatch.setattr(window.renderer.textures, "uploader", guarded)
    assert "zero-copy CUDA upload" in window.hud.status_lines(None)[0]
    guarded.failure = "the CUDA upload path failed (cudaErrorUnknown)"
    assert "CUDA path failed: host upload" in window.hud.status_lines(None)[0]


def test_idle_hud_shows_no_fps_and_messages_expire(window: ViewerWindow) -> None:
    s = window.session
    key(window, "C")
    window.on_draw()
    assert window.fps() is None and "fps" not in window.hud.status_lines(window.fps())[0]
    s.say("hello")
    assert "hello" in window.hud.status_lines(None)
    assert 0 < window._wait_seconds() <= 1.0
    s.clock.t += 5.0  # type: ignore[attr-defined]
    assert "hello" not in window.hud.status_lines(None) and window._wait_seconds() == 1.0


def test_g_folds_blocks_and_back(window: ViewerWindow) -> None:
    key(window, "G")
    assert window.session.trace.group_depth == 1 and "block" in [n.name for n in window.session.trace]
    key(window, "G")
    assert window.session.trace.group_depth is None and "block.conv1" in [n.name for n in window.session.trace]


def test_100_input_switches_leak_no_gl_objects_or_memory(window: ViewerWindow) -> None:
    def rss_mb() -> float:
        with open("/proc/self/status") as fh:
            line = next(ln for ln in fh if ln.startswith("VmRSS"))
        return int(line.split()[1]) / 1024

    parser = window.canvas.context.shared.parser
    window.on_draw()
    key(window, "I")
    window.on_draw()
    objects, rss = len(parser._objects), rss_mb()
    for _ in range(100):
        key(window, "I")
        window.on_draw()
    window.canvas.context.flush_commands()
    assert len(parser._objects) == objects
    assert rss_mb() < rss * 1.05 + 5
    key(window, "G")  # a re-layout replaces the renderer: its GL objects must go too
    key(window, "G")
    window.on_draw()
    window.canvas.context.flush_commands()
    assert len(parser._objects) <= objects + 2
    from OpenGL import GL

    assert GL.glGetError() == GL.GL_NO_ERROR


WINDOW_SCRIPT = """
import numpy as np, torch
from vispy import app
from viz3d.app.window import ViewerWindow
from viz3d.capture import capture
from viz3d.models.default_net import default_model
from viz3d.session import Session
w = ViewerWindow(Session(capture(default_model(), torch.rand(1, 3, 64, 64)), size=(400, 300)))
w.canvas.show()
app.process_events()
img = w.canvas.render()
lit = (np.abs(img[..., :3].astype(int) - [19, 20, 24]).sum(-1) > 30).mean()
print(img.shape, round(float(lit), 3))
w.canvas.close()
"""


def _xvfb(args: list[str], cwd: Path | None = None) -> Any:
    import os
    import shutil
    import subprocess

    if shutil.which("xvfb-run") is None:
        pytest.skip("xvfb-run not installed (apt-get install xvfb xauth)")
    env = {k: v for k, v in os.environ.items() if k not in ("PYOPENGL_PLATFORM", "EGL_PLATFORM")}
    return subprocess.run(["xvfb-run", "-a", *args], env=env, capture_output=True, text=True, timeout=120, cwd=cwd)


def test_a_real_glfw_window_under_xvfb_shows_the_network() -> None:
    import sys

    proc = _xvfb([sys.executable, "-c", WINDOW_SCRIPT])
    assert proc.returncode == 0, proc.stderr[-2000:]
    shape, lit = proc.stdout.strip().rsplit(" ", 1)
    assert shape == "(300, 400, 4)"
    assert float(lit) > 0.08  # a blank window is ~0; the framed network covers ~0.17


def test_window_starts_from_a_preset_or_a_saved_view(tmp_path: Path) -> None:
    trace = capture(MODEL, INPUTS[0])
    side = Session(trace, size=SIZE, camera="side")
    assert side.camera.azimuth % 360 == 270.0
    side.orbit(12, 3)
    side.save_camera(tmp_path / "view.json")
    again = Session(trace, size=SIZE, camera=tmp_path / "view.json")
    assert again.camera.to_dict() == side.camera.to_dict()
    with pytest.raises(Viz3dError, match="camera file not found"):
        Session(trace, size=SIZE, camera=str(tmp_path / "missing.json"))


def test_w_in_orbit_mode_switches_to_the_weights_view_and_back(window: ViewerWindow) -> None:
    s = window.session
    key(window, "W")
    assert s.options.show == "weights"
    conv1 = s.trace.node("conv1")
    assert conv1.display_rgb and conv1.tiles == 16
    assert torch.equal(conv1.display.reshape(16, 3, 5, 5), conv1.module.weight.detach())
    s.fly_to_node(conv1.id)
    settle(window)
    pos = tuple(pixel_of(window, s.layout.slab(conv1.id).tile_center(4)))
    window.canvas.events.mouse_move(pos=pos, buttons=[])
    assert "filter 4" in window.hud.hover_text and "RGB" in window.hud.hover_text
    click(window, pos)
    assert s.selection is not None and s.selection[:2] == (conv1.id, 4)
    key(window, "W")
    assert s.options.show == "activations" and not s.trace.node("conv1").display_rgb


def test_b_shows_histograms_and_flags(window: ViewerWindow) -> None:
    key(window, "B")
    assert window.session.options.stats and window.renderer._boxes.chart_count > 0
    stats = window.session.statistics()
    conv1 = window.session.trace.node("conv1")
    assert sum(stats[conv1.id].act_hist.counts) == conv1.tensor.numel()
    key(window, "B")
    assert window.renderer._boxes.chart_count == 0


def test_minimap_click_flies_to_the_layer(window: ViewerWindow) -> None:
    s = window.session
    target, pos = minimap_point(window, "block.conv2")
    mini = window.hud.minimap(window.size)
    assert mini.node_at(*pos) == target
    click(window, pos)
    assert s.flight is not None and s.cut_z < float("inf")
    settle(window)
    assert s.camera_node() == target


def test_viz3d_demo_opens_a_window_and_draws(tmp_path: Path) -> None:
    import sys

    cmd = [sys.executable, "-m", "viz3d.cli", "demo", "--exit-after-first-frame", "--select", "conv3:5"]
    proc = _xvfb([*cmd, "--connections", "graph,rf"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "first frame" in proc.stderr
    assert not list(tmp_path.iterdir())  # a window, not a PNG


def test_n_in_the_weights_view_switches_filter_ranges(window: ViewerWindow) -> None:
    s = window.session
    key(window, "W")
    conv1 = s.trace.node("conv1")
    layer = window.renderer.layer_for(conv1.id)
    assert conv1.display_norm == "channel"
    key(window, "N")
    assert s.trace.node("conv1").display_norm == "layer"
    assert window.renderer.layer_for(conv1.id) is layer  # updated in place, no new textures
    key(window, "N")
    assert s.trace.node("conv1").display_norm == "channel"


def test_repeated_draws_into_one_framebuffer_keep_their_depth(window: ViewerWindow) -> None:
    """A second draw inside one framebuffer binding must not fall back to the (depthless) default one."""
    from vispy import gloo

    from viz3d.renderer.offscreen import Framebuffer

    window.session.select("conv3:5")
    fbo = Framebuffer()
    with fbo.bind_size(SIZE):
        frames = []
        for _ in range(2):
            window.on_draw()
            frames.append(np.asarray(gloo.read_pixels((0, 0, *SIZE), alpha=True)))
    fbo.delete()
    np.testing.assert_array_equal(frames[0], frames[1])


def test_an_action_that_fails_says_so_in_the_hud_instead_of_raising(window: ViewerWindow) -> None:
    window.session.inputs[1] = torch.rand(1, 1, 64, 64)  # the model wants 3 channels
    key(window, "I")
    assert "failed in layer" in window.session.current_message() and window.session.input_index == 0
