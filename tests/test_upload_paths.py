"""Choosing the upload path, and the pieces of the CUDA path that need no GPU."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from viz3d.errors import Viz3dError, Viz3dWarning
from viz3d.gpu.cuda_upload import CudaUploader, InteropEnvironment, InteropUnavailable, interop_problem
from viz3d.gpu.pixel_buffer import GL_FLOAT, GL_HALF_FLOAT
from viz3d.gpu.staging import gl_type, pbo_bytes, prepare_source, staging_dtype
from viz3d.gpu.upload import GuardedCudaUploader, HostUploader, select_uploader

CUDA0 = torch.device("cuda", 0)
NVIDIA = "NVIDIA Corporation"


def ok() -> None:
    return None


def env(**overrides: Any) -> InteropEnvironment:
    """An environment where every condition holds, except those overridden."""
    base: dict[str, Any] = {"cupy": ok, "cuda_python": ok, "cuda_available": ok, "gl_devices": lambda _: [0]}
    base.update(overrides)
    return InteropEnvironment(**base)


@pytest.mark.parametrize(
    ("device", "vendor", "environment", "reason"),
    [
        (torch.device("cpu"), NVIDIA, env(), "activations are on cpu, not CUDA"),
        (CUDA0, NVIDIA, env(cupy=lambda: "cupy cannot be imported"), "cupy cannot be imported"),
        (CUDA0, NVIDIA, env(cuda_python=lambda: "cuda.bindings.runtime cannot"), "cuda.bindings.runtime cannot"),
        (CUDA0, NVIDIA, env(cuda_available=lambda: "cupy sees no usable CUDA device"), "no usable CUDA device"),
        (CUDA0, "Mesa", env(), "the GL context is 'Mesa', not NVIDIA's"),
        (CUDA0, NVIDIA, env(gl_devices=lambda _: "cudaGLGetDevices failed"), "cudaGLGetDevices failed"),
        (
            torch.device("cuda", 1),
            NVIDIA,
            env(gl_devices=lambda _: [0]),
            "CUDA device(s) [0], the activations on cuda:1",
        ),
    ],
)
def test_each_failing_condition_is_named(
    device: torch.device, vendor: str, environment: InteropEnvironment, reason: str
) -> None:
    problem = interop_problem(device, vendor, environment)
    assert problem is not None and reason in problem
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        uploader, why = select_uploader(None, device, vendor, env=environment)
    assert isinstance(uploader, HostUploader) and reason in why
    said = [w for w in caught if issubclass(w.category, Viz3dWarning)]
    assert len(said) == (1 if device.type == "cuda" else 0)  # CPU users are not told about CUDA
    with pytest.raises(InteropUnavailable, match="asked for") as info:
        select_uploader("cuda", device, vendor, env=environment)
    assert reason in str(info.value) and "\n" not in str(info.value)


def test_all_conditions_met_selects_the_cuda_path() -> None:
    assert interop_problem(CUDA0, NVIDIA, env()) is None
    uploader, why = select_uploader(None, CUDA0, NVIDIA, "r16f", env=env())
    assert isinstance(uploader, GuardedCudaUploader) and uploader.name == "cuda" and "cuda path" in why
    assert uploader.cuda.texture_format == "r16f" and uploader.cuda.registered == 0
    assert isinstance(uploader.fallback, HostUploader)  # auto: the host path takes over on a failure
    forced, _ = select_uploader("cuda", CUDA0, NVIDIA, env=env())
    assert isinstance(forced, GuardedCudaUploader) and forced.fallback is None


class FailingCuda(CudaUploader):
    """A CUDA path whose CUDA calls fail, as an unverified driver or binding might."""

    def __init__(self) -> None:
        super().__init__()
        self.released = 0

    def upload_all(self, items: Any, canvas: Any) -> None:
        raise RuntimeError("cudaErrorInvalidGraphicsContext")

    def release(self) -> None:
        self.released += 1


@pytest.mark.gl
def test_a_failing_cuda_path_falls_back_to_the_host_path_once(gl: Any) -> None:
    from vispy import gloo

    from tests.gl_helpers import read_texture

    guarded = GuardedCudaUploader(FailingCuda(), HostUploader())
    tex = gloo.Texture3D(shape=(2, 3, 4, 1), format="red", internalformat="r32f", interpolation="nearest")
    data = torch.randn(2, 3, 4)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        guarded.upload_all([(tex, data)], gl)
        guarded.upload_all([(tex, data * 2)], gl)
    messages = [str(w.message) for w in caught if issubclass(w.category, Viz3dWarning)]
    assert len(messages) == 1 and "cudaErrorInvalidGraphicsContext" in messages[0]
    assert guarded.name == "host" and guarded.cuda.released == 1  # type: ignore[attr-defined]
    np.testing.assert_array_equal(read_texture(tex, gl), (data * 2).numpy())  # the picture is still right
    [stats] = guarded.stats([data])
    assert stats.maximum.tolist() == data.amax(dim=(1, 2)).tolist()
    tex.delete()


def test_a_failing_forced_cuda_path_is_one_line() -> None:
    guarded = GuardedCudaUploader(FailingCuda(), None)
    with pytest.raises(InteropUnavailable) as info:
        guarded.upload_all([(None, torch.zeros(1, 1, 1))], None)
    assert "cudaErrorInvalidGraphicsContext" in str(info.value) and "VIZ3D_UPLOAD=host" in str(info.value)
    assert "\n" not in str(info.value)


def test_the_environment_variable_and_argument_force_a_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIZ3D_UPLOAD", "host")
    uploader, why = select_uploader(None, CUDA0, NVIDIA, env=env())
    assert isinstance(uploader, HostUploader) and "VIZ3D_UPLOAD" in why
    monkeypatch.setenv("VIZ3D_UPLOAD", "cuda")
    with pytest.raises(InteropUnavailable, match="VIZ3D_UPLOAD"):
        select_uploader(None, torch.device("cpu"), "Mesa", env=env())
    monkeypatch.setenv("VIZ3D_UPLOAD", "gpu")
    with pytest.raises(Viz3dError, match="unknown upload path 'gpu'"):
        select_uploader(None)
    uploader, _ = select_uploader("host", CUDA0, NVIDIA, env=env())  # the argument wins over the variable
    assert isinstance(uploader, HostUploader)


def test_formats_bytes_and_gl_types() -> None:
    assert staging_dtype("r32f") == torch.float32 and staging_dtype("r16f") == torch.float16
    assert gl_type("r32f") == GL_FLOAT and gl_type("r16f") == GL_HALF_FLOAT
    assert pbo_bytes((64, 112, 112), "r32f") == 64 * 112 * 112 * 4
    assert pbo_bytes((64, 112, 112), "r16f") == 64 * 112 * 112 * 2


@pytest.mark.parametrize("fmt", ["r32f", "r16f"])
def test_prepare_source_and_the_staging_copy_match_the_host_path(fmt: str) -> None:
    """The CUDA path's copy, with numpy standing in for cupy (same assignment semantics)."""
    base = torch.randn(4, 6, 10) * 100
    view = base.transpose(1, 2)  # non-contiguous
    for src in (view, view.half(), view.bfloat16()):
        out = prepare_source(src)
        assert out.dtype != torch.bfloat16 and out.shape == view.shape
        staged = np.empty(tuple(view.shape), str(staging_dtype(fmt)).replace("torch.", ""))
        staged[...] = out.numpy()  # what ``target[...] = cp.from_dlpack(source)`` does on the device
        assert staged.nbytes == pbo_bytes(tuple(view.shape), fmt)
        # The texture then holds exactly the host path's values: the float32 input rounded to the format.
        expected = src.float().to(staging_dtype(fmt)).numpy()
        np.testing.assert_array_equal(staged, expected)


