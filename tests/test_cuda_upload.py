"""The CUDA → GL path on a real NVIDIA GPU (skipped without one; see benchmarks/gpu/check.sh)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from tests.gl_helpers import assert_within_one_half_step, read_texture
from viz3d.gpu.cuda_upload import CudaUploader
from viz3d.gpu.plan import pack_for_texture, plan_texture
from viz3d.gpu.staging import staging_dtype
from viz3d.gpu.upload import HostUploader, select_uploader

pytestmark = [pytest.mark.cuda, pytest.mark.gl]


def texture(fmt: str, shape: tuple[int, int, int]) -> Any:
    from vispy import gloo

    return gloo.Texture3D(shape=(*shape, 1), format="red", internalformat=fmt, interpolation="nearest")


def uploaded(data: torch.Tensor, canvas: Any, limit: int = 2048, fmt: str = "r32f") -> tuple[Any, Any, CudaUploader]:
    """A texture for ``data`` after one CUDA upload: (plan, texture, uploader)."""
    plan = plan_texture(*data.shape, limit)
    tex = texture(fmt, plan.texture_shape)
    up = CudaUploader(fmt)
    up.upload(tex, pack_for_texture(data, plan), canvas)
    return plan, tex, up


def both_paths(data: torch.Tensor, fmt: str, canvas: Any) -> tuple[np.ndarray, np.ndarray]:
    plan = plan_texture(*data.shape, 2048)
    packed = pack_for_texture(data, plan)
    a, b = texture(fmt, plan.texture_shape), texture(fmt, plan.texture_shape)
    cuda = CudaUploader(fmt)
    cuda.upload(a, packed, canvas)
    HostUploader().upload(b, packed.cpu(), canvas)
    out = read_texture(a, canvas), read_texture(b, canvas)
    cuda.release()
    a.delete()
    b.delete()
    return out


def test_the_gl_context_is_nvidia_and_interop_is_selected(gl: Any) -> None:
    from viz3d.renderer.context import gl_info

    assert "nvidia" in gl_info()["vendor"].lower()
    uploader, why = select_uploader(None, torch.device("cuda", 0), gl_info()["vendor"])
    assert uploader.name == "cuda" and isinstance(uploader.cuda, CudaUploader), why  # type: ignore[attr-defined]


def test_the_egl_device_opened_is_the_one_of_the_cuda_device(gl: Any) -> None:
    """Asked of EGL itself (current display → its EGL device → EGL_CUDA_DEVICE_NV), not of viz3d's note."""
    import os

    from viz3d.renderer import context
    from viz3d.renderer.egl_device import current_cuda_device

    gl.set_current()
    expected = int(os.environ.get("VIZ3D_CUDA_DEVICE", torch.cuda.current_device()))
    assert current_cuda_device() == expected, f"EGL device selection: {context.egl_device_note!r}"
    assert context.egl_device_note == f"EGL device of CUDA device {expected}"


def test_r32f_textures_equal_the_host_path_bit_for_bit(gl: Any) -> None:
    data = torch.randn(64, 56, 56, device="cuda")
    data[3, 4, 5] = float("inf")
    cuda, host = both_paths(data, "r32f", gl)
    assert cuda.tobytes() == host.tobytes()


def test_r16f_within_half_precision(gl: Any) -> None:
    data = torch.randn(32, 28, 28, device="cuda") * 10
    cuda, host = both_paths(data, "r16f", gl)
    np.testing.assert_array_equal(cuda, data.half().float().cpu().numpy())  # cupy's cast: round to nearest even
    assert_within_one_half_step(host, data.cpu().numpy())  # the driver's cast: its own rounding


@pytest.mark.parametrize("kind", ["non-contiguous", "float16", "bfloat16", "packed"])
def test_views_and_dtypes(gl: Any, kind: str) -> None:
    base = torch.randn(16, 20, 24, device="cuda")
    data = {
        "non-contiguous": base.transpose(1, 2),
        "float16": base.half(),
        "bfloat16": base.bfloat16(),
        "packed": base,
    }[kind]
    limit = 8 if kind == "packed" else 2048  # forces channels side by side
    plan, tex, up = uploaded(data, gl, limit)
    expected = pack_for_texture(data.float().cpu(), plan).numpy()
    np.testing.assert_array_equal(read_texture(tex, gl), expected)
    up.release()
    tex.delete()


