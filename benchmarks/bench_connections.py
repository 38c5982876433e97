"""Connections benchmark: frame time against connection count, and the receptive-field cone's cost.

  - 10k, 100k and 1M straight weight connections between random tiles of the
    ResNet-50-sized scene, 1280×720, with the default LOD budget (20k
    segments, strongest first) and without it; median frame (draw + glFinish);
  - selecting a unit in ResNet-50's last stage (a real 224×224 capture, leaf
    modules) and building its receptive-field cone: median over 20 units.

Run: ``python benchmarks/bench_connections.py``
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
import torch
from common import gl_finish, graph_sets, median_time, row

from viz3d.capture import capture, resnet50_shapes, synthetic_trace
from viz3d.layout import layout_trace
from viz3d.layout.connections import ConnectionSet
from viz3d.renderer.offscreen import Framebuffer, offscreen_canvas
from viz3d.renderer.scene_renderer import SceneRenderer
from viz3d.scene.camera import camera_for
from viz3d.session.options import CONNECTION_BUDGET
from viz3d.session.unit_links import unit_connections


def random_links(layout, n: int, rng: np.random.Generator) -> ConnectionSet:
    slabs = layout.slabs
    a = rng.integers(0, len(slabs) - 1, n)
    b = a + 1
    p0 = np.array([slabs[i].tile_center(0) for i in range(len(slabs))])[a]
    p1 = np.array([slabs[i].tile_center(0) for i in range(len(slabs))])[b]
    jitter = rng.normal(scale=3.0, size=(n, 3)) * [1, 1, 0]
    p0, p1 = (p0 + jitter).astype(np.float32), (p1 - jitter).astype(np.float32)
    color = np.tile(np.array([1.0, 0.5, 0.3, 0.5], np.float32), (n, 1))
    return ConnectionSet(p0, p1, (p0 + p1) / 2, color, np.full(n, 1.5, np.float32), rng.random(n).astype(np.float32))


def bench_frames() -> None:
    trace = synthetic_trace(resnet50_shapes(), skip_every=3)
    layout = layout_trace(trace)
    size = (1280, 720)
    vp = camera_for(layout, "overview", size).view_projection(size[0] / size[1])
    canvas = offscreen_canvas()
    renderer = SceneRenderer(trace, layout, labels=False)
    renderer.initialize()
    fbo = Framebuffer()
    rng = np.random.default_rng(0)

    def frame() -> None:
        canvas.set_current()
        with fbo.bind_size(size):
            renderer.draw(vp, size)
        gl_finish()

    graph = graph_sets(trace, layout)
    renderer.set_connections(graph)
    base = 1e3 * median_time(frame, 7, warmup=2)
    row("no weight connections (scene + graph edges)", f"{base:.1f} ms")
    for n in (10_000, 100_000, 1_000_000):
        links = random_links(layout, n, rng)
        for budget, label in ((CONNECTION_BUDGET, "LOD budget 20k"), (10**9, "no budget")):
            renderer.connection_budget = budget
            renderer.set_connections({**graph, "weights": [links]})
            repeats = 3 if (n >= 1_000_000 and budget > n) else 7
            ms = 1e3 * median_time(frame, repeats, warmup=1)
            drawn = renderer.thinned[0]
            row(f"{n:>9,} connections, {label} ({drawn:,} drawn)", f"{ms:.1f} ms  ({ms / base:.2f}x the bare scene)")
    renderer.delete()
    fbo.delete()


def bench_cone() -> None:
    from resnet50 import resnet50

    model = resnet50()
    trace = capture(model, torch.rand(1, 3, 224, 224))
    layout = layout_trace(trace)
    target = trace.node("layer4.2.conv3")
    rng = np.random.default_rng(1)
    times = []
    for _ in range(20):
        c = int(rng.integers(0, 2048))
        y, x = (int(v) for v in rng.integers(0, 7, 2))
        t0 = time.perf_counter()
        sets = unit_connections(trace, layout, target.id, c, y, x, kinds=("rf",))
        times.append(time.perf_counter() - t0)
    ms = 1e3 * float(np.median(times))
    row(f"select a unit in {target.name}, build its cone ({len(sets['rf'][0]):,} curves)", f"{ms:.1f} ms")

    # The same, plus the budgeted upload and one 1280x720 frame of the whole network with the cone.
    size = (1280, 720)
    vp = camera_for(layout, "overview", size).view_projection(size[0] / size[1])
    canvas = offscreen_canvas()
    renderer = SceneRenderer(trace, layout, labels=False)
    renderer.initialize()
    graph = graph_sets(trace, layout)
    renderer.set_connections(graph)
    fbo = Framebuffer()

    def frame() -> None:
        canvas.set_current()
        with fbo.bind_size(size):
            renderer.draw(vp, size)
        gl_finish()

    bare = 1e3 * median_time(frame, 5)
    times = []
    for _ in range(10):
        c = int(rng.integers(0, 2048))
        t0 = time.perf_counter()
        cone = unit_connections(trace, layout, target.id, c, 3, 3, kinds=("rf",))
        renderer.set_connections({**graph, "rf": cone["rf"]})
        frame()
        times.append(time.perf_counter() - t0)
    total = 1e3 * float(np.median(times))
    row("  + upload (budgeted) and a 1280x720 frame with the cone", f"{total:.1f} ms (frame alone {bare:.1f} ms)")
    row("cone on the CPU (compute + geometry)", f"{ms:.1f} ms  (target <= 50 ms)")
    renderer.delete()
    fbo.delete()


def main() -> None:
    from viz3d.renderer.context import gl_info

    offscreen_canvas()
    info = gl_info()
    print(f"GL: {info['renderer']}\n\nframe time, ResNet-50-sized scene, 1280x720, overview")
    bench_frames()
    print("\nreceptive field on ResNet-50 (224x224, 176 leaf modules)")
    bench_cone()


if __name__ == "__main__":
    main()
