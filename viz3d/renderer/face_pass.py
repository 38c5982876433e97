"""The slab faces, drawn with raw GL calls: the one pass whose draw count grows with depth.

Every slab front face is one draw of the ``slab_face`` program: each layer
has its own activation and range textures, so faces cannot share a draw.
What a face does not need is its own uniforms: the box and tile grid of every
slab (nine values) sit in one RGBA32F *slab table* texture, written when the
layout or the textures change, and the vertex shader reads its slab's row
(``slab_face_table.vert``). A face then costs one integer uniform, two
texture binds and the draw. Through gloo each draw costs a command-queue
flush and parse, a GL error check before and after, and re-binding of every
attribute (about 100 µs of Python per layer); nine uniform calls per face
cost about 60 µs more on 2 cores, most of a 700-unit network's frame.

gloo still owns every object (program, buffers, textures); this pass reads
their GL names, keeps gloo's record of the current program true, and leaves
the buffer and texture bindings as gloo expects them (unbound).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from viz3d.layout.slabs import SlabLayout
from viz3d.renderer.raw_gl import face_calls
from viz3d.renderer.shaders import load_shader, with_defines

UNIFORMS = ("u_mvp", "u_base_color", "u_slab", "u_slabs", "u_activation", "u_ranges", "u_lut", "u_filter_taps")
# Texture units of the pass's samplers.
ACTIVATION_UNIT, RANGES_UNIT, LUT_UNIT, SLABS_UNIT = 0, 1, 2, 3
SLABS_PER_ROW = 1024  # rows of the slab table (as in slab_face_table.vert)
TEXELS_PER_SLAB = 4
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
    """One face to draw: its row of the slab table, its layer's textures, its colormap texture."""

    index: int
    layer: Any  # LayerTextures: its activation texture may be replaced by an upload (texture budget)
    lut: Any  # gloo Texture2D


def slab_rows(
    slabs: Sequence[SlabLayout], packs: Sequence[int], depths: Sequence[int], rgb: Sequence[bool]
) -> np.ndarray:
    """The slab table: (n, 16) float32 rows of lo.xyz, channels, size.xyz, cols, tile.xy, gap, pack, depth, rgb."""
    rows = np.zeros((len(slabs), TEXELS_PER_SLAB * 4), np.float32)
    for i, s in enumerate(slabs):
        lo, size = s.lo, s.size
        rows[i, :12] = (*lo, s.channels, *size, s.cols, s.tile_w, s.tile_h, s.gap, packs[i])
        rows[i, 12:14] = (depths[i], float(rgb[i]))
    return rows


class FacePass:
    """Draws slab front faces with one program, one quad and the slab table (see the module docstring)."""

    def __init__(self, canvas: Any) -> None:
        from vispy import gloo

        self.canvas = canvas
        frag = with_defines(load_shader("slab_face.frag"), "SLAB_TABLE")
        self.program = gloo.Program(load_shader("slab_face_table.vert"), frag)
        self.corners = gloo.VertexBuffer(np.array([[0, 0], [1, 0], [0, 1], [1, 1]], np.float32))
        self.program["a_corner"] = self.corners
        self.table: Any = None  # gloo Texture2D, made by set_slabs
        self._locations: dict[str, int] = {}
        self._corner_location = -1
        self._handles: dict[int, int] = {}  # gloo id -> GL name
        self._named: tuple[Sequence[FaceItem], list[tuple[int, int, int]]] | None = None  # items, their GL names

    def set_slabs(self, rows: np.ndarray) -> None:
        """Write the slab table (rows from :func:`slab_rows`; FaceItem.index is a row)."""
        from vispy import gloo

        n = len(rows)
        height, width = -(-max(n, 1) // SLABS_PER_ROW), min(max(n, 1), SLABS_PER_ROW)
        flat = np.zeros((height * width, TEXELS_PER_SLAB * 4), np.float32)
        flat[:n] = rows
        image = flat.reshape(height, width * TEXELS_PER_SLAB, 4)
        if self.table is None or self.table.shape[:2] != image.shape[:2]:
            if self.table is not None:
                self.table.delete()
            self.table = gloo.Texture2D(image, format="rgba", internalformat="rgba32f", interpolation="nearest")
        else:
            self.table.set_data(image)

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
        self,
        mvp: np.ndarray,
        base_color: Sequence[float],
        items: Sequence[FaceItem],
        keep: np.ndarray | None = None,
        filter_taps: int = FILTER_TAPS,
    ) -> None:
        """Draw ``items`` (those where ``keep`` is true) into the bound framebuffer, GL state already set.

        ``items`` is meant to be the same list frame after frame: the GL names
        of its textures are looked up once per list. ``filter_taps``: most
        samples per pixel axis averaged over a pixel's footprint (1: no prefilter).
        """
        from OpenGL import GL

        chosen = range(len(items)) if keep is None else np.flatnonzero(keep).tolist()
        if not chosen or self.table is None:
            return
        context = self.canvas.context
        # Every GL name first: looking one up runs gloo's queued commands (new textures, range
        # updates, the table, other programs' uniforms), which may switch programs and bindings.
        handle = self._handle
        program, vbo, table = handle(self.program), handle(self.corners), handle(self.table)
        if self._named is None or self._named[0] is not items:
            named = [(handle(i.layer.activation), handle(i.layer.ranges), handle(i.lut)) for i in items]
            self._named = (items, named)
        textures = self._named[1]
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
        GL.glUniform1i(loc["u_slabs"], SLABS_UNIT)
        GL.glActiveTexture(GL.GL_TEXTURE0 + SLABS_UNIT)
        GL.glBindTexture(GL.GL_TEXTURE_2D, table)
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, vbo)
        GL.glEnableVertexAttribArray(self._corner_location)
        GL.glVertexAttribPointer(self._corner_location, 2, GL.GL_FLOAT, GL.GL_FALSE, 0, None)
        GL.glVertexAttribDivisor(self._corner_location, 0)  # instanced passes leave divisors on shared indices

        bound_lut = -1
        slab_location = loc["u_slab"]
        uniform1i, active, bind, draw = face_calls()
        unit_activation, unit_ranges = GL.GL_TEXTURE0 + ACTIVATION_UNIT, GL.GL_TEXTURE0 + RANGES_UNIT
        target_3d, target_2d, strip = GL.GL_TEXTURE_3D, GL.GL_TEXTURE_2D, GL.GL_TRIANGLE_STRIP
        for k in chosen:
            activation, ranges, lut = textures[k]
            uniform1i(slab_location, items[k].index)
            if lut != bound_lut:
                active(GL.GL_TEXTURE0 + LUT_UNIT)
                bind(target_2d, lut)
                bound_lut = lut
            active(unit_ranges)
            bind(target_2d, ranges)
            active(unit_activation)
            bind(target_3d, activation)
            draw(strip, 0, 4)

        # Leave bindings as gloo leaves them after its own draws.
        for unit in (SLABS_UNIT, LUT_UNIT, RANGES_UNIT):
            GL.glActiveTexture(GL.GL_TEXTURE0 + unit)
            GL.glBindTexture(GL.GL_TEXTURE_2D, 0)
        GL.glActiveTexture(GL.GL_TEXTURE0 + ACTIVATION_UNIT)
        GL.glBindTexture(GL.GL_TEXTURE_3D, 0)
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, 0)

    def delete(self) -> None:
        """Free the program, the quad and the table."""
        for obj in (self.program, self.corners, self.table):
            if obj is not None:
                obj.delete()
        self.table = None
