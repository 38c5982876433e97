"""GPU picking: ids of what is under the cursor, rendered into a float framebuffer.

The pick pass writes (layer + 1, channel, y, x) per pixel: boxes write their
layer, slab faces (drawn only for slabs whose projected box covers the
pixel) write the feature-map pixel too. Only the one pixel under the cursor
is rasterized (scissor test), so a pick costs a handful of draw calls and a
16-byte read-back whatever the network's size.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from viz3d.capture.trace import Trace
from viz3d.layout.slabs import Layout, SlabLayout
from viz3d.renderer.geometry import gl_matrix, slab_uniforms
from viz3d.renderer.shaders import load_shader
from viz3d.scene import labels as label_math
from viz3d.scene.picking import PickHit, decode_pick

_CORNER_BITS = np.array([[i >> 2 & 1, i >> 1 & 1, i & 1] for i in range(8)], float)


def slabs_under(
    slabs: list[SlabLayout], view_projection: np.ndarray, size: tuple[int, int], pixel: tuple[int, int]
) -> list[int]:
    """Indices of slabs whose projected bounding box covers ``pixel`` (x, y down)."""
    if not slabs:
        return []
    lo = np.array([s.lo for s in slabs])
    hi = np.array([s.hi for s in slabs])
    corners = lo[:, None, :] + _CORNER_BITS[None] * (hi - lo)[:, None, :]
    px, in_front = label_math.project(corners.reshape(-1, 3), view_projection, size)
    px = px.reshape(len(slabs), 8, 2)
    in_front = in_front.reshape(len(slabs), 8)
    x, y = pixel
    # A box partly behind the eye may cover the pixel anywhere: keep it.
    covers = (px[..., 0].min(1) <= x + 1) & (px[..., 0].max(1) >= x - 1)
    covers &= (px[..., 1].min(1) <= y + 1) & (px[..., 1].max(1) >= y - 1)
    return [int(i) for i in np.flatnonzero(covers | ~in_front.all(1))]


class PickPass:
    """Draws the pick ids of one scene: boxes through ``draw_boxes``, faces with the slab pick program."""

    def __init__(self) -> None:
        from vispy import gloo

        self._faces = gloo.Program(load_shader("slab_face.vert"), load_shader("slab_pick.frag"))
        self._faces["a_corner"] = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], np.float32)

    def draw(
        self,
        trace: Trace,
        layout: Layout,
        draw_boxes: Callable[[np.ndarray, float], None],
        view_projection: np.ndarray,
        size: tuple[int, int],
        cut_z: float,
        pixel: tuple[int, int] | None = None,
    ) -> None:
        """Draw ids into the bound float framebuffer; with ``pixel`` only slabs that can cover it."""
        from vispy import gloo

        mvp = gl_matrix(view_projection)
        gloo.set_viewport(0, 0, size[0], size[1])
        gloo.set_state(depth_test=True, blend=False, cull_face=False)
        gloo.set_clear_color((0.0, 0.0, 0.0, 0.0))
        gloo.clear(color=True, depth=True)
        draw_boxes(mvp, min(cut_z, 3.0e38))
        if layout.mode == "volume":
            return
        fp = self._faces
        fp["u_mvp"] = mvp
        slabs = layout.slabs
        candidates = slabs if pixel is None else [slabs[i] for i in slabs_under(slabs, view_projection, size, pixel)]
        for slab in candidates:
            node = trace.nodes[slab.node_id]
            if slab.front_z > cut_z or slab.is_generic or node.display is None:
                continue
            for name, value in slab_uniforms(slab).items():
                fp[name] = value
            fp["u_layer"] = float(slab.node_id)
            fp["u_map_size"] = (float(node.display.shape[1]), float(node.display.shape[2]))
            fp.draw("triangle_strip")

    def delete(self) -> None:
        self._faces.delete()


class PickBuffer:
    """An RGBA32F + depth framebuffer the size of the view, recreated on resize."""

    def __init__(self) -> None:
        self._fbo: Any = None
        self._size = (0, 0)

    def _target(self, size: tuple[int, int]) -> Any:
        from vispy import gloo

        if size != self._size:
            self.delete()
            w, h = size
            color = gloo.Texture2D(shape=(h, w, 4), format="rgba", internalformat="rgba32f", interpolation="nearest")
            depth = gloo.Texture2D(shape=(h, w, 1), format="depth_component", internalformat="depth_component")
            self._fbo = gloo.FrameBuffer(color=color, depth=depth)
            self._size = size
        return self._fbo

    def pick(self, renderer: Any, view_projection: np.ndarray, size: tuple[int, int], x: int, y: int) -> PickHit | None:
        """What ``renderer`` (a SceneRenderer) draws at pixel (x, y) (y down) of a ``size`` view."""
        from OpenGL import GL
        from vispy import gloo

        w, h = size
        if not (0 <= x < w and 0 <= y < h):
            return None
        gl_y = h - 1 - y
        with self._target(size):
            gloo.set_state(scissor_test=True)
            gloo.set_scissor(x, gl_y, 1, 1)
            try:
                renderer.draw_pick(view_projection, size, (x, y))
                gloo.get_current_canvas().context.flush_commands()
                pixel = GL.glReadPixels(x, gl_y, 1, 1, GL.GL_RGBA, GL.GL_FLOAT)
            finally:
                gloo.set_state(scissor_test=False)  # or every later frame would draw one pixel
        return decode_pick(np.frombuffer(np.asarray(pixel, np.float32).tobytes(), np.float32)[:4])

    def delete(self) -> None:
        """Free the framebuffer and its attachments."""
        if self._fbo is not None:
            self._fbo.color_buffer.delete()
            self._fbo.depth_buffer.delete()
            self._fbo.delete()
            self._fbo, self._size = None, (0, 0)
