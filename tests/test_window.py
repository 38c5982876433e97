"""The viewer's camera controls, driven through vispy's event system on a hidden EGL canvas."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image
from vispy.util import keys

from viz3d.app.window import (
    FAST_FACTOR,
    FLY_SPEED_PER_RADIUS,
    LOOK_DEGREES_PER_PIXEL,
    MOVE_AXES,
    ORBIT_DEGREES_PER_PIXEL,
    SPEED_PER_WHEEL_STEP,
    ZOOM_PER_WHEEL_STEP,
    ViewerWindow,
)
from viz3d.capture import capture
from viz3d.errors import Viz3dError
from viz3d.models.default_net import default_model
from viz3d.models.shapes import sample_image
from viz3d.scene import keymap
from viz3d.scene.camera import box_corners
from viz3d.scene.colormaps import COLORMAPS
from viz3d.scene.labels import project
from viz3d.scene.picking import PickHit

pytestmark = pytest.mark.gl


class FakeClock:
    """A clock the test advances by hand, so flights are deterministic."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture(scope="module")
def window() -> Any:
    model = default_model()
    inputs = [torch.from_numpy(sample_image(i))[None] for i in range(3)]
    trace = capture(model, inputs[0])
    window = ViewerWindow(trace, model=model, inputs=inputs, size=(320, 200), backend="egl", clock=FakeClock())
    window.canvas.events.ignore_callback_errors = False  # let handler errors fail the test
    return window


@pytest.fixture(autouse=True)
def _reset(window: ViewerWindow) -> None:
    if window.layout_mode != "tile":
        window.action_toggle_volume()
    window.camera = window.home_camera()
    window.camera.mode = "orbit"
    window.held.clear()
    window.flight = None
    window.renderer.cut_z = float("inf")
    window.select(None)


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


def pixel_of(window: ViewerWindow, point: np.ndarray) -> np.ndarray:
    return project(np.asarray(point, float)[None], window.view_projection(), window.size)[0][0]


def test_left_drag_orbits_around_the_pivot(window: ViewerWindow) -> None:
    az, el, d = window.camera.azimuth, window.camera.elevation, window.camera.distance
    target = window.camera.target.copy()
    drag(window, (100, 100), (140, 90))
    assert np.isclose((window.camera.azimuth - az) % 360, 40 * ORBIT_DEGREES_PER_PIXEL)
    assert np.isclose(window.camera.elevation - el, -10 * ORBIT_DEGREES_PER_PIXEL)
    np.testing.assert_allclose(window.camera.target, target)  # the pivot stays
    assert np.isclose(np.linalg.norm(window.camera.eye - target), d)


def test_scroll_zooms_toward_the_cursor(window: ViewerWindow) -> None:
    cursor = (250.0, 60.0)
    nx, ny = window.ndc(cursor)
    hw, hh = window.camera.half_extent(window.aspect)
    under = window.camera.target + window.camera.right * nx * hw + window.camera.up * ny * hh
    d = window.camera.distance
    window.canvas.events.mouse_wheel(pos=cursor, delta=(0, 2))
    assert np.isclose(window.camera.distance, d * ZOOM_PER_WHEEL_STEP**2)
    np.testing.assert_allclose(pixel_of(window, under), cursor, atol=1e-6)


def test_right_drag_pans(window: ViewerWindow) -> None:
    target = window.camera.target.copy()
    drag(window, (100, 100), (150, 100), button=2)
    moved = window.camera.target - target
    right = window.camera.right
    assert np.dot(moved, right) < 0  # content follows the mouse: the target moves left
    assert np.linalg.norm(moved - np.dot(moved, right) * right) < 1e-6


