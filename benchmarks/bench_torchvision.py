"""Real torchvision architectures (random weights): model to picture, overview coverage, frame time.

torchvision's CPU-loadable wheels need torch 2.14 here, so this runs in a second
virtual environment (``bash scripts/setup_torchvision.sh`` makes ``.venv-tv``):
``.venv-tv/bin/python benchmarks/bench_torchvision.py [--repeats 5] [--nets resnet50,...]``.
The project's own environment (torch 2.13, CI) stays light; without
torchvision this script says so in one line and exits 2.

Per network, 1280×720 on whatever GL the process gets (Mesa llvmpipe here):

- ``import``: seconds to import torch and torchvision in a fresh process;
- ``to picture``: ``viz3d.render(model, x)`` as a user calls it (a long network
  opens folded), after the imports: capture, layout, textures, labels, a 2×
  supersampled frame;
- ``coverage``: the fraction of the unfolded overview (every unit) that is not
  background;
- ``frame``: median time of one frame of the unfolded overview, no supersampling.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from typing import Any

from common import gl_finish, median_time, row

NETS = ("resnet50", "resnet152", "densenet201", "efficientnet_b0", "vit_b_16")


def import_seconds() -> float:
    """Wall time of ``import torch, torchvision`` in a fresh interpreter."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import torch, torchvision"], check=True)
    return time.perf_counter() - t0


def coverage(image: Any) -> float:
    """Fraction of pixels unlike the background (the corner pixel's colour)."""
    import numpy as np

    rgb = image[..., :3].astype(int)
    return float((np.abs(rgb - rgb[0, 0]).max(axis=-1) > 12).mean())


def bench(name: str, repeats: int, size: tuple[int, int]) -> None:
    import torch
    import torchvision

    import viz3d
    from viz3d.export.offscreen import OffscreenView
    from viz3d.session import Session, ViewOptions

    torch.manual_seed(0)
    model = torchvision.models.get_model(name, weights=None).eval()
    x = torch.rand(1, 3, 224, 224)
    t0 = time.perf_counter()
    viz3d.render(model, x, size=size)
    to_picture = time.perf_counter() - t0
    session = Session.from_model(model, x, options=ViewOptions(max_slabs=None), size=size)
    with OffscreenView(session, size, ssaa=1) as view:
        first = view.frame()

        def frame() -> None:
            view.frame()
            gl_finish()

        seconds = median_time(frame, repeats)
    units = len(session.trace.nodes)
    print(f"{name}: {units} units unfolded, {session.layout.arrangement} arrangement")
    row("model to picture (viz3d.render, default options)", f"{to_picture:6.2f} s")
    row("overview coverage, every unit", f"{100 * coverage(first):6.1f} %")
    row(f"frame, {size[0]}x{size[1]}, median of {repeats}", f"{1000 * seconds:6.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--nets", default=",".join(NETS), help="comma-separated torchvision model names")
    args = parser.parse_args()
    try:
        import torchvision
    except ImportError as exc:
        sys.exit(f"bench_torchvision: torchvision is not importable here ({exc}): run scripts/setup_torchvision.sh")
    print(f"torch and torchvision {torchvision.__version__}: import {import_seconds():.2f} s in a fresh process")
    for name in args.nets.split(","):
        bench(name.strip(), args.repeats, (1280, 720))


if __name__ == "__main__":
    main()
