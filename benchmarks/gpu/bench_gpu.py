"""GPU benchmark: CUDA-path vs host-path upload of ResNet-50-sized activations, and frame time.

Same run, same data: every convolution output of ResNet-50 for one 224×224
image (53 layers, 26,560 maps, 10.6M values, 42 MB in float32) as CUDA
tensors.

- upload of all layers through the CUDA path (median of 100 after warm-up)
  and through the host path (median of 20), in ms and GB/s;
- the CUDA path's fixed cost: the same 53 uploads of 1-texel textures (map,
  unmap, launches and GL calls without the bytes);
- normalization statistics of all layers: cupy on the device (CUDA path) vs
  torch (host path), median of 20;
- the device-to-device copy bandwidth of the same bytes (torch), the ceiling;
- frame time at 1920×1080 with every channel shown (median of 30).

Targets (design card): CUDA upload ≤ 0.5 ms and ≥ 10× the host path; frame ≤ 4 ms.
Run on an NVIDIA machine (see check.sh): ``python benchmarks/gpu/bench_gpu.py --json report.json``
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch
from common import median_time  # sets up the EGL environment first


def timed(fn, repeats: int, warmup: int = 3) -> float:  # type: ignore[no-untyped-def]
    """Median milliseconds."""
    return median_time(fn, repeats, warmup) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", default=None, help="write the figures here")
    parser.add_argument("--allow-cpu", action="store_true", help="without CUDA, run the host-path parts (a dry run)")
    args = parser.parse_args()
    report: dict[str, object] = {"torch": torch.__version__, "cuda": torch.cuda.is_available()}
    if not torch.cuda.is_available() and not args.allow_cpu:
        print("no CUDA device: nothing to measure (--allow-cpu for a dry run of the host-path parts)")
        report["error"] = "no CUDA device"
        _write(args.json, report)
        return
    device = torch.device("cuda", 0) if torch.cuda.is_available() else torch.device("cpu")
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    from OpenGL import GL

    from viz3d.capture import resnet50_shapes, synthetic_trace
    from viz3d.gpu import pack_for_texture
    from viz3d.gpu.cuda_upload import COPY_STRATEGIES, CudaUploader, interop_problem
    from viz3d.gpu.upload import HostUploader
    from viz3d.layout import layout_trace
    from viz3d.renderer import context
    from viz3d.renderer.offscreen import Framebuffer, offscreen_canvas
    from viz3d.renderer.scene_renderer import SceneRenderer
    from viz3d.scene.camera import camera_for

    canvas = offscreen_canvas()
    info = context.gl_info()
    report.update(gl=info, egl_device=context.egl_device_note, device=str(device))
    if device.type == "cuda":
        report["gpu"] = torch.cuda.get_device_name()
    print(f"GL: {info['vendor']} | {info['renderer']} | {info['version']}\nEGL: {context.egl_device_note}")

    trace = synthetic_trace(resnet50_shapes(), skip_every=3)
    for node in trace.nodes:
        node.tensor = node.tensor.to(device)
        node.display = node.tensor[0]
    layout = layout_trace(trace)
    renderer = SceneRenderer(trace, layout)
    renderer.initialize()
    report["upload_path"] = renderer.upload_reason
    print(f"upload path: {renderer.upload_reason}")
    packed = [pack_for_texture(trace.nodes[la.node_id].display, la.plan) for la in renderer.layers]
    nbytes = sum(p.numel() * 4 for p in packed)

    def finish() -> None:
        canvas.context.flush_commands()
        GL.glFinish()
        sync()

    items = [(layer.activation, data) for layer, data in zip(renderer.layers, packed, strict=True)]
    displays = [trace.nodes[la.node_id].display for la in renderer.layers]

    def upload_with(uploader, what=items) -> None:  # type: ignore[no-untyped-def]
        uploader.upload_all(what, canvas)
        finish()

    # The unguarded CUDA path: a failure here must show, not fall back to the host path.
    why = interop_problem(device, info["vendor"])
    cuda_uploader = CudaUploader() if why is None else HostUploader()
    host_ms = timed(lambda: upload_with(HostUploader()), 20)
    report["host_upload_ms"] = host_ms
    print(f"host path upload of {nbytes / 1e6:.1f} MB: {host_ms:.2f} ms ({nbytes / host_ms / 1e6:.1f} GB/s)")
    torch_stats_ms = timed(lambda: (HostUploader().stats(displays), sync()), 20)
    report["host_stats_ms"] = torch_stats_ms
    print(f"statistics of all layers, torch (host path): {torch_stats_ms:.2f} ms")
    if isinstance(cuda_uploader, CudaUploader):
        for strategy in COPY_STRATEGIES:
            uploader = CudaUploader(copy=strategy)
            ms = timed(lambda u=uploader: upload_with(u), 100, warmup=5)
            uploader.release()
            report[f"cuda_upload_{strategy}_ms"] = ms
            print(f"cuda path upload, {strategy} copy: {ms:.3f} ms ({nbytes / ms / 1e6:.1f} GB/s)")
        cuda_ms = timed(lambda: upload_with(cuda_uploader), 100, warmup=5)
        report["cuda_upload_ms"] = cuda_ms
        report["speedup_vs_host"] = host_ms / cuda_ms
        print(
            f"cuda path upload (default, {cuda_uploader.copy} copy): {cuda_ms:.3f} ms "
            f"({nbytes / cuda_ms / 1e6:.1f} GB/s), {host_ms / cuda_ms:.1f}x the host path "
            "(targets: <= 0.5 ms, >= 10x)"
        )
        from vispy import gloo

        tiny = [gloo.Texture3D(shape=(1, 1, 1, 1), format="red", internalformat="r32f") for _ in items]
        tiny_items = [(tex, torch.zeros(1, 1, 1, device=device)) for tex in tiny]
        fixed_ms = timed(lambda: upload_with(cuda_uploader, tiny_items), 100, warmup=5)
        report["cuda_fixed_cost_ms"] = fixed_ms
        print(f"cuda path fixed cost ({len(tiny)} uploads of 1 texel): {fixed_ms:.3f} ms")
        cupy_stats_ms = timed(lambda: (cuda_uploader.stats(displays), sync()), 20)
        report["cuda_stats_ms"] = cupy_stats_ms
        print(f"statistics of all layers, cupy on the device: {cupy_stats_ms:.2f} ms")
    else:
        report["cuda_unavailable"] = why
        print(f"cuda path unavailable: {why}")
    src = torch.cat([p.flatten() for p in packed])
    dst = torch.empty_like(src)
    d2d_ms = timed(lambda: (dst.copy_(src), sync()), 50)
    report["device_copy_ms"] = d2d_ms
    print(f"device-to-device copy of the same bytes: {d2d_ms:.3f} ms ({nbytes / d2d_ms / 1e6:.1f} GB/s, the ceiling)")

    size = (1920, 1080)
    vp = camera_for(layout, "overview", size).view_projection(size[0] / size[1])
    fbo = Framebuffer()

    def frame() -> None:
        with fbo.bind_size(size):
            renderer.draw(vp, size)
        finish()

    frame_ms = timed(frame, 30, warmup=3)
    report["frame_1920x1080_ms"] = frame_ms
    print(f"frame 1920x1080, 26,560 maps: {frame_ms:.2f} ms (target <= 4 ms)")
    renderer.delete()
    fbo.delete()
    cuda_uploader.release()
    if isinstance(cuda_uploader, CudaUploader):
        for tex in tiny:
            tex.delete()
    _write(args.json, report)


def _write(path: str | None, report: dict[str, object]) -> None:
    if path:
        Path(path).write_text(json.dumps(report, indent=1, default=str))
        print(f"wrote {path}")
    os.environ.pop("VIZ3D_UPLOAD", None)


if __name__ == "__main__":
    main()
