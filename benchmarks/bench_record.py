"""Recording benchmark: frames per second of ``record_tour`` vs matplotlib's ``FuncAnimation``, same run.

For the default network and the ResNet-50-sized synthetic scene (53 layers,
26,560 maps), at 1920×1080 and 3840×2160: an orbit tour recorded offscreen
(render + read-back + H.264 encode through imageio-ffmpeg, or PNG frames when
the video extra is missing), then the render alone (what a faster encoder
could reach). Beside it, matplotlib's ``FuncAnimation`` writes the same
number of frames of the same size, each one layer's pre-tiled mosaic in one
``imshow`` (the best matplotlib can do), with the same encoder; the ratio is
viz3d's frames per second over matplotlib's.

Run: ``python benchmarks/bench_record.py [--frames N] [--quick]`` (``make bench`` runs it). It is not a
step of ``benchmarks/gpu/check.sh``: that script's eight step limits already add up to its 280 s budget
(``tests/test_gpu_check.py`` holds it there), and a 4K recording step needs about 30 s of its own.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
import torch
from common import row

from viz3d.capture import capture, resnet50_shapes, synthetic_trace
from viz3d.capture.trace import Trace
from viz3d.export.offscreen import OffscreenView
from viz3d.export.record import record_tour
from viz3d.models.default_net import default_model
from viz3d.models.shapes import sample_image
from viz3d.session import Session
from viz3d.session.tours import orbit

FPS = 30


def has_ffmpeg() -> bool:
    try:
        import imageio_ffmpeg  # noqa: F401
    except ImportError:
        return False
    return True


def mosaic(values: np.ndarray) -> np.ndarray:
    """A (C, H, W) activation tiled into a near-square grid: one image per layer."""
    c, h, w = values.shape
    cols = int(np.ceil(np.sqrt(c)))
    rows = -(-c // cols)
    out = np.zeros((rows * h, cols * w), np.float32)
    for i in range(c):
        r, k = divmod(i, cols)
        out[r * h : (r + 1) * h, k * w : (k + 1) * w] = values[i]
    return out


def matplotlib_seconds(trace: Trace, frames: int, size: tuple[int, int], out: Path) -> float:
    """Seconds for FuncAnimation to write ``frames`` frames of per-layer mosaics at ``size``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import animation

    mosaics = [mosaic(n.display.float().numpy()) for n in trace.nodes if n.display is not None]
    t0 = time.perf_counter()
    fig = plt.figure(figsize=(size[0] / 100, size[1] / 100), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.axis("off")
    image = ax.imshow(mosaics[0], cmap="viridis")

    def update(k: int) -> list:
        m = mosaics[k % len(mosaics)]
        image.set_data(m)
        image.set_extent((0, m.shape[1], m.shape[0], 0))
        image.set_clim(float(m.min()), float(m.max()))
        ax.set_xlim(0, m.shape[1])
        ax.set_ylim(m.shape[0], 0)
        return [image]

    anim = animation.FuncAnimation(fig, update, frames=frames, blit=False)
    if has_ffmpeg():
        import imageio_ffmpeg

        matplotlib.rcParams["animation.ffmpeg_path"] = imageio_ffmpeg.get_ffmpeg_exe()
        writer: animation.AbstractMovieWriter = animation.FFMpegWriter(fps=30, codec="libx264")
        anim.save(str(out / "mpl.mp4"), writer=writer, dpi=100)
    else:
        anim.save(str(out / "mpl.gif"), writer=animation.PillowWriter(fps=30), dpi=100)
    plt.close(fig)
    return time.perf_counter() - t0


def bench(name: str, trace: Trace, size: tuple[int, int], frames: int) -> dict[str, float]:
    """Record ``frames`` frames of an orbit; the render alone; matplotlib's time for as many frames."""
    session = Session(trace, size=size)
    tour = orbit(session, seconds=frames / FPS)  # one turn in exactly ``frames`` frames
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / ("talk.mp4" if has_ffmpeg() else "frames")
        t0 = time.perf_counter()
        record_tour(session, tour, out, size, FPS)
        record_s = time.perf_counter() - t0
        with OffscreenView(session, size) as view:
            view.frame(camera=tour.camera_at(0))  # textures uploaded once, as in a recording
            t0 = time.perf_counter()
            for k in range(frames):
                view.frame(camera=tour.camera_at(k / FPS))
            render_s = time.perf_counter() - t0
        mpl_s = matplotlib_seconds(trace, frames, size, Path(tmp))
    figures = {"record_fps": frames / record_s, "render_fps": frames / render_s, "mpl_fps": frames / mpl_s}
    label = f"{name} {size[0]}x{size[1]}, {frames} frames"
    row(f"{label}: record ({'H.264' if has_ffmpeg() else 'PNG frames'})", f"{figures['record_fps']:.2f} frames/s")
    row(f"{label}: render + read-back only", f"{figures['render_fps']:.2f} frames/s")
    row(f"{label}: matplotlib FuncAnimation (mosaic per layer)", f"{figures['mpl_fps']:.2f} frames/s")
    row(f"{label}: viz3d record / matplotlib", f"{figures['record_fps'] / figures['mpl_fps']:.1f}x")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=30, help="frames per recording at 1080p (4K: a third)")
    parser.add_argument("--quick", action="store_true", help="8 frames, 1080p only")
    args = parser.parse_args()
    net = default_model()
    scenes = {
        "default network": capture(net, torch.from_numpy(sample_image(0))[None]),
        "ResNet-50-sized scene": synthetic_trace(resnet50_shapes(), skip_every=3),
    }
    sizes = [((1920, 1080), args.frames)] + ([] if args.quick else [((3840, 2160), max(4, args.frames // 3))])
    if args.quick:
        sizes = [((1920, 1080), 8)]
    print(f"recording an orbit tour offscreen (encoder: {'imageio-ffmpeg' if has_ffmpeg() else 'PNG frames'})")
    for name, trace in scenes.items():
        for size, frames in sizes:
            bench(name, trace, size, frames)


if __name__ == "__main__":
    main()