def test_fly_mode_moves_at_the_scene_scaled_speed(window: ViewerWindow) -> None:
    key(window, "Tab")
    assert window.camera.mode == "fly"
    eye = window.camera.eye.copy()
    forward = window.camera.forward.copy()
    key(window, "W", release=False)
    window.step(0.5)
    speed = FLY_SPEED_PER_RADIUS * window.camera.scene_radius
    np.testing.assert_allclose(window.camera.eye - eye, forward * speed * 0.5, atol=1e-9)
    key(window, "Shift", release=False)
    eye = window.camera.eye.copy()
    window.step(0.25)
    np.testing.assert_allclose(np.linalg.norm(window.camera.eye - eye), speed * FAST_FACTOR * 0.25)
    window.canvas.events.key_release(key=keys.Key("W"), modifiers=(), text="")
    window.canvas.events.key_release(key=keys.SHIFT, modifiers=(), text="")
    eye = window.camera.eye.copy()
    key(window, "E", release=False)
    window.step(0.5)
    np.testing.assert_allclose(window.camera.eye - eye, [0, speed * 0.5, 0], atol=1e-9)
    key(window, "E")
    # Scroll changes the speed in fly mode instead of zooming.
    window.canvas.events.mouse_wheel(pos=(100, 100), delta=(0, 1))
    assert np.isclose(window.fly_speed(), speed * SPEED_PER_WHEEL_STEP)
    window.speed_scale = 1.0


def test_fly_mode_drag_looks_around_the_eye(window: ViewerWindow) -> None:
    window.camera.mode = "fly"
    eye = window.camera.eye.copy()
    az = window.camera.azimuth
    drag(window, (100, 100), (150, 100))
    np.testing.assert_allclose(window.camera.eye, eye, atol=1e-9)
    assert np.isclose((window.camera.azimuth - az) % 360, 50 * LOOK_DEGREES_PER_PIXEL)


def test_page_down_flies_to_the_next_layer_and_frames_it(window: ViewerWindow) -> None:
    clock = window.clock
    assert isinstance(clock, FakeClock)
    key(window, "PageDown")
    key(window, "PageDown")
    assert window.focus_index == 1
    slab = window.layout.slabs[1]
    positions = []
    for _ in range(100):
        clock.t += 0.01
        window.step(0.01)
        positions.append(window.camera.eye.copy())
    assert window.flight is None
    steps = np.linalg.norm(np.diff(positions, axis=0), axis=1)
    assert steps.max() < 0.1 * np.linalg.norm(positions[-1] - positions[0])  # continuous, no jump
    px = project(box_corners(slab.lo, slab.hi), window.view_projection(), window.size)[0]
    assert (px >= 0).all() and (px[:, 0] <= 320).all() and (px[:, 1] <= 200).all()


def test_fly_to_a_tile_under_the_cursor(window: ViewerWindow) -> None:
    clock = window.clock
    assert isinstance(clock, FakeClock)
    slab = window.layout.slab(window.trace.node("conv1").id)
    centre = pixel_of(window, slab.tile_center(5))
    window.canvas.events.mouse_move(pos=tuple(centre), buttons=[])
    key(window, "F")
    clock.t += 1.0
    window.step(0.01)
    x0, y0, x1, y1 = slab.tile_rects()[5]
    corners = np.array([[x, y, slab.front_z] for x in (x0, x1) for y in (y0, y1)])
    px = project(corners, window.view_projection(), window.size)[0]
    assert (px >= 0).all() and (px[:, 0] <= 320).all() and (px[:, 1] <= 200).all()
    assert np.ptp(px[:, 0]) > 100  # the tile now fills much of the view


def test_hover_and_click_pick_the_feature_map(window: ViewerWindow) -> None:
    node = window.trace.node("conv3")
    slab = window.layout.slab(node.id)
    window.fly_to(window.focus_on_slab(slab), cut_at=slab)
    window.clock.t += 1.0  # type: ignore[attr-defined]
    window.step(0.01)
    _, h, w = node.display.shape
    x0, y0, x1, y1 = slab.tile_rects()[7]
    point = np.array([x0 + (3 + 0.5) / w * (x1 - x0), y1 - (2 + 0.5) / h * (y1 - y0), slab.front_z])
    pos = tuple(pixel_of(window, point))
    window.canvas.events.mouse_move(pos=pos, buttons=[])
    assert window.hover == PickHit(node.id, 7, 2, 3)
    value = float(node.display[7, 2, 3])
    assert f"channel 7 (y 2, x 3) = {value:.4g}" in window.hover_text
    assert "conv3 (Conv2d) 1x64x8x8" in window.hover_text
    ev = window.canvas.events
    ev.mouse_press(pos=pos, button=1)
    ev.mouse_release(pos=pos, button=1)
    assert window.selection == (node.id, 7, 2, 3)
    assert window.renderer.connections["rf"][0].total > 0 and window.renderer.connections["weights"][0].total == 16
    assert "inset" in window._overlay.names()
    key(window, "Escape")
    assert window.selection is None and "inset" not in window._overlay.names()


