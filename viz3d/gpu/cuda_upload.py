"""The CUDA → OpenGL upload path: activations never pass through host memory.

One GL pixel buffer (PBO) holding a slice per texture (every layer of a
scene) is registered with CUDA once (``cudaGraphicsGLRegisterBuffer``,
write-discard). Per update, on torch's current stream: map the PBO, wrap the
mapped pointer as cupy arrays, copy (and cast, for R16F) each torch tensor into
its slice through DLPack (no copy on the torch side), unmap — which orders
later GL work after the copies — then one ``glTexSubImage3D`` per texture from
its offset in the bound PBO. The normalization statistics are reduced by cupy
on the same stream. CuPy has no GL registration API (cupy issue 5711), hence
cuda-python for that part.

Only this module knows about cupy and cuda-python; both are imported lazily,
so a machine without them never touches them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch

from viz3d.errors import Viz3dError
from viz3d.gpu.pixel_buffer import PixelBuffer, arena_offsets
from viz3d.gpu.staging import (
    COPY_STRATEGIES,
    fill_slices,
    fill_with_torch,
    gl_type,
    pbo_bytes,
    prepare_source,
    staging_dtype,
)
from viz3d.gpu.stats import channel_stat_rows, channel_stats, stats_per_layer
from viz3d.scene.normalization import ChannelStats


class InteropUnavailable(Viz3dError):
    """One condition for the CUDA path does not hold; the message says which."""


@dataclass
class InteropEnvironment:
    """How each condition of the CUDA path is checked; tests replace the probes.

    Each probe returns None when its condition holds, else the reason;
    ``gl_devices`` takes the tensor's CUDA device index (made current first).
    """

    cupy: Callable[[], str | None] = field(default_factory=lambda: _import_probe("cupy", "cupy-cuda13x"))
    cuda_python: Callable[[], str | None] = field(
        default_factory=lambda: _import_probe("cuda.bindings.runtime", "cuda-python")
    )
    cuda_available: Callable[[], str | None] = field(default_factory=lambda: _cupy_device_probe)
    gl_devices: Callable[[int], list[int] | str] = field(default_factory=lambda: _gl_cuda_devices)


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


def _cudart() -> Any:
    """cuda-python's runtime module (one place, so tests can put a stub runtime in its place)."""
    from cuda.bindings import runtime as cudart

    return cudart


def bindings_version() -> str:
    """The installed cuda-bindings (or cuda-python) distribution and version, for messages and reports."""
    from importlib import metadata

    for dist in ("cuda-bindings", "cuda-python"):
        try:
            return f"{dist} {metadata.version(dist)}"
        except metadata.PackageNotFoundError:
            continue
    return "cuda-bindings (version unknown)"


def fake_success(call: str, what: str) -> str:
    """The message for a GL interop call that reported ``cudaSuccess`` without doing anything.

    Some cuda-bindings releases ship these calls with the driver call left out
    (cuda-python issue 1122, 13.0.2): success, and a zero count or a null handle.
    """
    return (
        f"{call} returned cudaSuccess with {what}: {bindings_version()} does not perform the CUDA-GL interop calls "
        "(cuda-python issue 1122); install another cuda-bindings release, or set VIZ3D_UPLOAD=host"
    )


@contextmanager
def current_device(cudart: Any, index: int) -> Iterator[None]:
    """Make CUDA device ``index`` current (``cudaSetDevice``) for the GL interop calls, then restore the previous one.

    Registration, mapping and ``cudaGLGetDevices`` act in the current device's
    context: without this, a tensor on ``cuda:1`` would be served by device 0's.
    """
    err, previous = cudart.cudaGetDevice()
    previous = int(previous) if int(err) == 0 else None
    if previous != index:
        _check(cudart.cudaSetDevice(index), f"cudaSetDevice({index})", cudart)
    try:
        yield
    finally:
        if previous is not None and previous != index:
            cudart.cudaSetDevice(previous)


def _gl_cuda_devices(index: int) -> list[int] | str:
    """CUDA devices that share the current GL context's GPU (``cudaGLGetDevices``), asked with ``index`` current."""
    cudart = _cudart()
    err, count = cudart.cudaGetDeviceCount()
    if int(err) != 0 or count < 1:
        return "no CUDA device"
    try:
        with current_device(cudart, index):
            result = cudart.cudaGLGetDevices(count, cudart.cudaGLDeviceList.cudaGLDeviceListAll)
    except InteropUnavailable as exc:
        return str(exc)
    if int(result[0]) != 0:
        return f"cudaGLGetDevices failed ({_error_name(result[0], cudart)}): the GL context is not on a CUDA GPU"
    if int(result[1]) < 1:  # the real call fails (cudaErrorNoDevice) rather than succeed with none
        return fake_success("cudaGLGetDevices", "no device")
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
    index = _device_index(device)
    devices = env.gl_devices(index)
    if isinstance(devices, str):
        return devices
    if index not in devices:
        return f"the GL context runs on CUDA device(s) {devices}, the activations on cuda:{index}"
    return None


