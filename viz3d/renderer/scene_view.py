"""A session shown by a renderer: subscribes to the session and keeps a SceneRenderer in step.

Session signals only mark what is stale; :meth:`SceneView.sync` applies it
in the view's own GL context just before a draw or a pick. So one action
that changes several things costs one update, GL work never runs in another
front end's context, and the renderer never decides anything: every setting
comes from the session. When the shown network changes structure the
renderer is rebuilt from the session's options, so a rebuild keeps every
setting (colormap, normalization, connection kinds and budget, texture
format, upload path, labels, statistics, selection).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from viz3d.renderer.scene_renderer import SceneRenderer
from viz3d.scene.picking import PickHit
from viz3d.session.session import Session

# What each session signal makes stale (the signals not listed only need a redraw).
_STALE = {
    "scene": {"scene"},
    "values": {"values", "prediction"},
    "layout": {"layout", "prediction"},
    "colormap": {"colormap"},
    "normalization": {"normalization"},
    "labels": {"labels"},
    "connections": {"connections"},
    "selection": {"highlight", "prediction"},
    "stats": {"stats"},
    "prediction": {"prediction"},
}


class SceneView:
    """The GL side of one session in one context (a window's, or the offscreen canvas)."""

    def __init__(self, session: Session, canvas: Any, max_texture_size: int | None = None) -> None:
        self.session = session
        self.canvas = canvas
        self._max_texture_size = max_texture_size
        self._stale: set[str] = {"scene"}
        self.renderer: SceneRenderer | None = None
        self.builds = 0  # renderers built so far (caches of derived pictures key on it)
        self._pick_buffer: Any = None
        # Set by the front end while the view moves (a drag, a flight, held keys): frames are then drawn
        # without the prefilter, and the still frame after with it.
        self.moving = False
        self._handlers: list[tuple[Any, Callable[[], object]]] = []
        for signal_name, stale in _STALE.items():
            signal = getattr(session.events, signal_name)
            handler = self._marker(stale)
            signal.connect(handler)
            self._handlers.append((signal, handler))

    def _marker(self, stale: set[str]) -> Callable[[], None]:
        def mark() -> None:
            self._stale |= stale

        return mark

    def sync(self) -> SceneRenderer:
        """Apply what changed in the session since the last sync (the canvas's context is made current)."""
        from vispy import gloo

        if gloo.get_current_canvas() is not self.canvas:
            # Only when needed: making a canvas current makes gloo rebind framebuffer 0 at its next
            # flush, which would send a draw into an offscreen framebuffer to the window instead.
            self.canvas.set_current()
        s, stale = self.session, self._stale
        self._stale = set()
        if "scene" in stale or self.renderer is None:
            if self.renderer is not None:
                self.renderer.delete()
            o = s.options
            self.renderer = SceneRenderer(
                s.trace,
                s.layout,
                colormap=o.colormap,
                normalization=o.normalization,
                texture_format=o.texture_format,
                texture_budget=o.texture_budget,
                labels=o.labels,
                upload=o.upload,
                max_texture_size=self._max_texture_size,
            )
            self.renderer.initialize()
            self.builds += 1
            stale = {"connections", "highlight", "stats", "prediction"}
        r = self.renderer
        if "values" in stale:
            r.update_activations(s.trace)
        if "layout" in stale:
            r.set_layout(s.layout)
        if "colormap" in stale:
            r.set_colormap(s.options.colormap)
        if "normalization" in stale:
            r.set_normalization(s.options.normalization)
        if "labels" in stale:
            r.show_labels = s.options.labels
        if "connections" in stale:
            r.connection_budget = s.options.connection_budget
            r.set_connections(s.connection_sets())
        if "highlight" in stale:
            r.set_highlight(s.selection_outline())
        if "stats" in stale:
            overlay = s.health_overlay()
            if overlay is None:
                r.set_charts(np.zeros((0, 3)), np.zeros((0, 3)), np.zeros((0, 3)))
                r.set_flags(np.zeros((0, 3)), np.zeros((0, 4)))
            else:
                r.set_charts(overlay.bars_lo, overlay.bars_hi, overlay.bars_rgb)
                r.set_flags(overlay.segments, overlay.segment_rgba)
        if "prediction" in stale:
            r.set_prediction(s.shown_prediction(), s.answer_panel(), s.selected_class())
        r.cut_z = s.cut_z
        return r

    def draw(
        self,
        size: tuple[int, int],
        pixel_scale: float = 1.0,
        camera: Any = None,
        keep_out: Sequence[tuple[float, float, float, float]] = (),
    ) -> None:
        """Draw the session's scene from its camera (or ``camera``); no label under a ``keep_out`` rectangle."""
        renderer = self.sync()
        cam = camera or self.session.camera
        vp = cam.view_projection(size[0] / size[1])
        # A drag, held keys or a flight (the front end says so), or the session's own flight: frames skip
        # the prefilter and may share label decisions.
        moving = self.moving or (camera is None and self.session.flight is not None)
        renderer.draw(vp, size, pixel_scale=pixel_scale, eye=cam.eye, keep_out=keep_out, moving=moving)

    def pick(self, size: tuple[int, int], x: int, y: int) -> PickHit | None:
        """What is drawn at device pixel (x, y) (y down) of a ``size`` view."""
        from viz3d.renderer.picking import PickBuffer

        renderer = self.sync()
        if self._pick_buffer is None:
            self._pick_buffer = PickBuffer()
        return self._pick_buffer.pick(renderer, self.session.view_projection(size[0] / size[1]), size, x, y)

    def delete(self) -> None:
        """Unsubscribe and free every GL object (the canvas's context must still exist)."""
        for signal, handler in self._handlers:
            signal.disconnect(handler)
        self._handlers = []
        self.canvas.set_current()
        if self.renderer is not None:
            self.renderer.delete()
        if self._pick_buffer is not None:
            self._pick_buffer.delete()
            self._pick_buffer = None