def test_every_key_in_the_keymap_has_a_handler_and_is_in_the_help() -> None:
    rows = dict(keymap.help_lines())
    for binding in keymap.KEYMAP:
        assert " / ".join(binding.keys) in rows
        actions = [binding.action] + ([binding.shift_action] if binding.shift_action else [])
        for action in actions:
            if binding.held:
                assert action in MOVE_AXES or action == "fast"
            else:
                assert callable(getattr(ViewerWindow, f"action_{action}", None)), action


def test_help_overlay_toggles(window: ViewerWindow) -> None:
    window.canvas.set_current()
    window.on_draw()
    key(window, "H")
    window.on_draw()
    assert "help" in window._overlay.names()
    key(window, "H")
    window.on_draw()
    assert "help" not in window._overlay.names()


def test_keys_change_colormap_normalization_labels_and_mode(window: ViewerWindow) -> None:
    key(window, "C")
    assert window.renderer.colormap == "magma"
    key(window, "N")
    assert window.renderer.normalization == "channel"
    key(window, "L")
    assert not window.renderer.show_labels
    key(window, "V")
    assert window.layout_mode == "volume" and window.layout.mode == "volume"
    key(window, "V")
    key(window, "L")
    for _ in range(len(COLORMAPS) - 1):
        key(window, "C")
    key(window, "N")
    key(window, "N")
    assert (window.renderer.colormap, window.renderer.normalization) == ("viridis", "layer")


def test_screenshot_keys_write_pngs_of_the_window_size(window: ViewerWindow, tmp_path: Path) -> None:
    window.output_dir = tmp_path
    key(window, "P")
    key(window, "P", shift=True)
    sizes = sorted(Image.open(p).size for p in tmp_path.glob("*.png"))
    assert sizes == [(320, 200), (640, 400)]


def test_camera_json_round_trip(window: ViewerWindow, tmp_path: Path) -> None:
    window.output_dir = tmp_path
    window.camera.orbit(33, 7)
    key(window, "K")
    saved = window.camera.to_dict()
    window.camera = window.home_camera()
    window.load_camera(tmp_path / "viz3d-camera.json")
    assert window.camera.to_dict() == saved
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(Viz3dError, match="cannot read camera file"):
        window.load_camera(tmp_path / "bad.json")


def test_next_input_recaptures_and_keeps_the_view(window: ViewerWindow) -> None:
    window.camera.orbit(20, 0)
    before = window.camera.to_dict()
    old = window.trace.node("conv1").tensor
    key(window, "I")
    assert window.input_index == 1
    assert not torch.equal(window.trace.node("conv1").tensor, old)
    assert window.camera.to_dict() == before


def test_next_input_refreshes_the_dataflow_widths(window: ViewerWindow) -> None:
    from viz3d.capture.weights import mean_abs_activation
    from viz3d.layout.connections import graph_connections

    old = window.renderer.connections["graph"][0].width.copy()
    key(window, "I")
    expected, _ = graph_connections(window.layout, mean_abs_activation(window.trace))
    now = window.renderer.connections["graph"][0].width
    np.testing.assert_allclose(now, expected.width)  # from the new input's activations...
    assert not np.allclose(now, old)  # ...which differ from the first input's


def test_next_input_in_the_weights_view_uploads_nothing(window: ViewerWindow, monkeypatch: pytest.MonkeyPatch) -> None:
    key(window, "W")
    try:
        uploads: list[Any] = []
        monkeypatch.setattr(window.renderer, "update_activations", lambda trace: uploads.append(trace))
        before, index = window.activation_trace.node("conv1").tensor, window.input_index
        key(window, "I")
        assert uploads == [] and window.showing == "weights"
        assert window.input_index == (index + 1) % len(window.inputs)
        assert "weights do not change" in window.message
        monkeypatch.undo()
    finally:
        key(window, "W")  # back to activations: the new input's
    assert window.showing == "activations"
    assert not torch.equal(window.trace.node("conv1").tensor, before)


