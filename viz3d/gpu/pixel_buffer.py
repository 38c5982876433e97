"""A GL pixel-unpack buffer (PBO) and the texture upload from it: the GL half of the CUDA path.

Kept apart from the CUDA half so it can be checked on any GL (Mesa included),
filling the buffer from the host in tests where CUDA writes it in use.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence

GL_FLOAT = 0x1406
GL_HALF_FLOAT = 0x140B


def arena_offsets(sizes: Sequence[int], alignment: int) -> tuple[list[int], int]:
    """Byte offsets of consecutive slices of ``sizes`` bytes, each starting at a multiple of ``alignment``.

    Returns the offsets and the total size. The CUDA path aligns to the
    element size only, so the slices are back to back and one copy can fill them all.
    """
    offsets, end = [], 0
    for size in sizes:
        start = -(-end // alignment) * alignment
        offsets.append(start)
        end = start + size
    return offsets, end


class PixelBuffer:
    """A GL buffer of ``nbytes`` for ``glTexSubImage3D`` uploads; the GL context must be current."""

    def __init__(self, nbytes: int) -> None:
        from OpenGL import GL

        self.nbytes = nbytes
        self.handle = int(GL.glGenBuffers(1))
        GL.glBindBuffer(GL.GL_PIXEL_UNPACK_BUFFER, self.handle)
        # Stream-draw: written once per update, read once by the texture upload.
        GL.glBufferData(GL.GL_PIXEL_UNPACK_BUFFER, nbytes, None, GL.GL_STREAM_DRAW)
        GL.glBindBuffer(GL.GL_PIXEL_UNPACK_BUFFER, 0)

    def write_from_host(self, data: bytes, offset: int = 0) -> None:
        """Fill (part of) the buffer from host memory (tests only: in use CUDA writes it)."""
        from OpenGL import GL

        GL.glBindBuffer(GL.GL_PIXEL_UNPACK_BUFFER, self.handle)
        GL.glBufferSubData(GL.GL_PIXEL_UNPACK_BUFFER, offset, len(data), data)
        GL.glBindBuffer(GL.GL_PIXEL_UNPACK_BUFFER, 0)

    def upload_to_textures(self, targets: Sequence[tuple[int, tuple[int, int, int], int]], gl_type: int) -> None:
        """Copy slices of the buffer into whole single-channel 3D textures.

        ``targets`` holds (texture handle, (depth, height, width), byte offset)
        per texture; the buffer is bound once for all of them.
        """
        from OpenGL import GL

        GL.glBindBuffer(GL.GL_PIXEL_UNPACK_BUFFER, self.handle)
        GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 2 if gl_type == GL_HALF_FLOAT else 4)
        for handle, (depth, height, width), offset in targets:
            GL.glBindTexture(GL.GL_TEXTURE_3D, handle)
            # With a PBO bound, the "pixels" argument is a byte offset into it.
            GL.glTexSubImage3D(
                GL.GL_TEXTURE_3D, 0, 0, 0, 0, width, height, depth, GL.GL_RED, gl_type, ctypes.c_void_p(offset)
            )
        GL.glBindTexture(GL.GL_TEXTURE_3D, 0)
        # gloo's own uploads fail with GL_INVALID_OPERATION while a PBO stays bound.
        GL.glBindBuffer(GL.GL_PIXEL_UNPACK_BUFFER, 0)
        GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 4)

    def delete(self) -> None:
        from OpenGL import GL

        if self.handle:
            GL.glDeleteBuffers(1, [self.handle])
            self.handle = 0
