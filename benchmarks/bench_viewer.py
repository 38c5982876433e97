"""Viewer benchmark: a scripted 10-second flight, picking cost, memory over input switches.

  - flight: 300 frames (10 s at 30 fps) of eased flights from the overview
    through six layers of the ResNet-50-sized scene (53 layers, 26,560 maps)
    and back; median and 95th-percentile frame time (draw + glFinish);
  - picking: one pick (1-pixel scissored id pass + 16-byte read-back) at 200
    cursor positions over the scene; median cost;
  - memory: the default network's viewer after 1 and after 200 input switches
    (re-capture + re-upload): process RSS and live GL objects.

Run: ``python benchmarks/bench_viewer.py``
"""

from __future__ import annotations

import itertools
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
import torch
from common import gl_finish, median_time, row

from viz3d.app.window import ViewerWindow
from viz3d.capture import resnet50_shapes, synthetic_trace
from viz3d.models.default_net import default_model
from viz3d.models.shapes import sample_image
from viz3d.renderer.offscreen import Framebuffer
from viz3d.scene.flight import CameraFlight
from viz3d.session import Session


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        return int(next(ln for ln in fh if ln.startswith("VmRSS")).split()[1]) / 1024


def flight_frames(session: Session, frames: int = 300, fps: float = 30.0) -> list:
    """Camera states of a tour: overview → six layers → overview, eased, sampled at ``fps``."""
    slabs = session.layout.slabs
    stops = [session.home_camera()]
    stops += [session.focus_on_slab(slabs[i]) for i in np.linspace(0, len(slabs) - 1, 6).astype(int)]
    stops.append(session.home_camera())
    leg_seconds = frames / fps / (len(stops) - 1)
    legs = [CameraFlight(a, b, duration=leg_seconds) for a, b in itertools.pairwise(stops)]
    cams = []
    for k in range(frames):
        t = k / fps
        leg = min(int(t / legs[0].duration), len(legs) - 1)
        cams.append(legs[leg].at(t - leg * legs[0].duration))
    return cams


def bench_flight(size: tuple[int, int]) -> tuple[float, float]:
    trace = synthetic_trace(resnet50_shapes(), skip_every=3)
    window = ViewerWindow(Session(trace, size=size), backend="egl")
    fbo = Framebuffer()
    times = []
    window.canvas.set_current()
    with fbo.bind_size(size):
        for cam in flight_frames(window.session):
            window.session.camera = cam
            t0 = time.perf_counter()
            window.on_draw()
            gl_finish()
            times.append(time.perf_counter() - t0)
    window.on_close()
    fbo.delete()
    ms = np.array(times[5:]) * 1e3
    return float(np.median(ms)), float(np.percentile(ms, 95))


def bench_picking() -> float:
    trace = synthetic_trace(resnet50_shapes(), skip_every=3)
    window = ViewerWindow(Session(trace, size=(1920, 1080)), backend="egl")
    rng = np.random.default_rng(0)
    points = rng.uniform([0, 0], [1920, 1080], size=(200, 2))
    window.pick(points[0])  # warm-up: creates the id framebuffer
    it = iter(points)
    return 1e3 * median_time(lambda: window.pick(next(it)), 190, warmup=0)


def bench_memory() -> tuple[float, float, int, int]:
    model = default_model()
    inputs = [torch.from_numpy(sample_image(i))[None] for i in range(6)]
    window = ViewerWindow(Session.from_model(model, inputs, size=(1280, 720)), backend="egl")
    fbo = Framebuffer()
    parser = window.canvas.context.shared.parser
    window.canvas.set_current()
    with fbo.bind_size((1280, 720)):
        window.session.next_input()
        window.on_draw()
        gl_finish()
        first_rss, first_objects = rss_mb(), len(parser._objects)
        for _ in range(199):
            window.session.next_input()
            window.on_draw()
        gl_finish()
    return first_rss, rss_mb(), first_objects, len(parser._objects)


def bench_demo_startup() -> str:
    """Median seconds from `viz3d demo` starting to its first frame, under Xvfb (3 runs)."""
    import os
    import re
    import shutil
    import subprocess

    if shutil.which("xvfb-run") is None:
        return "xvfb-run not installed"
    env = {k: v for k, v in os.environ.items() if k not in ("PYOPENGL_PLATFORM", "EGL_PLATFORM")}
    times = []
    for _ in range(3):
        cmd = [sys.executable, "-m", "viz3d.cli", "demo", "--exit-after-first-frame"]
        out = subprocess.run(["xvfb-run", "-a", *cmd], env=env, capture_output=True, text=True, timeout=120)
        found = re.search(r"first frame ([0-9.]+)s", out.stderr)
        if found:
            times.append(float(found.group(1)))
    return f"{float(np.median(times)):.2f} s  (target <= 3 s)" if times else "did not start"


def main() -> None:
    from viz3d.renderer.context import gl_info
    from viz3d.renderer.offscreen import offscreen_canvas

    offscreen_canvas()
    info = gl_info()
    print(f"GL: {info['renderer']} | {info['version']}")
    print("\nscripted 10 s flight through the ResNet-50-sized scene (300 frames, labels and edges on)")
    for size in ((1280, 720), (1920, 1080)):
        med, p95 = bench_flight(size)
        row(f"{size[0]}x{size[1]}: median / p95 frame", f"{med:.1f} ms / {p95:.1f} ms  (p95/median {p95 / med:.2f}x)")
    pick = bench_picking()
    row("picking, 1920x1080, median of 190 picks", f"{pick:.2f} ms  (target <= 2 ms)")
    row("viz3d demo: command to first frame (Xvfb, median of 3)", bench_demo_startup())
    r1, r200, o1, o200 = bench_memory()
    row(
        "RSS after 1 / 200 input switches (default net)",
        f"{r1:.0f} MB / {r200:.0f} MB  ({(r200 / r1 - 1) * 100:+.1f} %)",
    )
    row("live GL objects after 1 / 200 input switches", f"{o1} / {o200}")


if __name__ == "__main__":
    main()
