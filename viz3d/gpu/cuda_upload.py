"""The CUDA → OpenGL upload path: activations never pass through host memory.

Per texture, one GL pixel buffer (PBO) of the texture's byte size is
registered with CUDA once (``cudaGraphicsGLRegisterBuffer``, write-discard).
Per update, on torch's current stream: map the PBO, wrap the mapped pointer
as a cupy array, copy (and cast, for R16F) the torch tensor into it through
DLPack (no copy on the torch side), unmap — which orders later GL work after
the copy — then ``glTexSubImage3D`` from the bound PBO. CuPy has no GL
registration API (cupy issue 5711), hence cuda-python for that part.

Only this module knows about cupy and cuda-python; both are imported lazily,
so a machine without them never touches them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from viz3d.errors import Viz3dError
from viz3d.gpu.pixel_buffer import GL_FLOAT, GL_HALF_FLOAT, PixelBuffer
from viz3d.gpu.stats import channel_stats, channel_stats_array
from viz3d.scene.normalization import ChannelStats


class InteropUnavailable(Viz3dError):
    """One condition for the CUDA path does not hold; the message says which."""


@dataclass
class InteropEnvironment:
    """How each condition of the CUDA path is checked; tests replace the probes.

    Each probe returns None when its condition holds, else the reason.
    """

    cupy: Callable[[], str | None] = field(default_factory=lambda: _import_probe("cupy", "cupy-cuda13x"))
    cuda_python: Callable[[], str | None] = field(
        default_factory=lambda: _import_probe("cuda.bindings.runtime", "cuda-python")
    )
    cuda_available: Callable[[], str | None] = field(default_factory=lambda: _cupy_device_probe)
    gl_devices: Callable[[], list[int] | str] = field(default_factory=lambda: _gl_cuda_devices)


def _import_probe(module: str, package: str) -> Callable[[], str | None]:
    def probe() -> str | None:
        import importlib

        try:
            importlib.import_module(module)
        except Exception as exc:  # ImportError, or a broken install raising anything
            return f"{module} cannot be imported ({type(exc).__name__}); pip install 'viz3d[cuda]' ({package})"
        return None

    return probe


def _cupy_device_probe() -> str | None:
    import cupy

    if not cupy.cuda.is_available():
        return "cupy sees no usable CUDA device (driver missing or too old)"
    return None


def _gl_cuda_devices() -> list[int] | str:
    """CUDA devices that share the current GL context's GPU (``cudaGLGetDevices``)."""
    from cuda.bindings import runtime as cudart

    err, count = cudart.cudaGetDeviceCount()
    if int(err) != 0 or count < 1:
        return "no CUDA device"
    result = cudart.cudaGLGetDevices(count, cudart.cudaGLDeviceList.cudaGLDeviceListAll)
    if int(result[0]) != 0:
        return f"cudaGLGetDevices failed ({_error_name(result[0])}): the GL context is not on a CUDA GPU"
    return [int(d) for d in list(result[2])[: int(result[1])]]


def interop_problem(device: torch.device, gl_vendor: str, env: InteropEnvironment | None = None) -> str | None:
    """Why activations on ``device`` cannot take the CUDA path into a context of ``gl_vendor``; None if they can.

    Conditions, in order: the tensor is on CUDA; cupy and cuda-python import;
    a CUDA device is usable; the GL context is NVIDIA's; ``cudaGLGetDevices``
    lists the tensor's device.
    """
    env = env or InteropEnvironment()
    if device.type != "cuda":
        return f"activations are on {device.type}, not CUDA"
    for probe in (env.cupy, env.cuda_python, env.cuda_available):
        problem = probe()
        if problem:
            return problem
    if "nvidia" not in gl_vendor.lower():
        return (
            f"the GL context is {gl_vendor!r}, not NVIDIA's (software or another vendor's GL cannot share CUDA memory)"
        )
    devices = env.gl_devices()
    if isinstance(devices, str):
        return devices
    index = device.index if device.index is not None else torch.cuda.current_device()
    if index not in devices:
        return f"the GL context runs on CUDA device(s) {devices}, the activations on cuda:{index}"
    return None


# --- what is copied, in which format ------------------------------------------------------


def staging_dtype(texture_format: str) -> torch.dtype:
    """The element type the PBO holds: what the texture stores, so GL converts nothing."""
    return torch.float16 if texture_format == "r16f" else torch.float32


def gl_type(texture_format: str) -> int:
    """The ``type`` argument of ``glTexSubImage3D`` for a PBO of :func:`staging_dtype`."""
    return GL_HALF_FLOAT if texture_format == "r16f" else GL_FLOAT


def pbo_bytes(shape: tuple[int, int, int], texture_format: str) -> int:
    """Bytes of a PBO holding a (depth, height, width) texture."""
    d, h, w = shape
    return d * h * w * torch.empty((), dtype=staging_dtype(texture_format)).element_size()


def prepare_source(packed: torch.Tensor, texture_format: str) -> torch.Tensor:
    """A contiguous tensor of the staging dtype, on the input's device, ready to copy.

    bfloat16 goes through float32 (DLPack consumers such as cupy have no
    bfloat16); non-contiguous views are made contiguous on the device.
    """
    t = packed.detach()
    if t.dtype == torch.bfloat16:
        t = t.float()
    t = t.to(staging_dtype(texture_format))
    return t.contiguous()