@pytest.mark.gl
def test_host_path_texture_reads_back_exactly(gl: Any) -> None:
    from tests.gl_helpers import read_texture
    from viz3d.gpu.plan import pack_for_texture, plan_texture

    data = torch.randn(5, 7, 9)
    data[1, 2, 3] = float("nan")
    for fmt in ("r32f", "r16f"):
        from vispy import gloo

        plan = plan_texture(5, 7, 9, 2048)
        tex = gloo.Texture3D(shape=(*plan.texture_shape, 1), format="red", internalformat=fmt, interpolation="nearest")
        HostUploader().upload(tex, pack_for_texture(data, plan), gl)
        back = read_texture(tex, gl)
        if fmt == "r32f":
            np.testing.assert_array_equal(back, data.numpy())  # NaN compares equal with array_equal's nan handling
        else:  # GL converts float to half but does not fix the rounding mode: any neighbouring half is right
            from tests.gl_helpers import assert_within_one_half_step

            assert_within_one_half_step(back, data.numpy())
        tex.delete()


def test_the_half_step_comparison_accepts_either_rounding_and_nothing_further() -> None:
    from tests.gl_helpers import assert_within_one_half_step

    exact = np.array([1 + 2**-11 + 2**-13, -3.3, 0.1, 6e-6, np.nan], np.float32)  # 6e-6: a half subnormal
    nearest = exact.astype(np.float16).astype(np.float32)
    toward_zero = np.array([1.0, -3.298828125, 0.0999755859375, 100 * 2**-24, np.nan], np.float32)
    assert not np.array_equal(nearest[:4], toward_zero[:4])
    assert_within_one_half_step(nearest, exact)
    assert_within_one_half_step(toward_zero, exact)
    two_steps = nearest.copy()
    two_steps[1] -= 2 * float(np.spacing(np.float16(3.3)))
    with pytest.raises(AssertionError):
        assert_within_one_half_step(two_steps, exact)


