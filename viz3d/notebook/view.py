"""A session rendered offscreen for a notebook, driven by jupyter_rfb's event dicts (no widget code here).

Input goes to the same places as the window's: the pointer through a
:class:`~viz3d.app.navigation.Navigator`, keys through the one key table
(:func:`viz3d.session.keys.key_table`), the HUD and inset through a
:class:`~viz3d.app.hud.Hud` drawn into the frame. Events use jupyter_rfb's
spec: ``type`` (``pointer_down``, ``pointer_move``, ``wheel``, ``key_down``,
``resize``...), positions ``x``, ``y`` in logical pixels, ``button`` (1 left,
2 right, 3 middle), ``modifiers`` and ``key`` as the browser names them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from viz3d.app.actions import KeyActions
from viz3d.app.hud import Hud
from viz3d.app.navigation import Navigator
from viz3d.app.window import RESET_HOVER
from viz3d.export.offscreen import OffscreenView
from viz3d.notebook.keys import vispy_key
from viz3d.scene import keymap
from viz3d.scene.picking import PickHit
from viz3d.session.keys import key_table
from viz3d.session.navigation import checked_size
from viz3d.session.session import Session

# Browsers report the wheel in pixels; one notch of a mouse wheel is about 100 of them.
WHEEL_PX_PER_STEP = 100.0
STILL_SSAA = 2  # the still image is supersampled: it is what a saved notebook keeps


class NotebookView(KeyActions):
    """One session as a notebook shows it: frames of ``size`` logical pixels, with the window's controls.

    Parameters
    ----------
    session
        What to show and drive.
    size
        (width, height) in logical (CSS) pixels until the browser reports its size.
    output_dir
        Where screenshots (P), the camera (K) and the tour (Ctrl-S) are saved.
    max_pixel_ratio
        Frames are rendered at ``min(device pixel ratio, this)`` × the logical size:
        1 keeps software GL interactive; 2 is sharp on a HiDPI screen.
    """

    quit_prompt = "press Q again to close this view"

    def __init__(
        self, session: Session, size: tuple[int, int], output_dir: str | Path = ".", max_pixel_ratio: float = 1.0
    ) -> None:
        self.session = session
        self.output_dir = Path(output_dir)
        self.logical = checked_size(size)
        self.max_pixel_ratio = max_pixel_ratio
        self.offscreen = OffscreenView(session, self.logical)
        self.keys = key_table()
        self.hud = Hud(session, self.offscreen.view, self.keys)
        self.nav = Navigator(
            session, lambda: self.logical, self.pick, lambda x, y: self.hud.minimap_node_at(x, y, self.logical)
        )
        self.actions = self.front_end_actions()
        self.on_quit: Callable[[], object] | None = None  # the widget closes itself on a confirmed Q
        self.show_now: Callable[[], object] = lambda: None  # puts a frame on screen before a slow action
        self.closed = False
        self._last_tick: float | None = None
        session.events.changed.append(self._on_session_change)

    # --- geometry -------------------------------------------------------------------
    @property
    def ratio(self) -> float:
        """Rendered pixels per logical pixel."""
        return self.offscreen.pixel_scale

    @property
    def physical(self) -> tuple[int, int]:
        """Size of the frames rendered, in pixels."""
        return self.offscreen.size

    def resize(self, width: float, height: float, ratio: float = 1.0) -> None:
        """The browser's view is ``width`` × ``height`` logical pixels at ``ratio`` device pixels each."""
        self.logical = (max(1, round(width)), max(1, round(height)))
        scale = max(0.25, min(float(ratio or 1.0), self.max_pixel_ratio))
        self.offscreen.pixel_scale = scale
        self.offscreen.resize((max(1, round(self.logical[0] * scale)), max(1, round(self.logical[1] * scale))))

    def pick(self, pos: Sequence[float]) -> PickHit | None:
        """What is under logical position ``pos`` (y down)."""
        w, h = self.physical
        x, y = int(pos[0] * self.ratio), int(pos[1] * self.ratio)
        return self.offscreen.pick(x, y) if 0 <= x < w and 0 <= y < h else None

    # --- frames -----------------------------------------------------------------------
    def _on_session_change(self, name: str) -> None:
        if name in RESET_HOVER:
            self.nav.hover, self.hud.hover_text, self.hud.minimap_hover = None, "", None

    @property
    def animating(self) -> bool:
        """Whether frames keep coming without input: a flight, a tour playing or a held key."""
        return self.session.animating or self.nav.moving

    def tick(self) -> bool:
        """Advance flights, the tour and held keys to now; True while something still moves."""
        now = time.perf_counter()
        dt = 0.0 if self._last_tick is None else min(now - self._last_tick, 0.1)
        moving = self.session.advance() | self.nav.step(dt)
        self._last_tick = now if moving else None
        return moving

    def frame(self) -> np.ndarray:
        """The view with its HUD and inset, as the widget streams it: (H, W, 4) uint8 RGBA."""
        self.offscreen.view.moving = self.animating or self.nav.dragging
        return self.offscreen.frame(panels=self.hud)

    def still(self) -> np.ndarray:
        """The 3D view without panels, supersampled: what a saved notebook shows."""
        self.offscreen.view.moving = False  # a still: prefiltered
        return self.offscreen.frame(ssaa=STILL_SSAA)

    # --- input ------------------------------------------------------------------------
    def handle_event(self, event: dict[str, Any]) -> bool:
        """Act on one jupyter_rfb event; True when the frame must be redrawn beyond what the session says."""
        kind = event.get("type") or event.get("event_type") or ""
        handler = getattr(self, f"_on_{kind}", None)
        if handler is None or self.closed:
            return False
        pos = (float(event.get("x", 0.0)), float(event.get("y", 0.0)))
        return bool(handler(event, pos, set(event.get("modifiers") or ())))

    def _on_resize(self, event: dict[str, Any], pos: Any, modifiers: set[str]) -> bool:
        self.resize(event["width"], event["height"], event.get("ratio") or event.get("pixel_ratio") or 1.0)
        return True

    def _on_pointer_down(self, event: dict[str, Any], pos: tuple[float, float], modifiers: set[str]) -> bool:
        self.nav.press(pos, int(event.get("button") or 1))
        return False

    def _on_pointer_up(self, event: dict[str, Any], pos: tuple[float, float], modifiers: set[str]) -> bool:
        dragged = self.nav.dragging
        self.guarded(self.nav.release, pos)
        return dragged  # after a drag: the still frame, prefiltered

    def _on_pointer_move(self, event: dict[str, Any], pos: tuple[float, float], modifiers: set[str]) -> bool:
        """Drag, or update the hover line (a redraw only when its text changed)."""
        return self.nav.move(pos, modifiers) and self.hud.hover(self.nav.hover, self.nav.hover_on_minimap)

    def _on_pointer_leave(self, event: dict[str, Any], pos: tuple[float, float], modifiers: set[str]) -> bool:
        changed = bool(self.hud.hover_text) or self.hud.minimap_hover is not None
        self.nav.hover, self.hud.hover_text, self.hud.minimap_hover = None, "", None
        return changed

    def _on_double_click(self, event: dict[str, Any], pos: tuple[float, float], modifiers: set[str]) -> bool:
        self.guarded(self.nav.double_click, pos)
        return False

    def _on_wheel(self, event: dict[str, Any], pos: tuple[float, float], modifiers: set[str]) -> bool:
        # The browser's dy grows scrolling down; the window's steps grow scrolling up (zoom in).
        self.nav.wheel(pos, -float(event.get("dy", 0.0)) / WHEEL_PX_PER_STEP)
        return False

    def _on_key_down(self, event: dict[str, Any], pos: Any, modifiers: set[str]) -> bool:
        """A key of the key table: held keys start moving the camera, the others run their action."""
        name = vispy_key(str(event.get("key", "")))
        mode = self.session.camera.mode
        found = keymap.binding_for(name, mode, "Shift" in modifiers, self.keys, "Control" in modifiers)
        if found is None:
            return False
        binding, action = found
        if binding.held:
            self.nav.held.add(action)
            return True  # the widget's frames move the camera from now on
        self.dispatch(action, binding.argument, binding.slow)
        return False

    def _on_key_up(self, event: dict[str, Any], pos: Any, modifiers: set[str]) -> bool:
        name = vispy_key(str(event.get("key", "")))
        for binding in self.keys:
            if binding.held and name in binding.keys:
                self.nav.held.discard(binding.action)
        return False

    def _show_working(self) -> None:
        self.show_now()

    def _close_view(self) -> bool:
        if self.on_quit is None:
            return False
        self.on_quit()
        return True

    def screenshot(self, scale: int = 1) -> Path:
        """Save the 3D view (without panels) as a PNG at ``scale`` × the view's size, as the window does."""
        from viz3d.app.screenshot import save_screenshot

        view = self.offscreen
        path = save_screenshot(view.view, view.canvas, self.logical, self.physical, scale, self.output_dir)
        self.session.say(f"saved {path}")
        return path

    def close(self) -> None:
        """Stop following the session and free the GL objects."""
        if self.closed:
            return
        self.closed = True
        self.session.events.changed.remove(self._on_session_change)
        self.offscreen.canvas.set_current()
        self.hud.delete()
        self.offscreen.close()
