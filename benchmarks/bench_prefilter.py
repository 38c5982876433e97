"""Prefiltered tiles (no shimmer): what averaging over each pixel's footprint costs, and what it removes.

The slab face shader averages up to ``filter_taps``² samples over the part of
a tile one pixel covers (1: one sample, the unfiltered picture). Measured on
ResNet-50 (``benchmarks/resnet50.py``, random weights, a 224² input, 176 units,
every channel a tile) at 1280×720 on its overview and on an oblique view of
its middle, where every tile is far smaller than its texels:

- frame time (draw + glFinish, median) for each tap count, against 1 taps in
  the same run;
- upload time of every layer (median): the filter reads the same textures,
  so this only shows the upload is untouched;
- the error against an 8×8-supersampled render (point-sampled, box-averaged)
  of the same view at 640×360 (the reference at 1280×720 would be a
  10240×5760 render): mean absolute difference over the slabs' pixels, 0–255.

Run: ``python benchmarks/bench_prefilter.py [--repeats 7]``
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
import torch
from common import gl_finish, median_time, row

from viz3d.session import Session, ViewOptions

SIZE = (1280, 720)
ERROR_SIZE = (640, 360)
TAPS = (1, 2, 4, 8)
REFERENCE_SSAA = 8


def views(session: Session) -> dict[str, np.ndarray]:
    """Name → view-projection: the overview and an oblique look at the middle of the network."""
    home = session.home_camera()
    mid = session.layout.slabs[len(session.layout.slabs) // 2]
    oblique = session.focus_on_slab(mid)
    oblique.azimuth += 55.0
    oblique.elevation += 20.0
    oblique.distance *= 4.0
    aspect = SIZE[0] / SIZE[1]
    return {"overview": home.view_projection(aspect), "oblique middle": oblique.view_projection(aspect)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    from resnet50 import resnet50

    from viz3d.export.offscreen import OffscreenView
    from viz3d.gpu import pack_for_texture
    from viz3d.renderer.offscreen import Framebuffer, render_frame

    torch.manual_seed(0)
    unfolded = ViewOptions(max_slabs=None)  # all 176 units, as the figures say
    session = Session.from_model(resnet50(), torch.rand(1, 3, 224, 224), options=unfolded, size=SIZE)
    with OffscreenView(session, SIZE) as view:
        renderer = view.renderer
        renderer.show_labels = False  # text is drawn alike at every tap count; at 8x it only blurs the error
        packed = [pack_for_texture(renderer.trace.nodes[la.node_id].display, la.plan) for la in renderer.layers]

        def upload_all() -> None:
            for layer, data in zip(renderer.layers, packed, strict=True):
                renderer.uploader.upload(layer.activation, data, renderer.canvas)
            gl_finish()

        upload_ms = 1e3 * median_time(upload_all, args.repeats)
        print(f"ResNet-50, {len(renderer.layers)} layers, {SIZE[0]}x{SIZE[1]}, llvmpipe (median of {args.repeats}):")
        row("upload, every layer (the filter does not touch it)", f"{upload_ms:.1f} ms")
        fbo = Framebuffer()
        target = fbo.bind_size(SIZE)
        for name, vp in views(session).items():
            renderer.filter_taps = 1
            reference = render_frame(renderer, vp, ERROR_SIZE, ssaa=REFERENCE_SSAA)[..., :3].astype(int)
            slabs = np.abs(reference - reference[0, 0]).max(axis=2) > 0
            print(f"{name} ({slabs.mean():.1%} of the frame is slabs):")
            base = 0.0
            for taps in TAPS:
                renderer.filter_taps = taps

                def frame(vp: np.ndarray = vp) -> None:
                    view.canvas.set_current()
                    with target:  # type: ignore[attr-defined]
                        renderer.draw(vp, SIZE)
                    gl_finish()

                ms = 1e3 * median_time(frame, args.repeats, warmup=2)
                base = base or ms
                image = render_frame(renderer, vp, ERROR_SIZE)[..., :3].astype(int)
                error = np.abs(image - reference).mean(axis=2)[slabs].mean()
                label = "one sample (unfiltered)" if taps == 1 else f"up to {taps}x{taps} samples"
                row(
                    f"{label}: frame, x against one, error vs {REFERENCE_SSAA}x SSAA",
                    f"{ms:6.1f} ms  x{ms / base:.2f}  {error:5.1f}",
                )
        fbo.delete()


if __name__ == "__main__":
    main()
