"""GPU picking: ids of what is under the cursor, rendered into a float framebuffer.

Only the one pixel under the cursor is rasterized (scissor test), so a pick
costs the vertex work of the scene and a 16-byte read-back.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from viz3d.render.scene_renderer import SceneRenderer
from viz3d.scene.picking import PickHit, decode_pick


class PickBuffer:
    """An RGBA32F + depth framebuffer the size of the view, recreated on resize."""

    def __init__(self) -> None:
        self._fbo: Any = None
        self._size = (0, 0)

    def _target(self, size: tuple[int, int]) -> Any:
        from vispy import gloo

        if size != self._size:
            w, h = size
            color = gloo.Texture2D(shape=(h, w, 4), format="rgba", internalformat="rgba32f", interpolation="nearest")
            depth = gloo.Texture2D(shape=(h, w, 1), format="depth_component", internalformat="depth_component")
            self._fbo = gloo.FrameBuffer(color=color, depth=depth)
            self._size = size
        return self._fbo

    def pick(
        self, renderer: SceneRenderer, view_projection: np.ndarray, size: tuple[int, int], x: int, y: int
    ) -> PickHit | None:
        """What is drawn at pixel (x, y) (y down) of a ``size`` view."""
        from OpenGL import GL
        from vispy import gloo

        w, h = size
        if not (0 <= x < w and 0 <= y < h):
            return None
        gl_y = h - 1 - y
        with self._target(size):
            gloo.set_state(scissor_test=True)
            gloo.set_scissor(x, gl_y, 1, 1)
            renderer.draw_pick(view_projection, size, (x, y))
            gloo.get_current_canvas().context.flush_commands()
            pixel = GL.glReadPixels(x, gl_y, 1, 1, GL.GL_RGBA, GL.GL_FLOAT)
            gloo.set_state(scissor_test=False)
        return decode_pick(np.frombuffer(np.asarray(pixel, np.float32).tobytes(), np.float32)[:4])
