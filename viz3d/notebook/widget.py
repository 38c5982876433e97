"""The viewer as a Jupyter widget: jupyter_rfb's remote frame buffer fed by a :class:`NotebookView`.

A frame is rendered only when something changed: the session's catch-all
signal, an input that changes the HUD, a resize, or a flight, tour or held
key still moving (each frame then asks for the next, paced by the browser's
confirmations). Where widgets cannot run (a static render of the notebook,
nbconvert, GitHub), the output keeps ``_repr_png_``: the offscreen still of
the current view. Needs ``viz3d[notebook]``.

While a cell runs (a training loop under ``viz3d.watch``) the kernel's event
loop waits: jupyter_rfb's scheduled draws, the browser's frame confirmations
and even its "a view is visible" message only arrive after the cell. So the
loop's own calls (:meth:`Viz3dWidget.flush`, from each ``step()``) push frames
themselves, paced on the kernel's side instead of the browser's: at most one
per ``busy_min_interval`` and never more than ``busy_frame_share`` of the
cell's time, each showing the newest state (snapshots in between are
skipped, not queued). The browser plays them as they come; after the cell,
jupyter_rfb's own pacing takes over again.
"""

from __future__ import annotations

import asyncio
import io
import time
from pathlib import Path
from typing import Any

import numpy as np
from jupyter_rfb import RemoteFrameBuffer
from PIL import Image

from viz3d.notebook.view import NotebookView
from viz3d.session.navigation import checked_size
from viz3d.session.session import Session

MESSAGE_GRACE_SECONDS = 0.05  # redraw just after a status message expired, to take it off the HUD
BUSY_FRAME_SHARE = 0.2  # while a cell trains, rendering takes at most this share of its time
BUSY_MIN_INTERVAL = 1 / 15  # and frames come at most this often (the browser decodes each one)


def png_bytes(image: np.ndarray) -> bytes:
    """An RGBA or RGB image as PNG bytes (opaque: the frames are)."""
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image[..., :3])).save(buffer, format="PNG")
    return buffer.getvalue()


class Viz3dWidget(RemoteFrameBuffer):
    """A session shown in a notebook cell with the window's mouse and key controls.

    ``widget.session`` is the :class:`~viz3d.session.Session`: fly to a layer,
    select a unit, set the colormap or load a tour from Python, and the widget follows.
    ``busy_frame_share`` and ``busy_min_interval`` pace the frames :meth:`flush`
    pushes while a cell keeps the kernel busy.
    """

    busy_frame_share = BUSY_FRAME_SHARE
    busy_min_interval = BUSY_MIN_INTERVAL

    def __init__(
        self,
        session: Session,
        size: tuple[int, int] = (960, 600),
        output_dir: str | Path = ".",
        max_pixel_ratio: float = 1.0,
    ) -> None:
        w, h = checked_size(size)
        super().__init__(css_width=f"{w}px", css_height=f"{h}px", resizable=True)
        self.view = NotebookView(session, (w, h), output_dir, max_pixel_ratio)
        self.view.on_quit = self.close
        self.view.show_now = lambda: self.send_frame(self.view.frame())
        self._expiry: asyncio.TimerHandle | None = None
        self._stale = True  # the session changed since the last frame (nothing drawn yet: it has)
        self._next_push = 0.0  # perf_counter time before which flush() sends nothing
        self.frames_rendered = 0
        session.events.changed.append(self._on_session_change)

    @property
    def session(self) -> Session:
        """The session shown: change it from Python and the widget redraws."""
        return self.view.session

    def _on_session_change(self, name: str) -> None:
        self.request_draw()

    def request_draw(self) -> None:
        """Ask for a frame: jupyter_rfb draws it when the loop and the browser are ready, or :meth:`flush` does."""
        self._stale = True
        super().request_draw()

    def flush(self, force: bool = False) -> bool:
        """From a running cell: send a frame of the newest state now if one is due; True when one was sent.

        Due means the session changed since the last frame and the pacing
        allows (``force`` skips the pacing: the loop's last state). Never waits
        for the browser, whose confirmations cannot arrive while the cell runs.
        """
        if not self._stale or self.view.closed:
            return False
        start = time.perf_counter()
        if not force and start < self._next_push:
            return False
        self.send_frame(self.get_frame())
        spent = time.perf_counter() - start
        self._next_push = start + max(self.busy_min_interval, spent / self.busy_frame_share)
        return True

    def handle_event(self, event: dict[str, Any]) -> None:
        """jupyter_rfb's entry for browser events: pointer, wheel, keys, resize, close."""
        if (event.get("type") or event.get("event_type")) == "close":
            self._release()
        elif self.view.handle_event(event):
            self.request_draw()

    def get_frame(self) -> np.ndarray:
        """The next frame (jupyter_rfb calls this when a draw was requested and the browser is ready)."""
        self._stale = False
        if self.view.tick():
            self.request_draw()  # still moving: the next frame follows once the browser confirms this one
        frame = self.view.frame()
        self.frames_rendered += 1
        self._expire_message_later()
        return frame

    def _expire_message_later(self) -> None:
        """While a status message shows, redraw when it expires (nothing else would)."""
        s = self.session
        if self._expiry is not None or not s.current_message():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no event loop (a script, a test): the next frame drops the message anyway
        self._expiry = loop.call_later(s.message_until - s.clock() + MESSAGE_GRACE_SECONDS, self._message_expired)

    def _message_expired(self) -> None:
        self._expiry = None
        self.request_draw()

    # --- still images -------------------------------------------------------------------
    def still(self) -> np.ndarray:
        """The offscreen render of the current view, without panels: (H, W, 4) uint8 RGBA."""
        return self.view.still()

    def snapshot(self, pixel_ratio: float | None = None) -> Any:
        """jupyter_rfb's snapshot (an IPython display object), holding the still rather than the last frame."""
        snap = super().snapshot()
        snap.data = self.still()[..., :3]
        return snap

    def _repr_png_(self) -> bytes:
        """The still as PNG: what a notebook keeps where the widget cannot run."""
        return png_bytes(self.still())

    # --- life cycle -----------------------------------------------------------------------
    def _release(self) -> None:
        if self.view.closed:
            return
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        self.session.events.changed.remove(self._on_session_change)
        self.view.close()
