"""The interactive window: the network under an orbit camera.

Drag to rotate around the network, scroll to zoom, right-drag (or
Shift-drag) to pan, Home to reset, Q or Esc to close. The window redraws only
when something changed: no timer runs while it is idle.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from viz3d.capture.trace import Trace
from viz3d.layout import layout_trace
from viz3d.render.context import Backend, make_canvas
from viz3d.render.scene_renderer import SceneRenderer
from viz3d.scene.camera import OrbitCamera, frame_points

ORBIT_DEGREES_PER_PIXEL = 0.3
ZOOM_PER_WHEEL_STEP = 0.88


class ViewerWindow:
    """A window (or, with ``backend="egl"``, a hidden canvas for tests) showing one Trace."""

    def __init__(
        self,
        trace: Trace,
        *,
        size: tuple[int, int] = (1440, 900),
        colormap: str = "viridis",
        normalization: str = "layer",
        title: str = "viz3d",
        backend: Backend = "glfw",
    ) -> None:
        self.trace = trace
        self.layout = layout_trace(trace)
        self.renderer = SceneRenderer(trace, self.layout, colormap=colormap, normalization=normalization)
        show = backend != "egl"
        config = {"samples": 4} if show else {}
        self.canvas = make_canvas(backend, size, show=show, title=title, config=config)
        self.camera = self.home_camera()
        self._drag_last: np.ndarray | None = None
        c = self.canvas
        c.events.draw.connect(self.on_draw)
        c.events.resize.connect(self.on_resize)
        c.events.mouse_press.connect(self.on_mouse_press)
        c.events.mouse_release.connect(self.on_mouse_release)
        c.events.mouse_move.connect(self.on_mouse_move)
        c.events.mouse_wheel.connect(self.on_mouse_wheel)
        c.events.key_press.connect(self.on_key_press)

    # --- camera -------------------------------------------------------------
    @property
    def size(self) -> tuple[int, int]:
        w, h = self.canvas.size
        return max(1, int(w)), max(1, int(h))

    def home_camera(self) -> OrbitCamera:
        """The overview camera framing the whole network."""
        w, h = self.size
        return frame_points(self.layout.corner_points(), "overview", aspect=w / h)

    def view_projection(self) -> np.ndarray:
        w, h = self.size
        return self.camera.view_projection(w / h)

    # --- events ---------------------------------------------------------------
    def on_draw(self, event: Any = None) -> None:
        from vispy import gloo

        fw, fh = (int(v) for v in self.canvas.physical_size)
        gloo.set_viewport(0, 0, fw, fh)
        scale = fw / self.size[0]
        self.renderer.draw(self.view_projection(), (fw, fh), pixel_scale=scale)

    def on_resize(self, event: Any) -> None:
        self.canvas.update()

    def on_mouse_press(self, event: Any) -> None:
        self._drag_last = np.asarray(event.pos, float)

    def on_mouse_release(self, event: Any) -> None:
        self._drag_last = None

    def on_mouse_move(self, event: Any) -> None:
        if self._drag_last is None or not event.is_dragging:
            return
        pos = np.asarray(event.pos, float)
        dx, dy = pos - self._drag_last
        self._drag_last = pos
        buttons = set(event.buttons or [])
        modifiers = {getattr(m, "name", str(m)) for m in (event.modifiers or ())}
        if 2 in buttons or 3 in buttons or "Shift" in modifiers:
            h = self.size[1]
            self.camera.pan(dx / h, dy / h)
        else:
            self.camera.orbit(dx * ORBIT_DEGREES_PER_PIXEL, dy * ORBIT_DEGREES_PER_PIXEL)
        self.canvas.update()

    def on_mouse_wheel(self, event: Any) -> None:
        steps = float(event.delta[1])
        self.camera.zoom(ZOOM_PER_WHEEL_STEP**steps)
        self.canvas.update()

    def on_key_press(self, event: Any) -> None:
        name = getattr(event.key, "name", None) if event.key is not None else None
        if name in ("Escape", "Q"):
            self.canvas.close()
        elif name == "Home":
            self.camera = self.home_camera()
            self.canvas.update()

    def run(self) -> None:
        """Show the window and run the event loop until it is closed."""
        from vispy import app

        self.canvas.show()
        app.run()
