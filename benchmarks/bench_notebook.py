"""Notebook widget benchmark: frame time and bytes streamed per frame, default network and ResNet-50, 1280×720.

An orbit drag is fed to the widget's event handler as jupyter_rfb pointer
events; each step renders the frame the widget streams (scene, HUD, the
inset of a selected map) and encodes it as jupyter_rfb does: JPEG at the
widget's quality while the view moves, and one lossless PNG when it
stops. Frames per second include the encoding (the browser's decode and
the network are not counted). The networks' frames alternate, so the
machine's load changes alike for both. ResNet-50 is ``benchmarks/resnet50.py``'s
(torchvision's architecture, random weights, a 224² input): 176 units
shown leaf by leaf, every channel a tile.

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
from torch import nn

from viz3d.models.default_net import default_model
from viz3d.models.shapes import sample_image
from viz3d.session import Session, ViewOptions


def networks() -> dict[str, tuple[nn.Module, torch.Tensor, str]]:
    """Name → (model, input, the map selected for the inset)."""
    from resnet50 import resnet50

    torch.manual_seed(0)
    return {
        "default network": (default_model(), torch.from_numpy(sample_image(0))[None], "conv3:5"),
        "ResNet-50": (resnet50(), torch.rand(1, 3, 224, 224), "layer3.0.conv2:5"),
    }


class OrbitDrag:
    """One network's widget under an orbit drag: each :meth:`step` times one streamed frame."""

    def __init__(self, model: nn.Module, x: torch.Tensor, select: str, size: tuple[int, int]) -> None:
        from viz3d.notebook.widget import Viz3dWidget

        session = Session.from_model(model, x, options=ViewOptions(max_slabs=None), size=size)  # every unit
        self.widget = Viz3dWidget(session, size)
        session.select(select)  # the inset is drawn too
        self.widget.get_frame()  # textures, shaders and panels made once
        self.x, self.y = size[0] / 2, size[1] / 2
        self.widget.handle_event({"type": "pointer_down", "x": self.x, "y": self.y, "button": 1, "modifiers": ()})
        self.render: list[float] = []
        self.encode: list[float] = []
        self.jpeg_bytes: list[int] = []

    def step(self) -> None:
        """One drag event, the frame it asks for and its JPEG, as jupyter_rfb sends it."""
        from jupyter_rfb._utils import array2compressed  # what RemoteFrameBuffer sends (a private helper)

        w, k = self.widget, len(self.render) + 1
        t0 = time.perf_counter()
        w.handle_event({"type": "pointer_move", "x": self.x + 5 * k, "y": self.y, "button": 1, "modifiers": ()})
        frame = w.get_frame()
        t1 = time.perf_counter()
        _, data = array2compressed(frame, w.quality)
        self.render.append(t1 - t0)
        self.encode.append(time.perf_counter() - t1)
        self.jpeg_bytes.append(len(data))

    def finish(self) -> dict[str, float]:
        """Release the drag, time the lossless frame; median milliseconds and bytes."""
        from jupyter_rfb._utils import array2compressed

        w = self.widget
        w.handle_event({"type": "pointer_up", "x": self.x, "y": self.y, "button": 1, "modifiers": ()})
        t0 = time.perf_counter()
        _, png = array2compressed(w.get_frame(), 100)
        png_ms = (time.perf_counter() - t0) * 1e3
        w.close()
        frame_s = statistics.median(self.render) + statistics.median(self.encode)
        return {
            "render_ms": statistics.median(self.render) * 1e3,
            "encode_ms": statistics.median(self.encode) * 1e3,
            "fps": 1.0 / frame_s,
            "jpeg_kb": statistics.median(self.jpeg_bytes) / 1e3,
            "png_kb": len(png) / 1e3,
            "png_ms": png_ms,
        }


def measure(frames: int, size: tuple[int, int]) -> dict[str, dict[str, float]]:
    """Per network: median render and encode ms, frames/s, bytes per frame; frames interleaved across networks."""
    drags = {name: OrbitDrag(*net, size) for name, net in networks().items()}
    for _ in range(frames):
        for drag in drags.values():  # alternating: the machine's load changes alike for both
            drag.step()
    return {name: drag.finish() for name, drag in drags.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--size", default="1280x720")
    args = parser.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    results = measure(args.frames, (w, h))
    base = results["default network"]
    for name, f in results.items():
        print(f"notebook widget, {name}, {w}x{h}, orbit drag of {args.frames} frames:")
        row("render (event → frame with HUD and inset)", f"{f['render_ms']:.1f} ms")
        row("encode (JPEG, quality 80, while moving)", f"{f['encode_ms']:.1f} ms")
        target = " (target ≥ 10)" if f is base else ""
        row(f"frames/s including encoding{target}", f"{f['fps']:.1f}")
        row("bytes per streamed frame (JPEG)", f"{f['jpeg_kb']:.0f} kB")
        row("the lossless frame when the view stops (PNG)", f"{f['png_kb']:.0f} kB, {f['png_ms']:.0f} ms")
        if f is not base:
            row("frame time against the default network", f"{base['fps'] / f['fps']:.2f}×")


if __name__ == "__main__":
    main()