# --- what is copied, in which format ------------------------------------------------------


def _device_index(device: torch.device) -> int:
    return device.index if device.index is not None else torch.cuda.current_device()


def _error_name(err: Any, cudart: Any = None) -> str:
    try:
        name = (cudart or _cudart()).cudaGetErrorName(err)[1]
        return str(name.decode() if isinstance(name, bytes) else name)
    except Exception:
        return str(err)


def _check(result: Any, what: str, cudart: Any = None) -> Any:
    """Unpack a cuda-python ``(err, *values)`` result, raising on error."""
    err, *values = result if isinstance(result, tuple) else (result,)
    if int(err) != 0:
        raise InteropUnavailable(f"{what} failed: {_error_name(err, cudart)}")
    if not values:
        return None
    return values[0] if len(values) == 1 else values


@contextmanager
def mapped(cudart: Any, resource: Any, stream: int) -> Iterator[tuple[int, int]]:
    """Map ``resource`` on ``stream`` for the body; yields the mapped (pointer, size) in bytes.

    Unmapping orders later GL work after the body's copies on ``stream``. When
    the body (or the pointer query) fails, that error is the one raised: a
    failing unmap then only adds a note to it, never replaces it.
    """
    _check(cudart.cudaGraphicsMapResources(1, resource, stream), "cudaGraphicsMapResources", cudart)
    try:
        ptr, size = _check(
            cudart.cudaGraphicsResourceGetMappedPointer(resource), "cudaGraphicsResourceGetMappedPointer", cudart
        )
        if not int(ptr):
            raise InteropUnavailable(fake_success("cudaGraphicsResourceGetMappedPointer", "a null pointer"))
        yield int(ptr), int(size)
    except BaseException as exc:
        try:
            _check(cudart.cudaGraphicsUnmapResources(1, resource, stream), "cudaGraphicsUnmapResources", cudart)
        except Exception as unmap_error:  # the error in flight is the one that says what went wrong
            if hasattr(exc, "add_note"):
                exc.add_note(f"then unmapping failed too: {unmap_error}")
        raise
    _check(cudart.cudaGraphicsUnmapResources(1, resource, stream), "cudaGraphicsUnmapResources", cudart)


@dataclass
class _Registration:
    """One PBO registered with CUDA, holding consecutive slices for a set of textures."""

    pbo: PixelBuffer
    resource: Any
    sizes: tuple[int, ...]  # bytes per texture
    offsets: list[int]  # byte offset of each texture's slice
    device: int  # the CUDA device whose context holds the registration


