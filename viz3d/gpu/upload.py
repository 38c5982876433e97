"""Moving activations into GL textures: the one seam every upload path plugs into.

An uploader copies a packed (depth, height, width) float32 tensor (see
:mod:`viz3d.gpu.plan`) into an existing texture of the same shape. The host
path goes tensor → numpy → ``glTexSubImage3D``; a CUDA path registers a pixel
buffer with CUDA and needs no trip through host memory (see ../shared/GPU.md).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import torch

from viz3d.errors import Viz3dError
from viz3d.gpu.cuda_upload import CudaUploader, InteropEnvironment, InteropUnavailable, interop_problem
from viz3d.gpu.gl_objects import gl_object_handle, gl_object_handles
from viz3d.gpu.stats import channel_stats_many
from viz3d.scene.normalization import ChannelStats

UPLOAD_ENV = "VIZ3D_UPLOAD"


class ActivationUploader(Protocol):
    """Copies packed activations into textures."""

    @property
    def name(self) -> str:
        """``host`` or ``cuda``."""
        ...

    def upload(self, texture: Any, packed: torch.Tensor, canvas: Any) -> None:
        """Copy ``packed`` (depth, height, width) float32 into ``texture`` (a gloo Texture3D of ``canvas``)."""
        ...

    def upload_all(self, items: Sequence[tuple[Any, torch.Tensor]], canvas: Any) -> None:
        """:meth:`upload` for every (texture, packed) pair, batched where the path can."""
        ...

    def stats(self, displays: Sequence[torch.Tensor]) -> list[ChannelStats]:
        """Per-channel normalization statistics of (C, H, W) activations, reduced where they live."""
        ...

    def release(self) -> None:
        """Free what the path holds besides the textures (call before deleting them)."""
        ...


class HostUploader:
    """tensor → host memory (no copy for contiguous CPU float32) → ``glTexSubImage3D``.

    The call is made directly rather than through gloo's command queue, so the
    upload happens now (and is what the benchmarks time), and gloo keeps no
    reference to the array.
    """

    name = "host"

    def upload(self, texture: Any, packed: torch.Tensor, canvas: Any) -> None:
        self._upload(texture, gl_object_handle(texture, canvas), packed)

    @staticmethod
    def _upload(texture: Any, handle: int, packed: torch.Tensor) -> None:
        from OpenGL import GL

        data = packed.detach()
        if data.device.type != "cpu":
            data = data.cpu()
        array = data.numpy()
        depth, height, width = texture.shape[:3]
        if tuple(array.shape) != (depth, height, width):
            raise ValueError(f"packed activation {array.shape} does not match texture {texture.shape[:3]}")
        GL.glBindTexture(GL.GL_TEXTURE_3D, handle)
        GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 4)
        GL.glTexSubImage3D(GL.GL_TEXTURE_3D, 0, 0, 0, 0, width, height, depth, GL.GL_RED, GL.GL_FLOAT, array)
        GL.glBindTexture(GL.GL_TEXTURE_3D, 0)

    def upload_all(self, items: Sequence[tuple[Any, torch.Tensor]], canvas: Any) -> None:
        """One ``glTexSubImage3D`` per texture (gloo's queue run once for all their names)."""
        handles = gl_object_handles([texture for texture, _ in items], canvas)
        for (texture, packed), handle in zip(items, handles, strict=True):
            self._upload(texture, handle, packed)

    def stats(self, displays: Sequence[torch.Tensor]) -> list[ChannelStats]:
        """torch reductions on each tensor's device, layers of one map size together; only (3, C) numbers per
        layer reach the host."""
        return channel_stats_many(displays)

    def release(self) -> None:
        """Nothing to free: the host path holds no GL or CUDA objects of its own."""


class GuardedCudaUploader:
    """The CUDA path with a guard: a failure of its CUDA calls never surfaces as a bare traceback.

    Chosen automatically (``fallback`` given), its first failure switches to
    the host path for good, with one warning naming the error — the picture
    stays right, only slower. Forced (no fallback), the failure is one
    :class:`InteropUnavailable` line naming the fix.
    """

    def __init__(self, cuda: CudaUploader, fallback: HostUploader | None) -> None:
        self.cuda = cuda
        self.fallback = fallback
        self.failure: str | None = None  # why the host path took over

    @property
    def name(self) -> str:
        return "host" if self.failure else "cuda"

    def _run(self, call: Callable[[ActivationUploader], Any]) -> Any:
        if self.failure is None:
            try:
                return call(self.cuda)
            except Exception as exc:
                self._fail(exc)
        assert self.fallback is not None
        return call(self.fallback)

    def _fail(self, exc: Exception) -> None:
        from viz3d.errors import describe

        what = describe(exc)
        if self.fallback is None:
            raise InteropUnavailable(
                f"the CUDA upload path failed ({what}); set VIZ3D_UPLOAD=host (or auto) to upload through host memory"
            ) from exc
        self.failure = f"the CUDA upload path failed ({what})"
        with contextlib.suppress(Exception):  # the failure may have left CUDA unusable
            self.cuda.release()
        from viz3d.errors import warn_once

        warn_once(f"{self.failure}; uploading through host memory from now on")

    def upload(self, texture: Any, packed: torch.Tensor, canvas: Any) -> None:
        """See :meth:`CudaUploader.upload`."""
        self._run(lambda up: up.upload(texture, packed, canvas))

    def upload_all(self, items: Sequence[tuple[Any, torch.Tensor]], canvas: Any) -> None:
        """See :meth:`CudaUploader.upload_all`."""
        self._run(lambda up: up.upload_all(items, canvas))

    def stats(self, displays: Sequence[torch.Tensor]) -> list[ChannelStats]:
        """See :meth:`CudaUploader.stats`."""
        result: list[ChannelStats] = self._run(lambda up: up.stats(displays))
        return result

    def release(self) -> None:
        """Unregister the CUDA path's buffers (nothing to do once it has failed)."""
        if self.failure is None:
            self._run(lambda up: up.release())


def select_uploader(
    requested: str | None = None,
    device: torch.device | None = None,
    gl_vendor: str = "",
    texture_format: str = "r32f",
    env: InteropEnvironment | None = None,
) -> tuple[ActivationUploader, str]:
    """The upload path to use and why.

    ``requested`` (or the ``VIZ3D_UPLOAD`` environment variable): ``auto``
    (default) takes the CUDA path when every condition holds (see
    :func:`viz3d.gpu.cuda_upload.interop_problem`) and otherwise the host
    path, saying once why when the activations are on CUDA; ``host`` forces
    the host path; ``cuda`` forces the CUDA path and is a clear error where it
    cannot work.
    """
    source = "the upload argument" if requested else UPLOAD_ENV
    choice = requested or os.environ.get(UPLOAD_ENV) or "auto"
    if choice not in ("auto", "host", "cuda"):
        raise Viz3dError(f"unknown upload path {choice!r} (from {source}): use 'auto', 'host' or 'cuda'")
    if choice == "host":
        return HostUploader(), f"host path (forced by {source})"
    problem = interop_problem(device or torch.device("cpu"), gl_vendor, env)
    if problem is None:
        fallback = HostUploader() if choice == "auto" else None
        uploader = GuardedCudaUploader(CudaUploader(texture_format), fallback)
        return uploader, "cuda path: registered pixel buffers, no trip through host memory"
    if choice == "cuda":
        raise InteropUnavailable(
            f"the CUDA upload path was asked for ({source}) but cannot work: {problem}; use 'auto' or 'host'"
        )
    if device is not None and device.type == "cuda":
        from viz3d.errors import warn_once

        warn_once(f"CUDA activations are uploaded through host memory: {problem}")
    return HostUploader(), f"host path: {problem}"
