"""The offscreen front end: a session rendered frame after frame without a window.

The scene's textures and buffers are made once and kept: each :meth:`OffscreenView.frame`
only syncs what changed in the session and draws. ``viz3d.render`` is one
frame of it; a video recorder or a notebook widget draws many. A caption
(a tour's) is drawn into the frame in the lower third, sized by the frame's
height, and no layer label sits under it.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from viz3d.renderer.captions import caption_picture, rect_of
from viz3d.renderer.offscreen import Framebuffer, offscreen_canvas, read_frame
from viz3d.renderer.scene_view import SceneView
from viz3d.scene.camera import OrbitCamera
from viz3d.scene.picking import PickHit
from viz3d.session.session import Session


class Panels(Protocol):
    """2D panels drawn over a frame (the viewer's HUD): placed first, so no label is drawn under one."""

    def prepare(self, size: tuple[int, int], physical: tuple[int, int], fps: float | None) -> None: ...

    def rects(self, unit: float = 1.0) -> list[tuple[float, float, float, float]]: ...

    def draw(self, physical: tuple[int, int], unit: float = 1.0) -> None: ...


class OffscreenView:
    """Renders ``session`` into images of ``size`` pixels on the process's hidden EGL canvas.

    Use as a context manager (or call :meth:`close`) so the GL objects go with it.
    ``pixel_scale`` widens lines and enlarges labels (2 for a 4K frame that
    should look like a 1080p one, twice as sharp).
    """

    def __init__(
        self, session: Session, size: tuple[int, int] | None = None, ssaa: int = 1, pixel_scale: float = 1.0
    ) -> None:
        self.session = session
        self.size = size or session.size
        self.ssaa = ssaa
        self.pixel_scale = pixel_scale
        session.resize(self.size)
        self.canvas = offscreen_canvas()
        self.view = SceneView(session, self.canvas)
        self._fbo = Framebuffer()
        self._overlay: Any = None
        self._caption: tuple[Any, ...] = ()  # (text, frame size, font scale) → picture and place, cached

    def _caption_panel(self, text: str, big: tuple[int, int]) -> tuple[float, float, float, float]:
        """Put the caption's picture on the overlay; return where it covers the frame."""
        from viz3d.renderer.overlay import Overlay

        key = (text, big, self.session.options.font_scale)
        if not self._caption or self._caption[0] != key:
            self._caption = (key, *caption_picture(text, big, self.session.options.font_scale))
        if self._overlay is None:
            self._overlay = Overlay()
        _, image, position = self._caption
        self._overlay.set("caption", image, position)
        return rect_of(image, position)

    def resize(self, size: tuple[int, int]) -> None:
        """Render frames of ``size`` pixels from now on (the session's aspect follows)."""
        self.session.resize(size)
        self.size = self.session.size

    def frame(
        self,
        camera: OrbitCamera | None = None,
        ssaa: int | None = None,
        caption: str = "",
        panels: Panels | None = None,
    ) -> np.ndarray:
        """The current view (or ``camera``'s), with ``caption``, as an (H, W, 4) uint8 RGBA image, top row first.

        ``panels`` (a HUD) are drawn over the scene, laid out for a view of
        ``size / pixel_scale`` logical pixels, as a window of that size would show them.
        """

        def draw(big: tuple[int, int], scale: float) -> None:
            unit = scale * self.pixel_scale
            keep_out = [self._caption_panel(caption, big)] if caption else []
            if panels is not None:
                self.view.sync()  # the HUD's inset reads the renderer's ranges
                panels.prepare((max(1, round(big[0] / unit)), max(1, round(big[1] / unit))), big, None)
                keep_out += panels.rects(unit)
            self.view.draw(big, pixel_scale=unit, camera=camera, keep_out=keep_out)
            if caption:
                self._overlay.draw(big)
            if panels is not None:
                panels.draw(big, unit)

        factor = self.ssaa if ssaa is None else ssaa
        return read_frame(draw, self.size, factor, self._fbo, self.canvas)

    def pick(self, x: int, y: int) -> PickHit | None:
        """What is drawn at pixel (x, y) (y down) of the frame."""
        return self.view.pick(self.size, x, y)

    @property
    def renderer(self) -> Any:
        """The scene renderer, up to date with the session."""
        return self.view.sync()

    def close(self) -> None:
        """Free every GL object of this view."""
        self.canvas.set_current()
        self.view.delete()
        self._fbo.delete()
        if self._overlay is not None:
            self._overlay.delete()
            self._overlay = None

    def __enter__(self) -> OffscreenView:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
