"""Notebook widget benchmark: frame time and bytes streamed per frame, default network, 1280×720.

An orbit drag is fed to the widget's event handler as jupyter_rfb pointer
events; each step renders the frame the widget streams (scene, HUD, the
inset of a selected map) and encodes it as jupyter_rfb does: JPEG at the
widget's quality while the view moves, and one lossless PNG when it
stops. Frames per second include the encoding (the browser's decode and
the network are not counted).

Run: ``python benchmarks/bench_notebook.py [--frames N] [--size 1280x720]`` (needs ``viz3d[notebook]``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch
from common import row

from viz3d.models.default_net import default_model
from viz3d.models.shapes import sample_image
from viz3d.session import Session


def measure(frames: int = 40, size: tuple[int, int] = (1280, 720)) -> dict[str, float]:
    """Median milliseconds to render and to encode a streamed frame, and bytes per frame."""
    from jupyter_rfb._utils import array2compressed  # what RemoteFrameBuffer sends (a private helper)

    from viz3d.notebook.widget import Viz3dWidget

    session = Session.from_model(default_model(), torch.from_numpy(sample_image(0))[None], size=size)
    widget = Viz3dWidget(session, size)
    session.select("conv3:5")  # the inset is drawn too
    widget.get_frame()  # textures, shaders and panels made once
    x, y = size[0] / 2, size[1] / 2
    widget.handle_event({"type": "pointer_down", "x": x, "y": y, "button": 1, "modifiers": ()})
    render, encode, jpeg_bytes = [], [], []
    for k in range(frames):
        t0 = time.perf_counter()
        widget.handle_event({"type": "pointer_move", "x": x + 5 * (k + 1), "y": y, "button": 1, "modifiers": ()})
        frame = widget.get_frame()
        t1 = time.perf_counter()
        _, data = array2compressed(frame, widget.quality)
        t2 = time.perf_counter()
        render.append(t1 - t0)
        encode.append(t2 - t1)
        jpeg_bytes.append(len(data))
    widget.handle_event({"type": "pointer_up", "x": x + 5 * frames, "y": y, "button": 1, "modifiers": ()})
    t0 = time.perf_counter()
    _, png = array2compressed(widget.get_frame(), 100)
    png_ms = (time.perf_counter() - t0) * 1e3
    widget.close()
    frame_s = statistics.median(render) + statistics.median(encode)
    return {
        "render_ms": statistics.median(render) * 1e3,
        "encode_ms": statistics.median(encode) * 1e3,
        "fps": 1.0 / frame_s,
        "jpeg_kb": statistics.median(jpeg_bytes) / 1e3,
        "png_kb": len(png) / 1e3,
        "png_ms": png_ms,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--size", default="1280x720")
    args = parser.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    f = measure(args.frames, (w, h))
    print(f"notebook widget, default network, {w}x{h}, orbit drag of {args.frames} frames:")
    row("render (event → frame with HUD and inset)", f"{f['render_ms']:.1f} ms")
    row("encode (JPEG, quality 80, while moving)", f"{f['encode_ms']:.1f} ms")
    row("frames/s including encoding (target ≥ 10)", f"{f['fps']:.1f}")
    row("bytes per streamed frame (JPEG)", f"{f['jpeg_kb']:.0f} kB")
    row("the lossless frame when the view stops (PNG)", f"{f['png_kb']:.0f} kB, {f['png_ms']:.0f} ms")


if __name__ == "__main__":
    main()