def test_egl_device_selection_leaves_mesa_alone() -> None:
    code = (
        "import os; os.environ['PYOPENGL_PLATFORM']='egl'; os.environ.setdefault('EGL_PLATFORM','surfaceless');"
        "from viz3d.renderer.egl_device import prefer_cuda_device; print(prefer_cuda_device(0))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path(__file__).parents[1]
    )
    assert "kept the default display" in out.stdout


@pytest.mark.gl
def test_egl_reports_no_cuda_device_behind_mesas_display(gl: Any) -> None:
    """The query the GPU check uses to see which EGL device was opened, on an EGL without CUDA devices."""
    from viz3d.renderer.context import nvidia_egl_selected
    from viz3d.renderer.egl_device import current_cuda_device

    if nvidia_egl_selected():
        pytest.skip("NVIDIA's EGL: tests/test_cuda_upload.py checks the device it opened")
    gl.set_current()
    assert current_cuda_device() is None


def test_arena_offsets_by_hand() -> None:
    from viz3d.gpu.pixel_buffer import arena_offsets

    assert arena_offsets([1000, 256, 4, 600], alignment=256) == ([0, 1024, 1280, 1536], 2136)
    assert arena_offsets([8, 8], alignment=4) == ([0, 8], 16)
    assert arena_offsets([6, 2], alignment=4) == ([0, 8], 10)
    assert arena_offsets([], alignment=4) == ([], 0)


