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