@pytest.mark.parametrize("copy", ["batched", "layers", "torch"])
@pytest.mark.parametrize("fmt", ["r32f", "r16f"])
def test_all_layers_through_one_registered_buffer(gl: Any, fmt: str, copy: str) -> None:
    layers = [torch.randn(64, 56, 56, device="cuda"), torch.randn(3, 7, 5, device="cuda"), torch.randn(512, 7, 7)]
    layers[2] = layers[2].cuda().transpose(1, 2)  # strided: cupy reads it through DLPack as it is
    textures = [texture(fmt, tuple(t.shape)) for t in layers]
    up = CudaUploader(fmt, copy)
    for step in range(3):  # the same buffer serves every update
        up.upload_all([(tex, t + step) for tex, t in zip(textures, layers, strict=True)], gl)
        assert up.registered == 1
    for tex, t in zip(textures, layers, strict=True):
        expected = (t + 2).to(staging_dtype(fmt)).float().cpu().numpy()
        np.testing.assert_array_equal(read_texture(tex, gl), expected)
    up.release()
    for tex in textures:
        tex.delete()


def test_an_upload_makes_no_device_to_host_copy(gl: Any) -> None:
    from torch.profiler import ProfilerActivity, profile

    data = torch.randn(256, 56, 56, device="cuda")
    plan, tex, up = uploaded(data, gl)  # registration outside the profile
    packed = pack_for_texture(data, plan)
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        up.upload(tex, packed, gl)
        torch.cuda.synchronize()
    names = " ".join(e.name for e in prof.events())
    assert "DtoH" not in names and "Memcpy DtoH" not in names
    up.release()
    tex.delete()


def test_1000_updates_leak_nothing(gl: Any) -> None:
    data = torch.randn(64, 28, 28, device="cuda")
    plan, tex, up = uploaded(data, gl)
    torch.cuda.synchronize()
    before = torch.cuda.memory_allocated()
    free_before = torch.cuda.mem_get_info()[0]
    for i in range(1000):
        up.upload(tex, pack_for_texture(data + i, plan), gl)
    torch.cuda.synchronize()
    assert up.registered == 1
    assert torch.cuda.memory_allocated() == before
    assert abs(torch.cuda.mem_get_info()[0] - free_before) < 64 * 2**20
    up.release()
    assert up.registered == 0
    tex.delete()


@pytest.mark.parametrize("kind", ["float32", "nonfinite", "float16", "bfloat16", "non-contiguous"])
def test_cupy_statistics_equal_the_host_paths(kind: str) -> None:
    base = torch.randn(48, 30, 30, device="cuda") * 3
    if kind == "nonfinite":
        base[0, 1, 2], base[1, 0, 0], base[2] = float("nan"), float("-inf"), float("nan")
    data = {"float16": base.half(), "bfloat16": base.bfloat16(), "non-contiguous": base.transpose(1, 2)}.get(kind, base)
    [on_device, _] = CudaUploader().stats([data, base[:5]])  # two layers, one copy to the host
    [host] = HostUploader().stats([data.cpu()])
    # min/max are all the shaders use: they must be the same bits, so the pictures are identical.
    assert on_device.minimum.tobytes() == host.minimum.tobytes()
    assert on_device.maximum.tobytes() == host.maximum.tobytes()
    np.testing.assert_allclose(on_device.mean, host.mean, rtol=1e-5, atol=1e-6)
    assert on_device.nonfinite == host.nonfinite


def test_renderer_on_cuda_tensors_draws_the_same_picture_as_the_host_path(
    gl: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import viz3d
    from viz3d.models.default_net import default_model
    from viz3d.models.shapes import sample_image

    model = default_model().cuda()
    x = torch.from_numpy(sample_image(0))[None].cuda()
    trace = viz3d.capture(model, x)
    assert trace.node("conv1").tensor.is_cuda
    monkeypatch.setenv("VIZ3D_UPLOAD", "cuda")
    a = viz3d.render(trace, size=(320, 180), ssaa=1)
    monkeypatch.setenv("VIZ3D_UPLOAD", "host")
    b = viz3d.render(trace, size=(320, 180), ssaa=1)
    np.testing.assert_array_equal(a, b)
