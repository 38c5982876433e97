"""The viewer's camera controls, driven through vispy's event system on a hidden EGL canvas."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from viz3d.app.window import ORBIT_DEGREES_PER_PIXEL, ZOOM_PER_WHEEL_STEP, ViewerWindow
from viz3d.capture import capture
from viz3d.models.default_net import default_model

pytestmark = pytest.mark.gl


@pytest.fixture(scope="module")
def window() -> Any:
    trace = capture(default_model(), torch.rand(1, 3, 64, 64))
    return ViewerWindow(trace, size=(320, 200), backend="egl")


def _drag(window: ViewerWindow, start: tuple[float, float], end: tuple[float, float], button: int = 1) -> None:
    ev = window.canvas.events
    ev.mouse_press(pos=start, button=button)
    ev.mouse_move(pos=end, button=button, buttons=[button], press_event=ev.mouse_press(pos=start, button=button))
    ev.mouse_release(pos=end, button=button)


def test_left_drag_orbits_by_the_documented_rate(window: ViewerWindow) -> None:
    window.camera = window.home_camera()
    az, el = window.camera.azimuth, window.camera.elevation
    _drag(window, (100, 100), (140, 90))
    assert np.isclose((window.camera.azimuth - az) % 360, 40 * ORBIT_DEGREES_PER_PIXEL)
    assert np.isclose(window.camera.elevation - el, -10 * ORBIT_DEGREES_PER_PIXEL)


def test_wheel_zooms_and_right_drag_pans(window: ViewerWindow) -> None:
    window.camera = window.home_camera()
    d = window.camera.distance
    window.canvas.events.mouse_wheel(pos=(100, 100), delta=(0, 2))
    assert np.isclose(window.camera.distance, d * ZOOM_PER_WHEEL_STEP**2)
    target = window.camera.target.copy()
    _drag(window, (100, 100), (150, 100), button=2)
    moved = window.camera.target - target
    right = window.camera.view_matrix()[0, :3]
    assert np.dot(moved, right) < 0  # content follows the mouse: the target moves left
    assert np.linalg.norm(moved - np.dot(moved, right) * right) < 1e-6


def test_home_key_resets_and_the_frame_draws(window: ViewerWindow) -> None:
    from vispy import gloo

    from viz3d.render.offscreen import Framebuffer

    window.camera.orbit(80, 30)

    class Key:
        name = "Home"

    window.on_key_press(type("E", (), {"key": Key()})())
    home = window.home_camera()
    assert np.isclose(window.camera.azimuth, home.azimuth) and np.isclose(window.camera.distance, home.distance)
    window.canvas.set_current()
    fbo = Framebuffer().bind_size((320, 200))
    with fbo:
        window.renderer.draw(window.view_projection(), (320, 200))
        img = gloo.read_pixels((0, 0, 320, 200))
    assert img[..., :3].std() > 10


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
