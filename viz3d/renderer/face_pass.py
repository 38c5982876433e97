"""The slab faces, drawn with raw GL calls: the one pass whose draw count grows with depth.

Every slab front face is one draw of the ``slab_face`` program with its own
uniforms and textures. Through gloo each such draw costs a command-queue flush
and parse, a GL error check before and after, and re-binding of every
attribute — about 100 µs of Python per layer, which for a 50-layer network is
most of a frame on a fast GPU. Here the program, its quad and its samplers
are set up once per frame and each layer costs only its uniforms, two texture
binds and the draw (about a fifth of that).

gloo still owns every object (program, buffer, textures); this pass reads
their GL names, keeps gloo's record of the current program true, and leaves
the buffer and texture bindings as gloo expects them (unbound).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from viz3d.layout.slabs import SlabLayout

UNIFORMS = (
    "u_mvp",
    "u_base_color",
    "u_lo",
    "u_size",
    "u_channels",
    "u_cols",
    "u_tile",
    "u_gap",
    "u_pack",
    "u_depth",
    "u_rgb",
    "u_activation",
    "u_ranges",
    "u_lut",
    "u_filter_taps",
)
# Texture units of the pass's samplers.
ACTIVATION_UNIT, RANGES_UNIT, LUT_UNIT = 0, 1, 2
# Most samples per pixel axis averaged over a pixel's footprint on a face (slab_face.frag):
# 4 (16 a pixel) takes far tiles' moire away, at no visible cost on a GPU; 1 samples once (no
# prefilter). Software GL pays for every sample (the ResNet-50 overview's frame ×4.6 at 4 on
# llvmpipe, ×2.2 at 2, benchmarks/bench_prefilter.py), so there the default is 2.
FILTER_TAPS = 4
SOFTWARE_FILTER_TAPS = 2
SOFTWARE_GL = ("llvmpipe", "softpipe", "swrast", "swiftshader")


def default_filter_taps(gl_renderer: str) -> int:
    """The prefilter's samples per pixel axis for a GL renderer string (``GL_RENDERER``)."""
    name = gl_renderer.lower()
    return SOFTWARE_FILTER_TAPS if any(s in name for s in SOFTWARE_GL) else FILTER_TAPS


@dataclass(frozen=True)
class FaceItem:
    """One face to draw: its slab, its data textures, its colormap texture and whether it is RGB."""

    slab: SlabLayout
    activation: Any  # gloo Texture3D
    ranges: Any  # gloo Texture2D
    lut: Any  # gloo Texture2D
    pack: int
    depth: int
    rgb: bool


class FacePass:
    """Draws slab front faces with the ``slab_face`` program of a gloo canvas."""

    def __init__(self, program: Any, corners: Any, canvas: Any) -> None:
        """``program``: the gloo Program of slab_face; ``corners``: its gloo VertexBuffer of quad corners."""
        self.program = program
        self.corners = corners
        self.canvas = canvas
        self._locations: dict[str, int] = {}
        self._corner_location = -1
        self._handles: dict[int, int] = {}  # gloo id -> GL name

    def _handle(self, obj: Any) -> int:
        handle = self._handles.get(obj.id)
        if handle is None:
            from viz3d.gpu.gl_objects import gl_object_handle

            handle = self._handles[obj.id] = gl_object_handle(obj, self.canvas)
        return handle

    def _setup(self, program_handle: int) -> None:
        from OpenGL import GL

        if self._locations:
            return
        for name in UNIFORMS:
            self._locations[name] = int(GL.glGetUniformLocation(program_handle, name))
        self._corner_location = int(GL.glGetAttribLocation(program_handle, "a_corner"))

    def draw(
        self, mvp: np.ndarray, base_color: Sequence[float], items: Sequence[FaceItem], filter_taps: int = FILTER_TAPS
    ) -> None:
        """Draw ``items`` into the bound framebuffer with the GL state already set (depth test on).

        ``filter_taps``: most samples per pixel axis averaged over a pixel's footprint (1: no prefilter).
        """
        from OpenGL import GL

        if not items:
            return
        context = self.canvas.context
        # Every GL name first: looking one up runs gloo's queued commands (new textures, range
        # updates, other programs' uniforms), which may switch programs and bindings.
        program = self._handle(self.program)
        vbo = self._handle(self.corners)
        textures = [(self._handle(i.activation), self._handle(i.ranges), self._handle(i.lut)) for i in items]
        context.flush_commands()
        self._setup(program)
        loc = self._locations

        GL.glUseProgram(program)
        context.shared.parser.env["current_program"] = program  # gloo skips glUseProgram it thinks is done
        GL.glUniformMatrix4fv(loc["u_mvp"], 1, GL.GL_FALSE, np.ascontiguousarray(mvp, np.float32))
        GL.glUniform3f(loc["u_base_color"], *(float(v) for v in base_color))
        GL.glUniform1i(loc["u_activation"], ACTIVATION_UNIT)
        GL.glUniform1i(loc["u_ranges"], RANGES_UNIT)
        GL.glUniform1i(loc["u_lut"], LUT_UNIT)
        GL.glUniform1i(loc["u_filter_taps"], max(1, int(filter_taps)))
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, vbo)
        GL.glEnableVertexAttribArray(self._corner_location)
        GL.glVertexAttribPointer(self._corner_location, 2, GL.GL_FLOAT, GL.GL_FALSE, 0, None)
        GL.glVertexAttribDivisor(self._corner_location, 0)  # instanced passes leave divisors on shared indices

        bound_lut = -1
        for item, (activation, ranges, lut) in zip(items, textures, strict=True):
            s = item.slab
            lo, size = s.lo, s.size  # computed properties: read once
            GL.glUniform3f(loc["u_lo"], float(lo[0]), float(lo[1]), float(lo[2]))
            GL.glUniform3f(loc["u_size"], float(size[0]), float(size[1]), float(size[2]))
            GL.glUniform1i(loc["u_channels"], int(s.channels))
            GL.glUniform1i(loc["u_cols"], int(s.cols))
            GL.glUniform2f(loc["u_tile"], float(s.tile_w), float(s.tile_h))
            GL.glUniform1f(loc["u_gap"], float(s.gap))
            GL.glUniform1i(loc["u_pack"], item.pack)
            GL.glUniform1i(loc["u_depth"], item.depth)
            GL.glUniform1i(loc["u_rgb"], int(item.rgb))
            GL.glActiveTexture(GL.GL_TEXTURE0 + ACTIVATION_UNIT)
            GL.glBindTexture(GL.GL_TEXTURE_3D, activation)
            GL.glActiveTexture(GL.GL_TEXTURE0 + RANGES_UNIT)
            GL.glBindTexture(GL.GL_TEXTURE_2D, ranges)
            if lut != bound_lut:
                GL.glActiveTexture(GL.GL_TEXTURE0 + LUT_UNIT)
                GL.glBindTexture(GL.GL_TEXTURE_2D, lut)
                bound_lut = lut
            GL.glDrawArrays(GL.GL_TRIANGLE_STRIP, 0, 4)

        # Leave bindings as gloo leaves them after its own draws.
        for unit, target in ((LUT_UNIT, GL.GL_TEXTURE_2D), (RANGES_UNIT, GL.GL_TEXTURE_2D)):
            GL.glActiveTexture(GL.GL_TEXTURE0 + unit)
            GL.glBindTexture(target, 0)
        GL.glActiveTexture(GL.GL_TEXTURE0 + ACTIVATION_UNIT)
        GL.glBindTexture(GL.GL_TEXTURE_3D, 0)
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, 0)
