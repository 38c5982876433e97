"""Frame time against the number of units: the batched face pass vs one set of uniforms per layer.

A deep network's frame on llvmpipe cost what its unit count cost, not what
its pixels cost (issue 13: ResNet-152, 516 units, 48 ms; DenseNet-201, 712
units, 59 ms; a 53-layer scene of the same pixels 9 ms). The slab faces are
the pass whose calls grow with the units. Measured here, in the same run and
interleaved frame by frame (so a busy machine slows both alike):

- the renderer as it is: every slab's box and tile grid in one slab-table
  texture, written once per layout; a face costs an integer uniform, two
  texture binds and its draw; the face list is built once, not per frame, and
  faces wholly outside the view are skipped (a close view of a deep network);
- the baseline: the face pass as it was before, nine uniform calls per face
  and the face list rebuilt every frame (kept here, in :class:`PerLayerFaces`).

Scenes, 1280x720 overview with labels and the dataflow connections:
ResNet-50 and ResNet-152 unfolded (benchmarks/resnet50.py, random weights,
``max_slabs=None`` so nothing folds: 176 and 516 units) and a synthetic chain
of 704 small layers (DenseNet-201's count), that one also from near its
middle slab. The pictures of both ways are
compared first (they must be the same pixels).
Set-up work that scales with the units is measured too: every layer's
normalization statistics, one torch reduction per layer against layers of
one map size reduced together (:func:`viz3d.gpu.stats.channel_stats_many`).
Run: ``python benchmarks/bench_units.py [--repeats 30] [--quick]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from common import gl_finish, graph_sets, row  # sets up the EGL environment first

SIZE = (1280, 720)


class PerLayerFaces:
    """The baseline face pass: per face nine uniforms, two texture binds and a draw; items rebuilt per frame."""

    def __init__(self, renderer: Any) -> None:
        from vispy import gloo

        from viz3d.renderer.shaders import load_shader

        self.renderer = renderer
        self.program = gloo.Program(load_shader("slab_face.vert"), load_shader("slab_face.frag"))
        self.corners = renderer._faces.corners
        self.program["a_corner"] = self.corners
        self._locations: dict[str, int] = {}
        self._handles: dict[int, int] = {}

    def draw(self, mvp: np.ndarray, base_color: Any, _items: Any, _keep: Any = None) -> None:
        from OpenGL import GL

        from viz3d.gpu.gl_objects import gl_object_handle

        r = self.renderer
        canvas = r.canvas
        items = []  # as the renderer built them every frame before
        for slab in r.layout.slabs:
            if slab.front_z > r.cut_z:
                continue
            layer = r.layer_for(slab.node_id)
            if layer is not None:
                node = r.trace.nodes[slab.node_id]
                items.append((slab, layer, r.textures.lut_for(node), node.display_rgb))

        def handle(obj: Any) -> int:  # GL names cached by gloo id, as the old pass did
            if obj.id not in self._handles:
                self._handles[obj.id] = gl_object_handle(obj, canvas)
            return self._handles[obj.id]

        program = handle(self.program)
        vbo = handle(self.corners)
        textures = [(handle(la.activation), handle(la.ranges), handle(lut)) for _, la, lut, _ in items]
        canvas.context.flush_commands()
        if not self._locations:
            names = ("u_mvp", "u_base_color", "u_lo", "u_size", "u_channels", "u_cols", "u_tile", "u_gap")
            names += ("u_pack", "u_depth", "u_rgb", "u_activation", "u_ranges", "u_lut")
            self._locations = {n: int(GL.glGetUniformLocation(program, n)) for n in names}
        loc = self._locations
        GL.glUseProgram(program)
        canvas.context.shared.parser.env["current_program"] = program
        GL.glUniformMatrix4fv(loc["u_mvp"], 1, GL.GL_FALSE, np.ascontiguousarray(mvp, np.float32))
        GL.glUniform3f(loc["u_base_color"], *(float(v) for v in base_color))
        for name, unit in (("u_activation", 0), ("u_ranges", 1), ("u_lut", 2)):
            GL.glUniform1i(loc[name], unit)
        corner = int(GL.glGetAttribLocation(program, "a_corner"))
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, vbo)
        GL.glEnableVertexAttribArray(corner)
        GL.glVertexAttribPointer(corner, 2, GL.GL_FLOAT, GL.GL_FALSE, 0, None)
        GL.glVertexAttribDivisor(corner, 0)
        bound_lut = -1
        for (s, layer, _, rgb), (activation, ranges, lut) in zip(items, textures, strict=True):
            lo, size = s.lo, s.size
            GL.glUniform3f(loc["u_lo"], float(lo[0]), float(lo[1]), float(lo[2]))
            GL.glUniform3f(loc["u_size"], float(size[0]), float(size[1]), float(size[2]))
            GL.glUniform1i(loc["u_channels"], int(s.channels))
            GL.glUniform1i(loc["u_cols"], int(s.cols))
            GL.glUniform2f(loc["u_tile"], float(s.tile_w), float(s.tile_h))
            GL.glUniform1f(loc["u_gap"], float(s.gap))
            GL.glUniform1i(loc["u_pack"], layer.plan.pack)
            GL.glUniform1i(loc["u_depth"], layer.plan.depth)
            GL.glUniform1i(loc["u_rgb"], int(rgb))
            GL.glActiveTexture(GL.GL_TEXTURE0)
            GL.glBindTexture(GL.GL_TEXTURE_3D, activation)
            GL.glActiveTexture(GL.GL_TEXTURE1)
            GL.glBindTexture(GL.GL_TEXTURE_2D, ranges)
            if lut != bound_lut:
                GL.glActiveTexture(GL.GL_TEXTURE2)
                GL.glBindTexture(GL.GL_TEXTURE_2D, lut)
                bound_lut = lut
            GL.glDrawArrays(GL.GL_TRIANGLE_STRIP, 0, 4)
        for unit, target in ((2, GL.GL_TEXTURE_2D), (1, GL.GL_TEXTURE_2D), (0, GL.GL_TEXTURE_3D)):
            GL.glActiveTexture(GL.GL_TEXTURE0 + unit)
            GL.glBindTexture(target, 0)
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, 0)

    def delete(self) -> None:
        self.program.delete()


def scenes(quick: bool) -> list[tuple[str, Any]]:
    """(name, trace) of the benchmark scenes."""
    import torch
    from resnet50 import resnet50, resnet152

    from viz3d.capture import capture, synthetic_trace

    cycle = [(32, 14, 14), (64, 7, 7), (128, 7, 7), (256, 7, 7)]
    out = [("synthetic chain, 704 layers", synthetic_trace([cycle[i % 4] for i in range(704)], skip_every=3))]
    nets = (
        [("ResNet-50 unfolded", resnet50)]
        if quick
        else [("ResNet-50 unfolded", resnet50), ("ResNet-152 unfolded", resnet152)]
    )
    for name, make in nets:
        with torch.no_grad():
            trace = capture(make(), torch.rand(1, 3, 224, 224))
        out.insert(len(out) - 1, (name, trace))
    return out


def close_view(layout: Any) -> np.ndarray:
    """A view from near the middle slab (as after flying there): most faces are off-screen."""
    from viz3d.scene.camera import OrbitCamera

    slab = layout.slabs[len(layout.slabs) // 2]
    target = np.array([slab.center[0], slab.center[1], slab.front_z])
    lo, hi = layout.bounds()
    radius = float(np.linalg.norm(np.asarray(hi) - np.asarray(lo))) / 2
    camera = OrbitCamera(target=target, distance=3.0 * slab.size[1], azimuth=-30.0, elevation=15.0, scene_radius=radius)
    return camera.view_projection(SIZE[0] / SIZE[1])


def measure(trace: Any, repeats: int, close: bool = False) -> dict[str, float]:
    """Median frame ms of both face passes, interleaved, and whether their pictures are equal.

    ``close``: from near the middle slab instead of the overview.
    """
    from vispy import gloo

    from viz3d.layout import layout_trace
    from viz3d.renderer.offscreen import Framebuffer, offscreen_canvas, render_frame
    from viz3d.renderer.scene_renderer import SceneRenderer
    from viz3d.scene.camera import camera_for

    offscreen_canvas()
    layout = layout_trace(trace)
    renderer = SceneRenderer(trace, layout, texture_budget=None)
    renderer.set_connections(graph_sets(trace, layout))
    renderer.initialize()
    vp = close_view(layout) if close else camera_for(layout, "overview", SIZE).view_projection(SIZE[0] / SIZE[1])
    batched, baseline = renderer._faces, PerLayerFaces(renderer)
    fbo = Framebuffer()

    def frame(faces: Any) -> float:
        renderer._faces = faces
        t0 = time.perf_counter()
        with fbo.bind_size(SIZE):
            renderer.draw(vp, SIZE)
            gl_finish()
        return time.perf_counter() - t0

    pictures = []
    for faces in (baseline, batched):
        renderer._faces = faces
        pictures.append(render_frame(renderer, vp, SIZE))
    times: dict[str, list[float]] = {"baseline": [], "batched": []}
    for _ in range(3):
        frame(baseline), frame(batched)
    for _ in range(repeats):
        times["baseline"].append(frame(baseline))
        times["batched"].append(frame(batched))
    renderer._faces = batched
    faces = len(renderer._face_items)
    baseline.delete()
    renderer.delete()
    fbo.delete()
    gloo.get_current_canvas().context.flush_commands()
    return {
        "units": float(len(trace.nodes)),
        "faces": float(faces),
        "baseline_ms": statistics.median(times["baseline"]) * 1e3,
        "batched_ms": statistics.median(times["batched"]) * 1e3,
        "same_pixels": float(np.array_equal(pictures[0], pictures[1])),
    }


def statistics_figures(trace: Any, repeats: int = 7) -> dict[str, float]:
    """Median ms of every layer's normalization statistics, interleaved: one reduction per layer vs grouped."""
    from viz3d.gpu.stats import channel_stats, channel_stats_many

    displays = [n.display for n in trace.nodes if n.display is not None]
    ways = {
        "per_layer_ms": lambda: [channel_stats(d) for d in displays],
        "grouped_ms": lambda: channel_stats_many(displays),
    }
    times: dict[str, list[float]] = {k: [] for k in ways}
    for _ in range(repeats + 1):
        for key, way in ways.items():
            t0 = time.perf_counter()
            way()
            times[key].append(time.perf_counter() - t0)
    return {k: statistics.median(v[1:]) * 1e3 for k, v in times.items()}  # the first round warms up


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="ResNet-50 and the synthetic chain only")
    args = parser.parse_args()
    print(f"Frame at {SIZE[0]}x{SIZE[1]}, labels and connections, medians of {args.repeats} interleaved frames")
    measured = scenes(args.quick)
    for (name, trace), close in [(scene, False) for scene in measured] + [(measured[-1], True)]:
        f = measure(trace, args.repeats, close)
        view = "close view of the middle slab" if close else "overview"
        print(f"{name} ({int(f['units'])} units, {int(f['faces'])} faces), {view}")
        row("per-layer uniforms (before)", f"{f['baseline_ms']:.1f} ms")
        row("slab table, off-screen faces skipped (now)", f"{f['batched_ms']:.1f} ms")
        row("speed-up", f"{f['baseline_ms'] / f['batched_ms']:.2f}x")
        row("same pixels", "yes" if f["same_pixels"] else "NO")
    print("Statistics of every layer at set-up and at each update")
    for name, trace in measured:
        s = statistics_figures(trace)
        row(f"{name}: one reduction per layer (before)", f"{s['per_layer_ms']:.1f} ms")
        row(f"{name}: layers of one map size together (now)", f"{s['grouped_ms']:.1f} ms")


if __name__ == "__main__":
    main()
