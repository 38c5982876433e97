"""Moving activations into GL textures: the one seam every upload path plugs into.

An uploader copies a packed (depth, height, width) float32 tensor (see
:mod:`viz3d.gpu.plan`) into an existing texture of the same shape. The host
path goes tensor → numpy → ``glTexSubImage3D``; a CUDA path registers a pixel
buffer with CUDA and needs no trip through host memory (see ../shared/GPU.md).
"""

from __future__ import annotations

import os
from typing import Any, Protocol

import torch

from viz3d.errors import Viz3dError

UPLOAD_ENV = "VIZ3D_UPLOAD"


class ActivationUploader(Protocol):
    """Copies packed activations into textures."""

    name: str

    def upload(self, texture: Any, packed: torch.Tensor, canvas: Any) -> None:
        """Copy ``packed`` (depth, height, width) float32 into ``texture`` (a gloo Texture3D of ``canvas``)."""
        ...


def gl_texture_handle(texture: Any, canvas: Any) -> int:
    """The GL name of a gloo texture, creating it now if gloo has only queued it.

    gloo queues commands per object until the object is tied to a context;
    tie it to ``canvas`` (whose context must be current) and run the queue so
    raw GL calls can follow.
    """
    canvas.context.glir.associate(texture.glir)
    canvas.context.flush_commands()
    return int(canvas.context.shared.parser.get_object(texture.id).handle)


class HostUploader:
    """tensor → host memory (no copy for contiguous CPU float32) → ``glTexSubImage3D``.

    The call is made directly rather than through gloo's command queue, so the
    upload happens now (and is what the benchmarks time), and gloo keeps no
    reference to the array.
    """

    name = "host"

    def upload(self, texture: Any, packed: torch.Tensor, canvas: Any) -> None:
        from OpenGL import GL

        data = packed.detach()
        if data.device.type != "cpu":
            data = data.cpu()
        array = data.numpy()
        depth, height, width = texture.shape[:3]
        if tuple(array.shape) != (depth, height, width):
            raise ValueError(f"packed activation {array.shape} does not match texture {texture.shape[:3]}")
        handle = gl_texture_handle(texture, canvas)
        GL.glBindTexture(GL.GL_TEXTURE_3D, handle)
        GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 4)
        GL.glTexSubImage3D(GL.GL_TEXTURE_3D, 0, 0, 0, 0, width, height, depth, GL.GL_RED, GL.GL_FLOAT, array)
        GL.glBindTexture(GL.GL_TEXTURE_3D, 0)


def select_uploader(requested: str | None = None) -> tuple[ActivationUploader, str]:
    """The upload path to use and why.

    ``requested`` (or the ``VIZ3D_UPLOAD`` environment variable) may force
    ``host``; anything else is a clear error.
    """
    choice = requested or os.environ.get(UPLOAD_ENV) or "auto"
    if choice in ("auto", "host"):
        reason = "forced by " + ("argument" if requested else UPLOAD_ENV) if choice == "host" else "host path"
        return HostUploader(), reason
    raise Viz3dError(f"unknown upload path {choice!r} (from {UPLOAD_ENV} or the upload argument): use 'host' or 'auto'")
