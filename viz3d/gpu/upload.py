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

    def upload(self, texture: Any, packed: torch.Tensor) -> None:
        """Copy ``packed`` (depth, height, width) float32 into ``texture`` (a gloo Texture3D)."""
        ...


class HostUploader:
    """tensor → host numpy array (no copy for contiguous CPU float32) → texture."""

    name = "host"

    def upload(self, texture: Any, packed: torch.Tensor) -> None:
        data = packed.detach()
        if data.device.type != "cpu":
            data = data.cpu()
        array = data.numpy()
        if tuple(array.shape) != tuple(texture.shape[:3]):
            raise ValueError(f"packed activation {array.shape} does not match texture {texture.shape[:3]}")
        texture.set_data(array[..., None], copy=False)


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