def _device_index(device: torch.device) -> int:
    return device.index if device.index is not None else torch.cuda.current_device()


def _error_name(err: Any) -> str:
    try:
        from cuda.bindings import runtime as cudart

        return str(cudart.cudaGetErrorName(err)[1].decode())
    except Exception:
        return str(err)


def _check(result: Any, what: str) -> Any:
    """Unpack a cuda-python ``(err, *values)`` result, raising on error."""
    err, *values = result if isinstance(result, tuple) else (result,)
    if int(err) != 0:
        raise InteropUnavailable(f"{what} failed: {_error_name(err)}")
    return values[0] if len(values) == 1 else values


@dataclass
class _Registration:
    pbo: PixelBuffer
    resource: Any


class CudaUploader:
    """Uploads CUDA tensors into GL textures through CUDA-registered pixel buffers."""

    name = "cuda"

    def __init__(self, texture_format: str = "r32f") -> None:
        self.texture_format = texture_format
        self._registrations: dict[int, _Registration] = {}  # keyed by gloo texture id

    def _registration(self, texture: Any, nbytes: int) -> _Registration:
        from cuda.bindings import runtime as cudart

        reg = self._registrations.get(texture.id)
        if reg is not None and reg.pbo.nbytes == nbytes:
            return reg
        if reg is not None:  # the texture was re-specified: register a PBO of the new size
            self._release_one(texture.id)
        pbo = PixelBuffer(nbytes)
        flags = cudart.cudaGraphicsRegisterFlags.cudaGraphicsRegisterFlagsWriteDiscard
        try:
            resource = _check(
                cudart.cudaGraphicsGLRegisterBuffer(pbo.handle, int(flags)), "cudaGraphicsGLRegisterBuffer"
            )
        except Exception:
            pbo.delete()
            raise
        reg = _Registration(pbo, resource)
        self._registrations[texture.id] = reg
        return reg

    def upload(self, texture: Any, packed: torch.Tensor, canvas: Any) -> None:
        import cupy as cp
        from cuda.bindings import runtime as cudart

        from viz3d.gpu.upload import gl_texture_handle

        depth, height, width = (int(v) for v in texture.shape[:3])
        if tuple(packed.shape) != (depth, height, width):
            raise ValueError(f"packed activation {tuple(packed.shape)} does not match texture {(depth, height, width)}")
        source = prepare_source(packed, self.texture_format)
        handle = gl_texture_handle(texture, canvas)  # also runs gloo's queue: the texture exists
        nbytes = source.numel() * source.element_size()
        reg = self._registration(texture, nbytes)
        index = _device_index(source.device)
        stream = torch.cuda.current_stream(source.device).cuda_stream
        _check(cudart.cudaGraphicsMapResources(1, reg.resource, stream), "cudaGraphicsMapResources")
        try:
            ptr, size = _check(cudart.cudaGraphicsResourceGetMappedPointer(reg.resource), "GetMappedPointer")
            memory = cp.cuda.UnownedMemory(int(ptr), int(size), owner=None, device_id=index)
            target = cp.ndarray(
                tuple(source.shape), dtype=cp.dtype(str(source.dtype).replace("torch.", "")),
                memptr=cp.cuda.MemoryPointer(memory, 0),
            )  # fmt: skip
            with cp.cuda.Device(index), cp.cuda.ExternalStream(stream, index):
                target[...] = cp.from_dlpack(source)
        finally:
            _check(cudart.cudaGraphicsUnmapResources(1, reg.resource, stream), "cudaGraphicsUnmapResources")
        reg.pbo.upload_to_texture(handle, (depth, height, width), gl_type(self.texture_format))

    def stats(self, display: torch.Tensor) -> ChannelStats:
        """Per-channel statistics reduced by cupy on the tensor's device, on torch's current stream.

        The tensor is viewed through DLPack (no copy); only the (3, C) result
        reaches the host.
        """
        import cupy as cp

        t = display.detach()
        if t.device.type != "cuda":
            return channel_stats(t)
        if t.dtype == torch.bfloat16:
            t = t.float()  # DLPack consumers have no bfloat16
        index = _device_index(t.device)
        stream = torch.cuda.current_stream(t.device).cuda_stream
        with cp.cuda.Device(index), cp.cuda.ExternalStream(stream, index):
            return channel_stats_array(cp.from_dlpack(t), cp)

    @property
    def registered(self) -> int:
        """Number of live CUDA graphics registrations (for leak checks)."""
        return len(self._registrations)

    def _release_one(self, key: int) -> None:
        from cuda.bindings import runtime as cudart

        reg = self._registrations.pop(key)
        _check(cudart.cudaGraphicsUnregisterResource(reg.resource), "cudaGraphicsUnregisterResource")
        reg.pbo.delete()

    def release(self) -> None:
        """Unregister every PBO from CUDA, then delete it (the context must be current)."""
        for key in list(self._registrations):
            self._release_one(key)
