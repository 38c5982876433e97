"""The offscreen front end: a session rendered frame after frame without a window.

The scene's textures and buffers are made once and kept: each :meth:`OffscreenView.frame`
only syncs what changed in the session and draws. ``viz3d.render`` is one
frame of it; a video recorder or a notebook widget draws many.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from viz3d.renderer.offscreen import Framebuffer, offscreen_canvas, read_frame
from viz3d.renderer.scene_view import SceneView
from viz3d.scene.camera import OrbitCamera
from viz3d.scene.picking import PickHit
from viz3d.session.session import Session


class OffscreenView:
    """Renders ``session`` into images of ``size`` pixels on the process's hidden EGL canvas.

    Use as a context manager (or call :meth:`close`) so the GL objects go with it.
    """

    def __init__(self, session: Session, size: tuple[int, int] | None = None, ssaa: int = 1) -> None:
        self.session = session
        self.size = size or session.size
        self.ssaa = ssaa
        session.resize(self.size)
        self.canvas = offscreen_canvas()
        self.view = SceneView(session, self.canvas)
        self._fbo = Framebuffer()

    def frame(self, camera: OrbitCamera | None = None, ssaa: int | None = None) -> np.ndarray:
        """The current view (or ``camera``'s) as an (H, W, 4) uint8 RGBA image, top row first."""

        def draw(big: tuple[int, int], scale: float) -> None:
            self.view.draw(big, pixel_scale=scale, camera=camera)

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

    def __enter__(self) -> OffscreenView:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