class CudaUploader:
    """Uploads CUDA tensors into GL textures through CUDA-registered pixel buffers.

    :meth:`upload_all` (what the renderer calls on every input switch) puts
    every layer in one registered buffer, slices back to back: one map and
    one unmap per update and one ``glTexSubImage3D`` per layer. ``copy``
    says how the slices are filled: ``"batched"`` (default) is one
    ``cupy.concatenate`` into the whole buffer, ``"layers"`` one copy per
    layer, ``"torch"`` one ``torch.cat`` into the buffer viewed by torch
    (fewest Python calls per layer); all are measured by
    ``benchmarks/gpu/bench_gpu.py`` (a deep network's update is bound by
    per-call overhead, not by bytes) so the default can follow the figures.
    """

    name = "cuda"

    def __init__(self, texture_format: str = "r32f", copy: str = "batched") -> None:
        if copy not in COPY_STRATEGIES:
            raise ValueError(f"unknown copy strategy {copy!r}: use one of {', '.join(COPY_STRATEGIES)}")
        self.texture_format = texture_format
        self.copy = copy
        # Keyed by the gloo ids of the textures a buffer serves (one texture, or all layers).
        self._registrations: dict[tuple[int, ...], _Registration] = {}

    def _registration(self, key: tuple[int, ...], sizes: tuple[int, ...], device: int) -> _Registration:
        """The buffer registered for ``key``'s textures; call with ``device`` current (:func:`current_device`)."""
        cudart = _cudart()
        reg = self._registrations.get(key)
        if reg is not None and reg.sizes == sizes and reg.device == device:
            return reg
        if reg is not None:  # a texture was re-specified: register a buffer of the new layout
            self._release_one(key)
        # Back to back (aligned to the element only), so one concatenate can fill the whole buffer.
        offsets, total = arena_offsets(sizes, alignment=int(staging_dtype(self.texture_format).itemsize))
        pbo = PixelBuffer(total)
        flags = cudart.cudaGraphicsRegisterFlags.cudaGraphicsRegisterFlagsWriteDiscard
        try:
            resource = _check(
                cudart.cudaGraphicsGLRegisterBuffer(pbo.handle, int(flags)), "cudaGraphicsGLRegisterBuffer", cudart
            )
            if not int(resource):
                raise InteropUnavailable(fake_success("cudaGraphicsGLRegisterBuffer", "a null resource"))
        except Exception:
            pbo.delete()
            raise
        reg = _Registration(pbo, resource, sizes, offsets, device)
        self._registrations[key] = reg
        return reg

    def upload(self, texture: Any, packed: torch.Tensor, canvas: Any) -> None:
        """Copy one packed (depth, height, width) CUDA tensor into ``texture``."""
        self.upload_all([(texture, packed)], canvas)

    def upload_all(self, items: Sequence[tuple[Any, torch.Tensor]], canvas: Any) -> None:
        """Copy each packed CUDA tensor into its texture, all through one registered buffer."""
        import cupy as cp

        from viz3d.gpu.gl_objects import gl_object_handles

        if not items:
            return
        sources, shapes = [], []
        for texture, packed in items:
            depth, height, width = (int(v) for v in texture.shape[:3])
            shapes.append((depth, height, width))
            if tuple(packed.shape) != shapes[-1]:
                raise ValueError(f"packed activation {tuple(packed.shape)} does not match texture {shapes[-1]}")
            sources.append(prepare_source(packed))
        handles = gl_object_handles([texture for texture, _ in items], canvas)  # also creates queued textures
        sizes = tuple(pbo_bytes(shape, self.texture_format) for shape in shapes)
        device = sources[0].device
        index = _device_index(device)
        stream = torch.cuda.current_stream(device).cuda_stream
        dtype = cp.dtype(str(staging_dtype(self.texture_format)).replace("torch.", ""))
        cudart = _cudart()
        # The tensor's device is current for the registration, the map and the unmap.
        with current_device(cudart, index):
            reg = self._registration(tuple(texture.id for texture, _ in items), sizes, index)
            # Unmapping (at the end of the block) orders the GL uploads below after the copies on ``stream``.
            with mapped(cudart, reg.resource, stream) as (ptr, size):
                memory = cp.cuda.UnownedMemory(ptr, size, owner=None, device_id=index)
                whole = cp.ndarray((reg.pbo.nbytes // dtype.itemsize,), dtype, cp.cuda.MemoryPointer(memory, 0))
                with cp.cuda.Device(index), cp.cuda.ExternalStream(stream, index):
                    if self.copy == "torch":
                        fill_with_torch(torch.from_dlpack(whole), sources)  # one DLPack view, of the buffer
                    else:
                        # Views of the torch tensors (any strides): no copy before the one into the buffer.
                        fill_slices(cp, whole, [cp.from_dlpack(s) for s in sources], reg.offsets, self.copy)
        reg.pbo.upload_to_textures(list(zip(handles, shapes, reg.offsets, strict=True)), gl_type(self.texture_format))

    def stats(self, displays: Sequence[torch.Tensor]) -> list[ChannelStats]:
        """Per-channel statistics, reduced by cupy on the tensors' device on torch's current stream.

        Tensors are viewed through DLPack (no copy); every layer's (4, C) rows
        reach the host in one copy.
        """
        import cupy as cp

        if not displays:
            return []
        if any(d.device.type != "cuda" for d in displays):
            return [channel_stats(d) for d in displays]
        device = displays[0].device
        index = _device_index(device)
        stream = torch.cuda.current_stream(device).cuda_stream
        with cp.cuda.Device(index), cp.cuda.ExternalStream(stream, index):
            rows = []
            for display in displays:
                t = display.detach()
                if t.dtype == torch.bfloat16:
                    t = t.float()  # DLPack consumers have no bfloat16
                rows.append(channel_stat_rows(cp.from_dlpack(t), cp))
            host = cp.concatenate(rows, axis=1).get()
        return stats_per_layer(host, [int(d.shape[0]) for d in displays])

    @property
    def registered(self) -> int:
        """Number of live CUDA graphics registrations (for leak checks)."""
        return len(self._registrations)

    def _release_one(self, key: tuple[int, ...]) -> None:
        cudart = _cudart()
        reg = self._registrations.pop(key)
        with current_device(cudart, reg.device):
            _check(cudart.cudaGraphicsUnregisterResource(reg.resource), "cudaGraphicsUnregisterResource", cudart)
        reg.pbo.delete()  # only once CUDA has let go of it

    def release(self) -> None:
        """Unregister every PBO from CUDA, then delete it (the context must be current)."""
        for key in list(self._registrations):
            self._release_one(key)