def test_closing_the_window_releases_uploads_before_the_context_goes() -> None:
    from OpenGL import GL

    trace = capture(default_model(), torch.from_numpy(sample_image(0))[None])
    small = ViewerWindow(trace, size=(160, 100), backend="egl", clock=FakeClock())
    small.on_draw()
    texture = small.renderer.layers[0].activation
    seen: list[tuple[int, bool]] = []
    real_release = small.renderer.uploader.release

    def release() -> None:
        # The CUDA path unregisters here: the context must still be current, the textures still alive.
        handle = small.canvas.context.shared.parser.get_object(texture.id).handle
        seen.append((handle, bool(GL.glIsTexture(handle))))
        real_release()

    small.renderer.uploader.release = release
    small.canvas.close()
    assert len(seen) == 1 and seen[0][1], "release ran after the textures were gone"
    assert small.closed and small.renderer.layers == []
    small.on_draw()  # a late draw event does nothing
    assert small.renderer.layers == []


def test_hud_says_which_upload_path_runs(window: ViewerWindow, monkeypatch: pytest.MonkeyPatch) -> None:
    from viz3d.gpu.cuda_upload import CudaUploader
    from viz3d.gpu.upload import GuardedCudaUploader, HostUploader

    assert "upload" not in window.hud_lines()[0]  # the host path, the usual case, is not announced
    guarded = GuardedCudaUploader(CudaUploader(), HostUploader())
    monkeypatch.setattr(window.renderer, "uploader", guarded)
    assert "zero-copy CUDA upload" in window.hud_lines()[0]
    guarded.failure = "the CUDA upload path failed (cudaErrorUnknown)"
    assert "CUDA path failed: host upload" in window.hud_lines()[0]


def test_g_folds_blocks_and_back(window: ViewerWindow) -> None:
    key(window, "G")
    assert window.trace.group_depth == 1 and "block" in [n.name for n in window.trace]
    key(window, "G")
    assert window.trace.group_depth is None and "block.conv1" in [n.name for n in window.trace]


