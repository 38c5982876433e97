"""Running the key table's actions, shared by every interactive front end (window, notebook widget).

An action is the front end's own (quitting, screenshots, picking) or else a
session method. Slow ones (a re-capture, a rebuild) first put "working…" on
screen; a ``Viz3dError`` an action raises (a failed capture, a refused file)
becomes the HUD's status line instead of a traceback; Q asks once before
closing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from viz3d.app.navigation import Navigator
from viz3d.errors import Viz3dError
from viz3d.scene.picking import PickHit
from viz3d.session.session import Session

QUIT_CONFIRM_SECONDS = 3.0  # a second Q within this closes the view
CAMERA_FILE = "viz3d-camera.json"
TOUR_FILE = "viz3d-tour.json"


class KeyActions:
    """Mixed into a front end that has ``session`` and ``actions`` and shows frames."""

    session: Session
    actions: dict[str, Callable[[], object]]
    output_dir: Path
    nav: Navigator
    pick: Callable[[Any], PickHit | None]
    screenshot: Callable[[int], Path]
    quit_prompt = "press Q again to quit"
    _quit_asked = -float("inf")

    def front_end_actions(self) -> dict[str, Callable[[], object]]:
        """The key table's actions a front end runs itself (files go to ``output_dir``)."""
        s = self.session
        return {
            "quit": self.ask_quit,
            "save_tour": lambda: s.save_tour(self.output_dir / TOUR_FILE),
            "screenshot": lambda: self.screenshot(1),
            "screenshot_2x": lambda: self.screenshot(2),
            "save_camera": lambda: s.save_camera(self.output_dir / CAMERA_FILE),
            "fly_to_cursor": lambda: self.nav.fly_to_hit(self.pick(self.nav.mouse)),
            "toggle_block_at_cursor": self.toggle_block_at_cursor,
            "close_block_at_cursor": lambda: self.toggle_block_at_cursor(close=True),
        }

    def toggle_block_at_cursor(self, close: bool = False) -> None:
        """O: open (or close) the block under the cursor, else the selected layer's; Shift-O: close its block."""
        hit = self.pick(self.nav.mouse)
        self.session.toggle_block(hit.node_id if hit is not None else None, close=close)

    def _show_working(self) -> None:
        """Put a frame on screen now (the front end's own way); by default nothing."""

    def _close_view(self) -> bool:
        """Close the front end after a confirmed Q; False where it cannot close itself."""
        return False

    def dispatch(self, action: str, argument: str | None = None, slow: bool = False) -> None:
        """Run a key-table action: the front end's own or the session's."""
        handler = self.actions.get(action) or getattr(self.session, action)
        if slow:
            self.session.say("working…")
            self._show_working()
        self.guarded(handler, *([] if argument is None else [argument]))

    def guarded(self, action: Callable[..., object], *args: Any) -> None:
        """Run an input's action; its Viz3dError goes to the HUD, not a traceback."""
        try:
            action(*args)
        except Viz3dError as exc:
            self.session.say(str(exc))

    def ask_quit(self) -> None:
        """Q: the first press asks, a second within a few seconds closes."""
        now = self.session.clock()
        if now - self._quit_asked <= QUIT_CONFIRM_SECONDS and self._close_view():
            return
        self._quit_asked = now
        self.session.say(self.quit_prompt)
