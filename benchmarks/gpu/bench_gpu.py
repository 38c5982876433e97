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

The report (with the versions of torch, cupy, cuda-bindings and the driver)
is written after every section and, whatever happens, once more at the end:
a failing section records its error under ``errors`` and the rest still run;
anything that stops the run (the check's time limit included) is its
``error`` field. The exit status is 1 when anything failed.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch
from common import graph_sets, median_time  # sets up the EGL environment first
from versions import versions

from viz3d.errors import describe


def timed(fn, repeats: int, warmup: int = 3) -> float:  # type: ignore[no-untyped-def]
    """Median milliseconds."""
    return median_time(fn, repeats, warmup) * 1e3


class Report:
    """The figures so far, written to ``path`` after each section and at the end, whatever happens."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self.data: dict[str, Any] = {"error": None, "errors": {}, "versions": versions()}
        self.failed = False

    def __setitem__(self, key: str, value: Any) -> None:
        self.data[key] = value

    def update(self, **values: Any) -> None:
        self.data.update(values)

    def write(self) -> None:
        if self.path:
            Path(self.path).write_text(json.dumps(self.data, indent=1, default=str))

    @contextmanager
    def section(self, name: str) -> Iterator[None]:
        """A part of the run whose failure is recorded (``errors[name]``, one line) without stopping the rest."""
        try:
            yield
        except Exception as exc:
            self.failed = True
            self.data["errors"][name] = describe(exc)
            print(f"{name}: FAILED: {describe(exc)}")
        finally:
            self.write()

    @contextmanager
    def written_at_exit(self) -> Iterator[None]:
        """Write the report at the end even when the run stops on an error (then its ``error`` field)."""
        try:
            yield
        except BaseException as exc:
            self.failed = True
            self.data["error"] = describe(exc)
            raise
        finally:
            self.write()
            if self.path:
                print(f"wrote {self.path}")


def _terminated(signum: int, frame: Any) -> None:
    raise TimeoutError(f"stopped by signal {signum} (the check's time limit) before the run finished")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", default=None, help="write the figures here")
    parser.add_argument("--allow-cpu", action="store_true", help="without CUDA, run the host-path parts (a dry run)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _terminated)  # so `timeout` still leaves the report
    report = Report(args.json)
    try:
        with report.written_at_exit():
            run(args, report)
    finally:
        os.environ.pop("VIZ3D_UPLOAD", None)
    return 1 if report.failed else 0


def run(args: argparse.Namespace, report: Report) -> None:
    report.update(torch=torch.__version__, cuda=torch.cuda.is_available())
    print(f"versions: {report.data['versions']}")
    if not torch.cuda.is_available() and not args.allow_cpu:
        print("no CUDA device: nothing to measure (--allow-cpu for a dry run of the host-path parts)")
        report["error"] = "no CUDA device"
        report.failed = True
        return
    device = torch.device("cuda", 0) if torch.cuda.is_available() else torch.device("cpu")
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    from OpenGL import GL

    from viz3d.capture import resnet50_shapes, synthetic_trace
    from viz3d.gpu import pack_for_texture
    from viz3d.gpu.cuda_upload import interop_problem
    from viz3d.gpu.upload import HostUploader
    from viz3d.layout import layout_trace
    from viz3d.renderer import context
    from viz3d.renderer.offscreen import Framebuffer, offscreen_canvas
    from viz3d.renderer.scene_renderer import SceneRenderer
    from viz3d.scene.camera import camera_for

    # Everything after needs this part: a failure here stops the run (the report's ``error``).
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
    renderer.set_connections(graph_sets(trace, layout))  # frames include the dataflow, as a session draws it
    report["upload_path"] = renderer.upload_reason
    print(f"upload path: {renderer.upload_reason}")
    packed = [pack_for_texture(trace.nodes[la.node_id].display, la.plan) for la in renderer.layers]
    nbytes = sum(p.numel() * 4 for p in packed)
    report.write()

    def finish() -> None:
        canvas.context.flush_commands()
        GL.glFinish()
        sync()

    items = [(layer.activation, data) for layer, data in zip(renderer.layers, packed, strict=True)]
    displays = [trace.nodes[la.node_id].display for la in renderer.layers]

    def upload_with(uploader, what=items) -> None:  # type: ignore[no-untyped-def]
        uploader.upload_all(what, canvas)
        finish()

    host_ms = None
    with report.section("host"):
        host_ms = timed(lambda: upload_with(HostUploader()), 20)
        report["host_upload_ms"] = host_ms
        print(f"host path upload of {nbytes / 1e6:.1f} MB: {host_ms:.2f} ms ({nbytes / host_ms / 1e6:.1f} GB/s)")
        torch_stats_ms = timed(lambda: (HostUploader().stats(displays), sync()), 20)
        report["host_stats_ms"] = torch_stats_ms
        print(f"statistics of all layers, torch (host path): {torch_stats_ms:.2f} ms")

    with report.section("cuda"):
        # The unguarded CUDA path: a failure here must show, not fall back to the host path.
        why = interop_problem(device, info["vendor"])
        if why is None:
            cuda_section(report, canvas, device, items, displays, nbytes, host_ms, upload_with, sync)
        else:
            report["cuda_unavailable"] = why
            print(f"cuda path unavailable: {why}")
            if device.type == "cuda":
                raise RuntimeError(f"the CUDA path cannot be measured: {why}")

    with report.section("device_copy"):
        src = torch.cat([p.flatten() for p in packed])
        dst = torch.empty_like(src)
        d2d_ms = timed(lambda: (dst.copy_(src), sync()), 50)
        report["device_copy_ms"] = d2d_ms
        rate = nbytes / d2d_ms / 1e6
        print(f"device-to-device copy of the same bytes: {d2d_ms:.3f} ms ({rate:.1f} GB/s, the ceiling)")

    with report.section("frame"):
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
        fbo.delete()
    renderer.delete()


def cuda_section(  # type: ignore[no-untyped-def]
    report: Report, canvas: Any, device: torch.device, items, displays, nbytes: int, host_ms, upload_with, sync
) -> None:
    """The CUDA path's figures: each copy strategy, the default, its fixed cost, cupy statistics."""
    from vispy import gloo

    from viz3d.gpu.cuda_upload import CudaUploader
    from viz3d.gpu.staging import COPY_STRATEGIES

    for strategy in COPY_STRATEGIES:
        uploader = CudaUploader(copy=strategy)
        try:
            ms = timed(lambda u=uploader: upload_with(u), 100, warmup=5)
        finally:
            uploader.release()
        report[f"cuda_upload_{strategy}_ms"] = ms
        print(f"cuda path upload, {strategy} copy: {ms:.3f} ms ({nbytes / ms / 1e6:.1f} GB/s)")
        report.write()
    cuda_uploader = CudaUploader()
    tiny = [gloo.Texture3D(shape=(1, 1, 1, 1), format="red", internalformat="r32f") for _ in items]
    try:
        cuda_ms = timed(lambda: upload_with(cuda_uploader), 100, warmup=5)
        report["cuda_upload_ms"] = cuda_ms
        speedup = f", {host_ms / cuda_ms:.1f}x the host path" if host_ms else ""
        if host_ms:
            report["speedup_vs_host"] = host_ms / cuda_ms
        print(
            f"cuda path upload (default, {cuda_uploader.copy} copy): {cuda_ms:.3f} ms "
            f"({nbytes / cuda_ms / 1e6:.1f} GB/s){speedup} (targets: <= 0.5 ms, >= 10x)"
        )
        tiny_items = [(tex, torch.zeros(1, 1, 1, device=device)) for tex in tiny]
        fixed_ms = timed(lambda: upload_with(cuda_uploader, tiny_items), 100, warmup=5)
        report["cuda_fixed_cost_ms"] = fixed_ms
        print(f"cuda path fixed cost ({len(tiny)} uploads of 1 texel): {fixed_ms:.3f} ms")
        cupy_stats_ms = timed(lambda: (cuda_uploader.stats(displays), sync()), 20)
        report["cuda_stats_ms"] = cupy_stats_ms
        print(f"statistics of all layers, cupy on the device: {cupy_stats_ms:.2f} ms")
    finally:
        cuda_uploader.release()
        for tex in tiny:
            tex.delete()


if __name__ == "__main__":
    sys.exit(main())
