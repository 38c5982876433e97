"""Weights view and architecture graph benchmark on ResNet-50 (random init, 224×224, leaf modules).

  - weights view: build the weights trace (25.5M weights: 53 conv layers as
    kernel grids, the 1000×2048 matrix), lay it out, upload it and draw the
    first 1280×720 frame;
  - statistics: histograms and flags of every layer (`viz3d inspect`);
  - graph export: SVG and PNG of the full 176-unit graph and of the folded
    (group depth 2, repeats folded) graph.

Run: ``python benchmarks/bench_weights_graph.py``
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch
from common import gl_finish, graph_sets, median_time, row
from resnet50 import resnet50

from viz3d.capture import capture
from viz3d.capture.stats import layer_statistics
from viz3d.capture.weights import weights_trace
from viz3d.graph import export_graph
from viz3d.layout import layout_trace
from viz3d.renderer.offscreen import Framebuffer, offscreen_canvas
from viz3d.renderer.scene_renderer import SceneRenderer
from viz3d.scene.camera import camera_for


def main() -> None:
    model = resnet50()
    x = torch.rand(1, 3, 224, 224)
    trace = capture(model, x)
    canvas = offscreen_canvas()
    size = (1280, 720)

    t0 = time.perf_counter()
    wtrace = weights_trace(trace)
    t1 = time.perf_counter()
    layout = layout_trace(wtrace)
    t2 = time.perf_counter()
    renderer = SceneRenderer(wtrace, layout)
    renderer.initialize()
    renderer.set_connections(graph_sets(wtrace, layout))
    gl_finish()
    t3 = time.perf_counter()
    vp = camera_for(layout, "overview", size).view_projection(size[0] / size[1])
    fbo = Framebuffer()
    with fbo.bind_size(size):
        renderer.draw(vp, size)
    gl_finish()
    t4 = time.perf_counter()
    weights = sum(int(n.display.numel()) for n in wtrace.nodes if n.display is not None)
    tiles = sum(n.tiles for n in wtrace.nodes if n.display is not None)
    print(f"weights view of ResNet-50: {weights / 1e6:.1f}M weights as {tiles:,} tiles")
    row("build the weights trace", f"{(t1 - t0) * 1e3:.1f} ms")
    row("layout", f"{(t2 - t1) * 1e3:.1f} ms")
    row("textures: create + upload + statistics", f"{(t3 - t2) * 1e3:.1f} ms")
    row("first 1280x720 frame", f"{(t4 - t3) * 1e3:.1f} ms")
    row("total, W key to first frame", f"{(t4 - t0) * 1e3:.0f} ms")

    def frame() -> None:
        canvas.set_current()
        with fbo.bind_size(size):
            renderer.draw(vp, size)
        gl_finish()

    row("next frames (median of 5)", f"{1e3 * median_time(frame, 5):.1f} ms")
    renderer.delete()
    fbo.delete()

    stats_ms = 1e3 * median_time(lambda: layer_statistics(trace), 3)
    row("statistics and flags of all 176 units", f"{stats_ms:.0f} ms")

    folded = capture(model, x, group_depth=2)
    with tempfile.TemporaryDirectory() as tmp:
        for label, tr, fold in (("176 units", trace, False), ("folded, depth 2", folded, True)):
            for ext in ("svg", "png"):
                out = Path(tmp) / f"g.{ext}"
                ms = 1e3 * median_time(lambda tr=tr, out=out, fold=fold: export_graph(tr, out, fold_repeats=fold), 3)
                row(f"graph export, {label}, .{ext} ({out.stat().st_size / 1024:.0f} KB)", f"{ms:.0f} ms")


if __name__ == "__main__":
    main()
