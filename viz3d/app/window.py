"""The fly-through viewer window: a canvas, its events, the frame, screenshots and an idle-aware loop.

Everything the user changes lives in the :class:`~viz3d.session.Session`;
this window turns input into session actions — keys through the one key
table (:func:`viz3d.session.keys.key_table`), the pointer through a
:class:`~viz3d.app.navigation.Navigator` — and draws the session through a
:class:`~viz3d.renderer.scene_view.SceneView` and a :class:`~viz3d.app.hud.Hud`.

It redraws only when the session changes. A timer runs only while a flight
or a held key moves the camera, and the loop sleeps in ``glfw.wait_events_timeout``
otherwise, so an idle window costs no CPU.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from viz3d.app.actions import KeyActions
from viz3d.app.hud import Hud
from viz3d.app.navigation import Navigator
from viz3d.app.search_keys import search_key
from viz3d.renderer.context import Backend, make_canvas
from viz3d.renderer.scene_renderer import SceneRenderer
from viz3d.renderer.scene_view import SceneView
from viz3d.scene import keymap
from viz3d.scene.picking import PickHit
from viz3d.session.keys import key_table
from viz3d.session.session import Session

IDLE_WAKE_SECONDS = 1.0  # longest sleep of an idle window (a status message may expire sooner)
RESET_HOVER = frozenset({"scene", "values", "layout"})


class ViewerWindow(KeyActions):
    """A window (or, with ``backend="egl"``, a hidden canvas for tests) showing one session.

    Parameters
    ----------
    session
        What to show; the window drives it and draws it.
    title, backend
        Window title; ``"glfw"`` for a window, ``"egl"`` for a hidden canvas.
    size
        Window size in pixels (default: the session's).
    output_dir
        Where screenshots and the camera file (K) go.
    """

    def __init__(
        self,
        session: Session,
        *,
        title: str = "viz3d",
        backend: Backend = "glfw",
        size: tuple[int, int] | None = None,
        output_dir: str | Path = ".",
    ) -> None:
        from vispy import app

        self.session = session
        self.output_dir = Path(output_dir)
        show = backend != "egl"
        config = {"samples": 4} if show else {}
        self.canvas = make_canvas(backend, size or session.size, show=show, title=title, config=config)
        session.resize(self.size)
        self.view = SceneView(session, self.canvas)
        self.keys = key_table()
        self.hud = Hud(session, self.view, self.keys)
        self.nav = Navigator(
            session, lambda: self.size, self.pick, lambda x, y: self.hud.minimap_node_at(x, y, self.size)
        )
        self.actions = self.front_end_actions()
        self.closed = False
        self._frame_times: list[float] = []
        self._last_draw = 0.0
        self._last_tick = time.perf_counter()
        self.timer = app.Timer("auto", connect=self._on_timer, start=False)
        session.events.changed.append(self._on_session_change)
        ev = self.canvas.events
        ev.draw.connect(self.on_draw)
        ev.resize.connect(self.on_resize)
        ev.mouse_press.connect(lambda e: self.nav.press(e.pos, e.button, e.modifiers))
        ev.mouse_release.connect(self.on_mouse_release)
        ev.mouse_move.connect(self.on_mouse_move)
        ev.mouse_wheel.connect(lambda e: self.nav.wheel(e.pos, float(e.delta[1])))
        ev.mouse_double_click.connect(lambda e: self.guarded(self.nav.double_click, e.pos))
        ev.key_press.connect(self.on_key_press)
        ev.key_release.connect(self.on_key_release)
        ev.close.connect(self.on_close)

    # --- geometry -------------------------------------------------------------------
    @property
    def size(self) -> tuple[int, int]:
        """Logical size of the view in pixels."""
        w, h = self.canvas.size
        return max(1, int(w)), max(1, int(h))

    @property
    def physical_size(self) -> tuple[int, int]:
        w, h = self.canvas.physical_size
        return max(1, int(w)), max(1, int(h))

    @property
    def renderer(self) -> SceneRenderer:
        """The scene renderer, up to date with the session."""
        return self.view.sync()

    def pick(self, pos: Sequence[float]) -> PickHit | None:
        """What is under window position ``pos`` (logical pixels, y down)."""
        scale = self.physical_size[0] / self.size[0]
        return self.view.pick(self.physical_size, int(pos[0] * scale), int(pos[1] * scale))

    # --- session → frame --------------------------------------------------------------
    def _on_session_change(self, name: str) -> None:
        if self.closed:
            return
        if name in RESET_HOVER:
            self.nav.hover, self.hud.hover_text, self.hud.minimap_hover = None, "", None
        if self.session.animating:
            self._animate()
        self.canvas.update()

    def on_resize(self, event: Any = None) -> None:
        self.session.resize(self.size)
        self.canvas.update()

    def on_draw(self, event: Any = None) -> None:
        from vispy import gloo

        if self.closed:
            return
        now = time.perf_counter()
        if self._last_draw:
            self._frame_times = [now - self._last_draw, *self._frame_times][:30]
        self._last_draw = now
        physical = self.physical_size
        unit = physical[0] / self.size[0]
        self.view.sync()  # the inset reads the renderer's ranges
        self.hud.prepare(self.size, physical, self.fps())  # before the scene: labels keep clear of the panels
        self.view.moving = self.timer.running or self.nav.dragging
        self.view.draw(physical, pixel_scale=unit, keep_out=self.hud.rects(unit))
        self.hud.draw(physical, unit)
        gloo.set_viewport(0, 0, *physical)

    def fps(self) -> float | None:
        """Frames per second while something moves (None when idle: nothing is redrawn then)."""
        if not self.timer.running:
            return None
        recent = [t for t in self._frame_times[:10] if 0 < t < 0.5]
        return 1.0 / float(np.median(recent)) if len(recent) >= 3 else None

    # --- animation: only while something moves -------------------------------------------
    def _animate(self) -> None:
        if not self.timer.running:
            self._last_tick = time.perf_counter()
            self.timer.start()

    def _on_timer(self, event: Any = None) -> None:
        now = time.perf_counter()
        dt, self._last_tick = min(now - self._last_tick, 0.1), now
        flying = self.session.advance()
        moving = self.nav.step(dt)
        if not (flying or moving):
            self.timer.stop()
            self.canvas.update()  # a last frame without the fps counter

    # --- input ---------------------------------------------------------------------
    def on_mouse_move(self, event: Any) -> None:
        modifiers = {getattr(m, "name", str(m)) for m in (event.modifiers or ())}
        if self.nav.move(event.pos, modifiers) and self.hud.hover(self.nav.hover, self.nav.hover_on_minimap):
            self.canvas.update()

    def on_mouse_release(self, event: Any) -> None:
        dragged = self.nav.dragging
        self.guarded(self.nav.release, event.pos)
        if dragged:
            self.canvas.update()  # the still frame, prefiltered

    def on_key_press(self, event: Any) -> None:
        name = getattr(event.key, "name", None) if event.key is not None else None
        if name is None or search_key(self.session, name, getattr(event, "text", "") or ""):
            return
        modifiers = {getattr(m, "name", str(m)) for m in (event.modifiers or ())}
        mode, shift, control = self.session.camera.mode, "Shift" in modifiers, "Control" in modifiers
        found = keymap.binding_for(name, mode, shift, self.keys, control)
        if found is None:
            return
        binding, action = found
        if binding.held:
            self.nav.held.add(action)
            self._animate()
        else:
            self.dispatch(action, binding.argument, binding.slow)

    def draw_now(self) -> None:
        """Draw and show a frame at once, not at the event loop's next turn."""
        if self.closed:
            return
        self.canvas.set_current()
        self.on_draw()
        self.canvas.swap_buffers()

    def _show_working(self) -> None:
        self.draw_now()

    def _close_view(self) -> bool:
        self.canvas.close()
        return True

    def on_key_release(self, event: Any) -> None:
        name = getattr(event.key, "name", None) if event.key is not None else None
        for binding in self.keys:
            if binding.held and name in binding.keys:
                self.nav.held.discard(binding.action)

    # --- output ----------------------------------------------------------------------
    def screenshot(self, scale: int = 1) -> Path:
        """Save the 3D view (without panels) as a PNG at ``scale`` × the window size, lines and text scaled too."""
        from viz3d.app.screenshot import save_screenshot

        self.view.moving = False  # a still: prefiltered
        path = save_screenshot(self.view, self.canvas, self.size, self.physical_size, scale, self.output_dir)
        self.session.say(f"saved {path}")
        return path

    # --- life cycle --------------------------------------------------------------------
    def on_close(self, event: Any = None) -> None:
        """Free the scene's GL objects while the context still exists (CUDA registrations first)."""
        if self.closed:
            return
        self.timer.stop()
        self.closed = True
        self.session.events.changed.remove(self._on_session_change)
        self.canvas.set_current()
        self.view.delete()
        self.hud.delete()

    def _wait_seconds(self) -> float:
        """How long the loop may sleep: until the timer's next tick, a message expiring, or a while."""
        if self.timer.running:
            return 1.0 / 60.0
        until = self.session.message_until - self.session.clock()
        return max(0.0, min(IDLE_WAKE_SECONDS, until if until > 0 else IDLE_WAKE_SECONDS))

    def run(self) -> None:
        """Show the window and handle events until it is closed, sleeping whenever nothing moves."""
        import glfw
        from vispy import app

        self.canvas.show()
        application = app.use_app()
        message_shown = False
        while not self.closed:
            glfw.wait_events_timeout(self._wait_seconds())
            showing = bool(self.session.current_message())
            if message_shown and not showing:
                self.canvas.update()  # the status message expired: take it off the HUD
            message_shown = showing
            application.process_events()