@pytest.mark.parametrize("copy", ["batched", "layers", "torch"])
@pytest.mark.parametrize("fmt", ["r32f", "r16f"])
def test_slices_of_the_staging_buffer_hold_each_layer(copy: str, fmt: str) -> None:
    """The CUDA path's buffer fill, with numpy standing in for cupy (same semantics) and torch on the CPU."""
    from viz3d.gpu.pixel_buffer import arena_offsets
    from viz3d.gpu.staging import fill_slices, fill_with_torch

    torch.manual_seed(0)
    layers = [torch.randn(3, 4, 5) * 50, torch.randn(2, 7, 1).half(), torch.randn(6, 2, 3).transpose(1, 2)]
    shapes = [tuple(t.shape) for t in layers]
    dtype = staging_dtype(fmt)
    offsets, total = arena_offsets([pbo_bytes(s, fmt) for s in shapes], alignment=dtype.itemsize)
    assert offsets == [0, 60 * dtype.itemsize, 74 * dtype.itemsize] and total == 110 * dtype.itemsize
    whole = np.full(total // dtype.itemsize, np.nan, str(dtype).replace("torch.", ""))
    if copy == "torch":
        fill_with_torch(torch.from_numpy(whole), [prepare_source(t) for t in layers])  # a view: fills ``whole``
    else:
        fill_slices(np, whole, [prepare_source(t).numpy() for t in layers], offsets, copy)
    for t, shape, offset in zip(layers, shapes, offsets, strict=True):
        start = offset // dtype.itemsize
        got = whole[start : start + t.numel()].reshape(shape)
        np.testing.assert_array_equal(got, t.float().to(dtype).numpy())


def test_an_unknown_copy_strategy_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown copy strategy 'fast'"):
        CudaUploader(copy="fast")


@pytest.mark.gl
@pytest.mark.parametrize("fmt", ["r32f", "r16f"])
def test_pixel_buffer_uploads_into_textures_from_their_offsets(gl: Any, fmt: str) -> None:
    """The GL half of the CUDA path, on any GL: fill one PBO's slices, upload each texture, read back."""
    from vispy import gloo

    from tests.gl_helpers import read_texture
    from viz3d.gpu.gl_objects import gl_object_handle
    from viz3d.gpu.pixel_buffer import PixelBuffer, arena_offsets

    shapes = [(6, 5, 7), (1, 3, 3), (4, 9, 2)]
    data = [torch.randn(*shape).to(staging_dtype(fmt)) for shape in shapes]
    textures = [
        gloo.Texture3D(shape=(*shape, 1), format="red", internalformat=fmt, interpolation="nearest") for shape in shapes
    ]
    offsets, total = arena_offsets([pbo_bytes(shape, fmt) for shape in shapes], alignment=4)
    pbo = PixelBuffer(total)
    for d, offset in zip(data, offsets, strict=True):
        pbo.write_from_host(d.numpy().tobytes(), offset)
    handles = [gl_object_handle(tex, gl) for tex in textures]
    pbo.upload_to_textures(list(zip(handles, shapes, offsets, strict=True)), gl_type(fmt))
    for tex, d in zip(textures, data, strict=True):
        np.testing.assert_array_equal(read_texture(tex, gl), d.float().numpy())
    # The PBO is unbound afterwards: gloo's own uploads still work.
    textures[0].set_data(np.zeros((6, 5, 7, 1), np.float32))
    gl.context.flush_commands()
    np.testing.assert_array_equal(read_texture(textures[0], gl), np.zeros((6, 5, 7), np.float32))
    pbo.delete()
    for tex in textures:
        tex.delete()


# --- normalization statistics: torch (host path) and the array-module version (cupy on the CUDA path) ---


def planted() -> torch.Tensor:
    """(4, 5, 6) values with NaN/±Inf planted, and channel 3 with no finite value at all."""
    t = torch.arange(4 * 5 * 6, dtype=torch.float32).reshape(4, 5, 6) - 40.0
    t[0, 0, 0], t[1, 2, 3], t[2, 4, 5] = float("nan"), float("inf"), float("-inf")
    t[3] = float("nan")
    return t


def test_torch_statistics_by_hand() -> None:
    t = planted()
    [s] = HostUploader().stats([t])
    # Channel 0 without its NaN at (0, 0): values -39 .. -11; channel 1 without +Inf.
    assert s.minimum.tolist() == [-39.0, -10.0, 20.0, 0.0]
    assert s.maximum.tolist() == [-11.0, 19.0, 48.0, 0.0]
    ch1 = [v for v in range(-10, 20) if v != -10 + 2 * 6 + 3]
    assert s.mean[1] == pytest.approx(sum(ch1) / len(ch1))
    assert s.mean[3] == 0.0 and s.nonfinite == 3 + 30


@pytest.mark.parametrize("kind", ["finite", "planted", "float16", "non-contiguous", "one-channel"])
def test_array_module_statistics_equal_torch(kind: str) -> None:
    from viz3d.gpu.stats import channel_stat_rows, channel_stats, stats_from_rows

    rng = torch.Generator().manual_seed(3)
    base = torch.randn(24, 13, 17, generator=rng) * 5
    data = {
        "finite": base,
        "planted": planted(),
        "float16": base.half(),
        "non-contiguous": base.transpose(1, 2),
        "one-channel": base[:1],
    }[kind]
    expected = channel_stats(data)
    got = stats_from_rows(channel_stat_rows(data.numpy(), np))
    assert got.minimum.dtype == np.float32 and got.minimum.shape == (data.shape[0],)
    assert got.minimum.tobytes() == expected.minimum.tobytes()
    assert got.maximum.tobytes() == expected.maximum.tobytes()
    np.testing.assert_allclose(got.mean, expected.mean, rtol=1e-5, atol=1e-5)
    assert got.nonfinite == expected.nonfinite


def test_statistics_of_several_layers_split_from_one_copy() -> None:
    from viz3d.gpu.stats import channel_stat_rows, channel_stats, stats_per_layer

    layers = [planted(), torch.randn(7, 3, 3), torch.randn(1, 9, 2)]
    rows = np.concatenate([channel_stat_rows(t.numpy(), np) for t in layers], axis=1)
    assert rows.shape == (4, 4 + 7 + 1)
    for got, t in zip(stats_per_layer(rows, [4, 7, 1]), layers, strict=True):
        expected = channel_stats(t)
        assert got.minimum.tobytes() == expected.minimum.tobytes()
        assert got.maximum.tobytes() == expected.maximum.tobytes()
        assert got.nonfinite == expected.nonfinite