def test_200_input_switches_leak_no_gl_objects_or_memory(window: ViewerWindow) -> None:
    def rss_mb() -> float:
        with open("/proc/self/status") as fh:
            line = next(ln for ln in fh if ln.startswith("VmRSS"))
        return int(line.split()[1]) / 1024

    parser = window.canvas.context.shared.parser
    window.canvas.set_current()
    window.on_draw()
    key(window, "I")
    window.on_draw()
    objects, rss = len(parser._objects), rss_mb()
    for _ in range(200):
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
w = ViewerWindow(capture(default_model(), torch.rand(1, 3, 64, 64)), size=(400, 300))
w.canvas.show()
app.process_events()
img = w.canvas.render()
lit = (np.abs(img[..., :3].astype(int) - [19, 20, 24]).sum(-1) > 30).mean()
print(img.shape, round(float(lit), 3))
w.canvas.close()
"""


def test_a_real_glfw_window_under_xvfb_shows_the_network() -> None:
    import os
    import shutil
    import subprocess
    import sys

    if shutil.which("xvfb-run") is None:
        pytest.skip("xvfb-run not installed (apt-get install xvfb xauth)")
    env = {k: v for k, v in os.environ.items() if k not in ("PYOPENGL_PLATFORM", "EGL_PLATFORM")}
    proc = subprocess.run(
        ["xvfb-run", "-a", sys.executable, "-c", WINDOW_SCRIPT], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    shape, lit = proc.stdout.strip().rsplit(" ", 1)
    assert shape == "(300, 400, 4)"
    assert float(lit) > 0.15


def test_window_starts_from_a_preset_or_a_saved_view(tmp_path: Path) -> None:
    trace = capture(default_model(), torch.rand(1, 3, 64, 64))
    side = ViewerWindow(trace, size=(320, 200), backend="egl", camera="side")
    assert side.camera.azimuth % 360 == 270.0
    side.camera.orbit(12, 3)
    side.save_camera(tmp_path / "view.json")
    again = ViewerWindow(trace, size=(320, 200), backend="egl", camera=str(tmp_path / "view.json"))
    assert again.camera.to_dict() == side.camera.to_dict()
    side.renderer.delete()
    again.renderer.delete()
    with pytest.raises(Viz3dError, match="camera file not found"):
        ViewerWindow(trace, size=(320, 200), backend="egl", camera=str(tmp_path / "missing.json"))


def test_w_in_orbit_mode_switches_to_the_weights_view_and_back(window: ViewerWindow) -> None:
    key(window, "W")
    assert window.showing == "weights"
    conv1 = window.trace.node("conv1")
    assert conv1.display_rgb and conv1.tiles == 16
    assert torch.equal(conv1.display.reshape(16, 3, 5, 5), conv1.module.weight.detach())
    slab = window.layout.slab(conv1.id)
    window.fly_to(window.focus_on_slab(slab), cut_at=slab)
    window.clock.t += 1.0  # type: ignore[attr-defined]
    window.step(0.01)
    pos = tuple(pixel_of(window, slab.tile_center(4)))
    ev = window.canvas.events
    ev.mouse_move(pos=pos, buttons=[])
    assert "filter 4" in window.hover_text and "RGB" in window.hover_text
    ev.mouse_press(pos=pos, button=1)
    ev.mouse_release(pos=pos, button=1)
    assert window.selection is not None and window.selection[:2] == (conv1.id, 4)
    key(window, "W")
    assert window.showing == "activations" and not window.trace.node("conv1").display_rgb


def test_b_shows_histograms_and_flags(window: ViewerWindow) -> None:
    key(window, "B")
    assert window.show_stats and window.renderer._chart_count > 0
    stats = window.statistics()
    conv1 = window.trace.node("conv1")
    assert sum(stats[conv1.id].act_hist.counts) == conv1.tensor.numel()
    key(window, "B")
    assert window.renderer._chart_count == 0


def test_minimap_click_flies_to_the_layer(window: ViewerWindow) -> None:
    window.canvas.set_current()
    window.on_draw()
    mini = window.minimap()
    target = window.trace.node("block.conv2").id
    gnode = next(n for n in mini.graph.nodes if target in n.members)
    x0, y0, x1, y1 = mini._rect(gnode.id)
    pos = (mini.position[0] + (x0 + x1) / 2, mini.position[1] + (y0 + y1) / 2)
    assert mini.node_at(*pos) == target
    calls: list[int] = []
    original = window.fly_to_hit
    window.fly_to_hit = lambda hit: calls.append(hit.node_id) or original(hit)  # type: ignore[method-assign]
    try:
        ev = window.canvas.events
        ev.mouse_press(pos=pos, button=1)
        ev.mouse_release(pos=pos, button=1)
    finally:
        del window.fly_to_hit
    assert calls == [target]
    assert window.flight is not None and window.renderer.cut_z < float("inf")
    window.clock.t += 1.0  # type: ignore[attr-defined]
    window.step(0.01)
    assert window.camera_node() == target


def test_viz3d_demo_opens_a_window_and_draws(tmp_path: Path) -> None:
    import os
    import shutil
    import subprocess
    import sys

    if shutil.which("xvfb-run") is None:
        pytest.skip("xvfb-run not installed (apt-get install xvfb xauth)")
    env = {k: v for k, v in os.environ.items() if k not in ("PYOPENGL_PLATFORM", "EGL_PLATFORM")}
    cmd = [
        sys.executable,
        "-m",
        "viz3d.cli",
        "demo",
        "--exit-after-first-frame",
        "--select",
        "conv3:5",
        "--connections",
        "graph,rf",
    ]
    proc = subprocess.run(["xvfb-run", "-a", *cmd], env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "first frame" in proc.stderr
    assert not list(tmp_path.iterdir())  # a window, not a PNG


def test_n_in_the_weights_view_switches_filter_ranges(window: ViewerWindow) -> None:
    key(window, "W")
    try:
        conv1 = window.trace.node("conv1")
        layer = window.renderer.layer_for(conv1.id)
        assert conv1.display_norm == "channel"
        key(window, "N")
        assert window.trace.node("conv1").display_norm == "layer"
        assert window.renderer.layer_for(conv1.id) is layer  # updated in place, no new textures
        key(window, "N")
        assert window.trace.node("conv1").display_norm == "channel"
    finally:
        key(window, "W")
