"""The answer panel in the scene: a textured quad after the last slab, and its pick ids.

The picture comes from :mod:`viz3d.renderer.prediction_image`; the quad's place
from the session (:meth:`~viz3d.session.answer.Answer.answer_panel`). The
texture has mipmaps, so the text stays smooth when the panel is seen small
from the overview. In the pick pass each bar row writes the classifier unit
of its class: a click on a bar selects that logit like a click on its cell.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from viz3d.layout.panel import PanelQuad
from viz3d.renderer.prediction_image import panel_image
from viz3d.renderer.shaders import load_shader
from viz3d.session.prediction import Prediction

MAX_ROWS = 8  # as in prediction_pick.frag
_UV = np.array([[0, 1], [1, 1], [0, 0], [1, 0]], np.float32)  # corners bottom-left, bottom-right, top-left, top-right


class PredictionPanel:
    """Draws one answer panel (or nothing) in world space, depth-tested with the slabs."""

    def __init__(self, canvas: Any) -> None:
        from vispy import gloo

        self.canvas = canvas
        self._prog = gloo.Program(load_shader("prediction.vert"), load_shader("prediction.frag"))
        self._pick = gloo.Program(load_shader("prediction.vert"), load_shader("prediction_pick.frag"))
        for prog in (self._prog, self._pick):
            prog["a_uv"] = _UV
        self._texture: Any = None
        self._key: Any = None
        self._node_id = -1
        self._rows: list[tuple[float, float, int, int]] = []
        self.quad: PanelQuad | None = None

    def set(self, prediction: Prediction | None, quad: PanelQuad | None, selected: int | None) -> None:
        """Show ``prediction`` on ``quad`` (None hides the panel); the row of class ``selected`` is outlined."""
        if prediction is None or quad is None:
            self.quad = None
            return
        corners = quad.corners().astype(np.float32)
        for prog in (self._prog, self._pick):
            prog["a_position"] = corners
        self.quad = quad
        key = (prediction, selected)
        if key == self._key:
            return
        picture = panel_image(prediction, selected)
        self._upload(picture.image)
        self._key, self._node_id = key, prediction.node_id
        self._rows = [(v0, v1, *prediction.unit(index)[2:]) for v0, v1, index in picture.rows[:MAX_ROWS]]

    def _upload(self, image: np.ndarray) -> None:
        from OpenGL import GL
        from vispy import gloo

        from viz3d.gpu.gl_objects import gl_object_handle

        if self._texture is None or self._texture.shape[:2] != image.shape[:2]:
            if self._texture is not None:
                self._texture.delete()
            self._texture = gloo.Texture2D(image, interpolation="linear", internalformat="rgba8")
            self._prog["u_image"] = self._texture
        else:
            self._texture.set_data(image)
        # Mipmaps keep the text smooth when the panel is seen small (gloo has no call for them).
        handle = gl_object_handle(self._texture, self.canvas)
        GL.glBindTexture(GL.GL_TEXTURE_2D, handle)
        GL.glGenerateMipmap(GL.GL_TEXTURE_2D)
        GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MIN_FILTER, GL.GL_LINEAR_MIPMAP_LINEAR)
        GL.glBindTexture(GL.GL_TEXTURE_2D, 0)

    def draw(self, mvp: np.ndarray) -> None:
        """Draw the panel into the bound framebuffer (depth test on, opaque)."""
        from vispy import gloo

        if self.quad is None or self._texture is None:
            return
        gloo.set_state(blend=False, depth_test=True, cull_face=False)
        self._prog["u_mvp"] = mvp
        self._prog.draw("triangle_strip")

    def draw_pick(self, mvp: np.ndarray) -> None:
        """Write the panel's pick ids (see :mod:`viz3d.renderer.picking`) into the bound float framebuffer."""
        if self.quad is None:
            return
        p = self._pick
        p["u_mvp"] = mvp
        p["u_layer"] = float(self._node_id)
        p["u_rows"] = len(self._rows)
        for i in range(MAX_ROWS):
            p[f"u_row[{i}]"] = self._rows[i] if i < len(self._rows) else (0.0, 0.0, 0.0, 0.0)
        p.draw("triangle_strip")

    def delete(self) -> None:
        for prog in (self._prog, self._pick):
            prog.delete()
        if self._texture is not None:
            self._texture.delete()
            self._texture = None
