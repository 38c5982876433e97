"""The CUDA path's guards against bindings that fake success, device selection and unmap errors.

Run on the CPU with a stub of cuda-python's runtime standing in for the real
one (the calls, their order and their results are what is checked).
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

from viz3d.gpu import cuda_upload
from viz3d.gpu.cuda_upload import CudaUploader, InteropEnvironment, InteropUnavailable, interop_problem, mapped

NVIDIA = "NVIDIA Corporation"
SUCCESS, INVALID_VALUE = 0, 1
VERSION = "cuda-bindings 13.0.2"


class StubRuntime:
    """Enough of ``cuda.bindings.runtime`` (its names) for the interop calls; records each call and the device."""

    class cudaGLDeviceList:
        cudaGLDeviceListAll = 1

    class cudaGraphicsRegisterFlags:
        cudaGraphicsRegisterFlagsWriteDiscard = 2

    def __init__(self, gl_count: int = 2, resource: int = 0xBEEF, pointer: int = 0xD000, unmap_err: int = 0) -> None:
        self.device = 0
        self.gl_count, self.resource, self.pointer, self.unmap_err = gl_count, resource, pointer, unmap_err
        self.calls: list[tuple[str, int]] = []

    def _log(self, name: str) -> None:
        self.calls.append((name, self.device))

    def cudaGetErrorName(self, err: int) -> tuple[int, bytes]:
        return SUCCESS, {INVALID_VALUE: b"cudaErrorInvalidValue"}.get(err, b"cudaErrorUnknown")

    def cudaGetDeviceCount(self) -> tuple[int, int]:
        return SUCCESS, 2

    def cudaGetDevice(self) -> tuple[int, int]:
        return SUCCESS, self.device

    def cudaSetDevice(self, index: int) -> tuple[int]:
        self.device = index
        self._log("cudaSetDevice")
        return (SUCCESS,)

    def cudaGLGetDevices(self, count: int, which: int) -> tuple[int, int, list[int]]:
        self._log("cudaGLGetDevices")
        return SUCCESS, self.gl_count, [self.device, 1 - self.device][: max(count, 1)]

    def cudaGraphicsGLRegisterBuffer(self, pbo: int, flags: int) -> tuple[int, int]:
        self._log("cudaGraphicsGLRegisterBuffer")
        return SUCCESS, self.resource

    def cudaGraphicsUnregisterResource(self, resource: int) -> tuple[int]:
        self._log("cudaGraphicsUnregisterResource")
        return (SUCCESS,)

    def cudaGraphicsMapResources(self, count: int, resource: int, stream: int) -> tuple[int]:
        self._log("cudaGraphicsMapResources")
        return (SUCCESS,)

    def cudaGraphicsResourceGetMappedPointer(self, resource: int) -> tuple[int, int, int]:
        self._log("cudaGraphicsResourceGetMappedPointer")
        return SUCCESS, self.pointer, 4096

    def cudaGraphicsUnmapResources(self, count: int, resource: int, stream: int) -> tuple[int]:
        self._log("cudaGraphicsUnmapResources")
        return (self.unmap_err,)


class StubPixelBuffer:
    """A PBO without GL."""

    deleted = 0

    def __init__(self, nbytes: int) -> None:
        self.nbytes, self.handle = nbytes, 7

    def delete(self) -> None:
        StubPixelBuffer.deleted += 1


@pytest.fixture
def runtime(monkeypatch: pytest.MonkeyPatch) -> StubRuntime:
    stub = StubRuntime()
    monkeypatch.setattr(cuda_upload, "_cudart", lambda: stub)
    monkeypatch.setattr(cuda_upload, "bindings_version", lambda: VERSION)
    monkeypatch.setattr(cuda_upload, "PixelBuffer", StubPixelBuffer)
    StubPixelBuffer.deleted = 0
    return stub


def real_gl_devices() -> InteropEnvironment:
    """Every condition holds up to the GL device query, which goes to the (stub) runtime."""
    return InteropEnvironment(
        cupy=lambda: None,
        cuda_python=lambda: None,
        cuda_available=lambda: None,
        gl_devices=cuda_upload._gl_cuda_devices,
    )


def assert_names_the_fake_success(message: str, call: str) -> None:
    assert f"{call} returned cudaSuccess" in message and VERSION in message and "issue 1122" in message
    assert "\n" not in message


def test_success_with_no_gl_device_means_interop_is_unavailable(runtime: StubRuntime) -> None:
    runtime.gl_count = 0
    problem = interop_problem(torch.device("cuda", 0), NVIDIA, real_gl_devices())
    assert problem is not None
    assert_names_the_fake_success(problem, "cudaGLGetDevices")


def test_the_tensors_device_is_current_for_the_probe_and_restored_after(runtime: StubRuntime) -> None:
    assert interop_problem(torch.device("cuda", 1), NVIDIA, real_gl_devices()) is None  # device 1 lists itself
    assert runtime.calls == [("cudaSetDevice", 1), ("cudaGLGetDevices", 1), ("cudaSetDevice", 0)]
    assert runtime.device == 0


def test_a_failing_set_device_is_the_reason(runtime: StubRuntime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "cudaSetDevice", lambda index: (INVALID_VALUE,))
    problem = interop_problem(torch.device("cuda", 1), NVIDIA, real_gl_devices())
    assert problem == "cudaSetDevice(1) failed: cudaErrorInvalidValue"


def test_success_with_a_null_resource_means_interop_is_unavailable(runtime: StubRuntime) -> None:
    runtime.resource = 0
    up = CudaUploader()
    with pytest.raises(InteropUnavailable) as info, cuda_upload.current_device(runtime, 1):
        up._registration((1, 2), (64, 32), 1)
    assert_names_the_fake_success(str(info.value), "cudaGraphicsGLRegisterBuffer")
    assert up.registered == 0 and StubPixelBuffer.deleted == 1  # the buffer does not outlive the failure
    assert ("cudaGraphicsGLRegisterBuffer", 1) in runtime.calls and runtime.device == 0


def test_registration_and_release_happen_on_the_tensors_device(runtime: StubRuntime) -> None:
    up = CudaUploader()
    with cuda_upload.current_device(runtime, 1):
        reg = up._registration((1, 2), (64, 32), 1)
        assert up._registration((1, 2), (64, 32), 1) is reg  # registered once
    assert reg.offsets == [0, 64] and reg.pbo.nbytes == 96 and up.registered == 1
    up.release()  # from device 0: switches to device 1 for the unregistration
    assert runtime.calls == [
        ("cudaSetDevice", 1),
        ("cudaGraphicsGLRegisterBuffer", 1),
        ("cudaSetDevice", 0),
        ("cudaSetDevice", 1),
        ("cudaGraphicsUnregisterResource", 1),
        ("cudaSetDevice", 0),
    ]
    assert up.registered == 0 and StubPixelBuffer.deleted == 1


def test_success_with_a_null_mapped_pointer_is_unavailable_and_still_unmaps(runtime: StubRuntime) -> None:
    runtime.pointer = 0
    with pytest.raises(InteropUnavailable) as info, mapped(runtime, 0xBEEF, 0):
        pytest.fail("the body must not run without a pointer")
    assert_names_the_fake_success(str(info.value), "cudaGraphicsResourceGetMappedPointer")
    assert runtime.calls[-1][0] == "cudaGraphicsUnmapResources"


def test_a_failing_unmap_is_raised_when_nothing_else_failed(runtime: StubRuntime) -> None:
    runtime.unmap_err = INVALID_VALUE
    with pytest.raises(InteropUnavailable, match=r"^cudaGraphicsUnmapResources failed: cudaErrorInvalidValue$"):  # noqa: SIM117
        with mapped(runtime, 0xBEEF, 0) as (ptr, size):
            assert (ptr, size) == (0xD000, 4096)


def test_a_failing_unmap_does_not_hide_the_copys_error(runtime: StubRuntime) -> None:
    runtime.unmap_err = INVALID_VALUE
    with pytest.raises(ValueError, match="the copy failed") as info:  # noqa: SIM117
        with mapped(runtime, 0xBEEF, 0):
            raise ValueError("the copy failed")
    assert [name for name, _ in runtime.calls].count("cudaGraphicsUnmapResources") == 1  # unmapped once, anyway
    notes: Any = getattr(info.value, "__notes__", [])
    assert not notes or "unmapping failed too: cudaGraphicsUnmapResources failed" in notes[0]


def test_the_bindings_version_is_named_from_the_installed_distribution() -> None:
    version = cuda_upload.bindings_version()
    assert version.startswith(("cuda-bindings", "cuda-python"))
