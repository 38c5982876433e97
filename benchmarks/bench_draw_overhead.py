"""Per-frame CPU cost of drawing every slab face: raw-GL face pass vs one gloo draw per layer.

On a GPU the raster work of a frame is tiny and a deep network's frame time is
the Python/GL call overhead of its per-layer draws. This isolates that cost:
frames of the ResNet-50-sized scene (53 layers) rendered into a 64×36 target,
so raster time is negligible even on llvmpipe, with

- the renderer as it is (``FacePass``: one integer uniform into the slab table, two texture binds and
  a draw per layer);
- the baseline, measured in the same run: the same faces through gloo
  (``Program.__setitem__`` per uniform and ``Program.draw`` per layer), as
  viz3d drew them before the face pass existed.

Both pictures are compared at a readable size first, so the figures are for the same output.
Run: ``python benchmarks/bench_draw_overhead.py`` (prints medians and the ratio).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from common import gl_finish, median_time, row  # sets up the EGL environment first

TINY = (64, 36)


def gloo_program(renderer: Any) -> Any:
    """The face program as gloo drew it: per-layer uniforms (``slab_face.vert``, no slab table)."""
    from vispy import gloo

    from viz3d.renderer.shaders import load_shader

    program = gloo.Program(load_shader("slab_face.vert"), load_shader("slab_face.frag"))
    program["a_corner"] = renderer._faces.corners
    return program


def gloo_faces(renderer: Any, mvp: np.ndarray, fp: Any) -> None:
    """The baseline: every face through gloo, one ``Program.draw`` per layer."""
    from viz3d.renderer.boxes import SLAB_COLOR
    from viz3d.renderer.geometry import slab_uniforms

    fp["u_mvp"] = mvp
    fp["u_base_color"] = tuple(SLAB_COLOR * 1.4)
    fp["u_filter_taps"] = renderer.filter_taps or 1
    for slab in renderer.layout.slabs:
        layer = renderer.layer_for(slab.node_id)
        if layer is None:
            continue
        for name, value in slab_uniforms(slab).items():
            fp[name] = value
        fp["u_activation"] = layer.activation
        fp["u_ranges"] = layer.ranges
        fp["u_pack"] = layer.plan.pack
        fp["u_depth"] = layer.plan.depth
        fp["u_lut"] = renderer.textures.lut_for(renderer.trace.nodes[slab.node_id])
        fp["u_rgb"] = int(renderer.trace.nodes[slab.node_id].display_rgb)
        fp.draw("triangle_strip")


def raw_faces(renderer: Any, mvp: np.ndarray, _program: Any = None) -> None:
    """The face pass as the renderer runs it."""
    from viz3d.renderer.boxes import SLAB_COLOR

    renderer._faces.draw(mvp, tuple(SLAB_COLOR * 1.4), renderer._face_items, None, renderer.filter_taps or 1)


def measure(repeats: int = 60, trace: Any = None) -> dict[str, float]:
    """Medians in ms for both ways (``trace``: the ResNet-50-sized scene unless given)."""
    from vispy import gloo

    from viz3d.capture import resnet50_shapes, synthetic_trace
    from viz3d.layout import layout_trace
    from viz3d.renderer.geometry import gl_matrix
    from viz3d.renderer.offscreen import Framebuffer, offscreen_canvas
    from viz3d.renderer.scene_renderer import BACKGROUND, SceneRenderer
    from viz3d.scene.camera import camera_for

    offscreen_canvas()
    trace = trace or synthetic_trace(resnet50_shapes(), skip_every=3)
    layout = layout_trace(trace)
    renderer = SceneRenderer(trace, layout)
    renderer.initialize()
    fbo = Framebuffer()
    program = gloo_program(renderer)

    def run(faces: Any, size: tuple[int, int]) -> np.ndarray | None:
        vp = camera_for(layout, "overview", size).view_projection(size[0] / size[1])
        with fbo.bind_size(size):
            gloo.set_viewport(0, 0, *size)
            gloo.set_state(depth_test=True, blend=False)
            gloo.set_clear_color(BACKGROUND)
            gloo.clear(color=True, depth=True)
            faces(renderer, gl_matrix(vp), program)
            gl_finish()
            return np.asarray(gloo.read_pixels((0, 0, *size), alpha=True)) if size != TINY else None

    baseline, raw = run(gloo_faces, (640, 360)), run(raw_faces, (640, 360))
    assert baseline is not None and raw is not None
    background = np.round(np.array(BACKGROUND) * 255)
    drawn = float(np.mean(np.any(np.abs(raw.astype(float) - background) > 2, axis=-1)))
    figures = {
        "gloo_ms": median_time(lambda: run(gloo_faces, TINY), repeats, warmup=5) * 1e3,
        "raw_ms": median_time(lambda: run(raw_faces, TINY), repeats, warmup=5) * 1e3,
        "layers": float(len(renderer.layers)),
        "same_pixels": float(np.array_equal(baseline, raw)),
        "drawn_fraction": drawn,
    }
    program.delete()
    renderer.delete()
    fbo.delete()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=60)
    args = parser.parse_args()
    f = measure(args.repeats)
    print(f"Face pass CPU cost, {int(f['layers'])} layers into {TINY[0]}x{TINY[1]} (medians of {args.repeats})")
    row("same picture at 640x360", ("yes" if f["same_pixels"] else "NO") + f" ({f['drawn_fraction']:.0%} of it faces)")
    row("gloo, one Program.draw per layer (baseline)", f"{f['gloo_ms']:.2f} ms")
    row("raw-GL face pass", f"{f['raw_ms']:.2f} ms")
    row("speed-up", f"{f['gloo_ms'] / f['raw_ms']:.2f}x")


if __name__ == "__main__":
    main()
