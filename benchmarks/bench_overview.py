"""Overview coverage benchmark: how much of a 1280x720 overview a network fills, line against rows.

The line arrangement stacks layers along the depth axis; the overview sees a
long network as a thin diagonal thread. The rows arrangement wraps it like
lines of text facing the camera (:mod:`viz3d.layout.rows`). Both are measured
in the same run, on the same captured trace, through the ``arrangement`` view
option:

- ``covered``: the fraction of pixels of the overview frame (``viz3d.render``,
  1280x720, the overview camera) that are not background;
- ``on screen``: whether every corner of every slab projects inside the frame;
- ``layout``: median time of :func:`viz3d.layout.layout_trace`.

Networks: the default network, ResNet-50 unfolded (benchmarks/resnet50.py,
224x224, random weights), a plain chain of 150 conv/ReLU layers, a
DenseNet-like stack (4 dense blocks of 6 layers with transitions) and a
ViT-like stack of 12 encoder layers.

``--sweep`` adds plain chains of 8 to 48 layers, with the smallest slab's
height on screen: where the line stops showing every layer readably, rows
begin (``viz3d.layout.rows.ROWS_PAST_RANKS``).

Run: ``python benchmarks/bench_overview.py [--repeats 3] [--save DIR] [--sweep]`` (``--save`` writes each PNG).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
from common import median_time, row

SIZE = (1280, 720)
BACKGROUND_TOLERANCE = 6  # a pixel within this of the clear colour in every channel is background


def plain_chain(layers: int = 150) -> Any:
    """``layers`` units in one line: conv and ReLU alternating, 8 maps of 16x16."""
    from torch import nn

    mods: list[nn.Module] = [nn.Conv2d(3, 8, 3, padding=1)]
    while len(mods) < layers:
        mods.append(nn.ReLU() if len(mods) % 2 else nn.Conv2d(8, 8, 3, padding=1))
    return nn.Sequential(*mods)


def dense_stack(blocks: int = 4, per_block: int = 6, growth: int = 8) -> Any:
    """A DenseNet-like network: each layer in a block sees the concatenation of every earlier output."""
    import torch
    from torch import nn

    class DenseStack(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Conv2d(3, 16, 3, padding=1)
            self.blocks = nn.ModuleList()
            self.transitions = nn.ModuleList()
            c = 16
            for _ in range(blocks):
                layers = nn.ModuleList()
                for _ in range(per_block):
                    layers.append(nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(), nn.Conv2d(c, growth, 3, padding=1)))
                    c += growth
                self.blocks.append(layers)
                self.transitions.append(nn.Sequential(nn.Conv2d(c, c // 2, 1), nn.AvgPool2d(2)))
                c //= 2

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.stem(x)
            for layers, transition in zip(self.blocks, self.transitions, strict=True):
                for layer in layers:
                    x = torch.cat([x, layer(x)], 1)
                x = transition(x)
            return x

    return DenseStack()


def vit_like(depth: int = 12, dim: int = 32) -> Any:
    """Patch embedding and ``depth`` transformer encoder layers on 16 patches."""
    from torch import nn

    class ViTLike(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Conv2d(3, dim, 8, stride=8)
            self.layers = nn.ModuleList(
                nn.TransformerEncoderLayer(dim, 4, 2 * dim, batch_first=True, dropout=0.0) for _ in range(depth)
            )

        def forward(self, x: Any) -> Any:
            t = self.embed(x).flatten(2).transpose(1, 2)
            for layer in self.layers:
                t = layer(t)
            return t

    return ViTLike()


def networks() -> list[tuple[str, Any, Any]]:
    import torch
    from resnet50 import resnet50

    from viz3d.models.default_net import default_model
    from viz3d.models.shapes import sample_image

    torch.manual_seed(0)
    return [
        ("default network", default_model().eval(), torch.from_numpy(sample_image(0)).float()[None]),
        ("ResNet-50 unfolded", resnet50().eval(), torch.rand(1, 3, 224, 224)),
        ("plain chain, 150 layers", plain_chain().eval(), torch.rand(1, 3, 16, 16)),
        ("DenseNet-like, 4x6 layers", dense_stack().eval(), torch.rand(1, 3, 32, 32)),
        ("ViT-like, 12 layers", vit_like().eval(), torch.rand(1, 3, 32, 32)),
    ]


def coverage(image: np.ndarray) -> float:
    """Fraction of pixels that are not the renderer's clear colour."""
    from viz3d.renderer.scene_renderer import BACKGROUND

    bg = np.array([round(c * 255) for c in BACKGROUND[:3]])
    return float((np.abs(image[..., :3].astype(int) - bg) > BACKGROUND_TOLERANCE).any(axis=-1).mean())


def screen_boxes(trace: Any, options: Any) -> np.ndarray:
    """(slabs, 8, 2) pixel positions of every slab corner in the overview frame."""
    from viz3d.api import open_session

    session = open_session(trace, None, options, size=SIZE, camera="overview")
    corners = np.array(
        [
            [[x, y, z, 1.0] for x in (s.lo[0], s.hi[0]) for y in (s.lo[1], s.hi[1]) for z in (s.lo[2], s.hi[2])]
            for s in session.layout.slabs
        ]
    )
    clip = corners @ session.view_projection().T
    ndc = clip[..., :2] / clip[..., 3:4]
    return (ndc + 1) / 2 * np.array(SIZE)


def all_on_screen(trace: Any, options: Any) -> bool:
    """Whether every slab corner projects inside the overview frame."""
    px = screen_boxes(trace, options)
    return bool(((px >= 0) & (px <= np.array(SIZE))).all())


def sweep() -> None:
    """Plain chains of growing length: where rows start to pay (the auto threshold)."""
    import viz3d
    from viz3d.capture import capture
    from viz3d.layout.rows import ROWS_PAST_RANKS
    from viz3d.session import ViewOptions

    print(f"Plain conv/ReLU chains (8 maps of 16x16); auto wraps past {ROWS_PAST_RANKS} ranks")
    for n in (8, 16, 24, 32, 48):
        import torch

        trace = capture(plain_chain(n).eval(), torch.rand(1, 3, 16, 16))
        cells = []
        for arrangement in ("line", "rows"):
            options = ViewOptions(max_slabs=None, arrangement=arrangement)
            image = viz3d.render(trace, options=options, size=SIZE, ssaa=1)
            px = screen_boxes(trace, options)
            tall = px[..., 1].max(axis=1) - px[..., 1].min(axis=1)
            cells.append(f"{arrangement} {coverage(image):6.1%}, median slab {float(np.median(tall)):3.0f} px tall")
        row(f"  {n} layers", ", ".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--save", type=Path, default=None, help="write each overview PNG here")
    parser.add_argument("--sweep", action="store_true", help="also plain chains of 8..48 layers (the auto threshold)")
    args = parser.parse_args()

    import viz3d
    from viz3d.capture import capture
    from viz3d.layout import layout_trace
    from viz3d.session import ViewOptions

    if args.save:
        args.save.mkdir(parents=True, exist_ok=True)
    print(f"Overview of each network at {SIZE[0]}x{SIZE[1]}: line (the old arrangement) against rows")
    for name, model, x in networks():
        trace = capture(model, x)
        print(f"{name}: {len(trace.nodes)} units")
        covered = {}
        for arrangement in ("line", "rows"):
            options = ViewOptions(max_slabs=None, arrangement=arrangement)
            layout_s = median_time(lambda a=arrangement, t=trace: layout_trace(t, "tile", a), args.repeats)
            image = viz3d.render(trace, options=options, size=SIZE, ssaa=1)
            covered[arrangement] = coverage(image)
            if args.save:
                from PIL import Image

                slug = name.split(",")[0].replace(" ", "-").lower()
                Image.fromarray(image).save(args.save / f"{slug}-{arrangement}.png")
            shown = "every unit on screen" if all_on_screen(trace, options) else "UNITS OFF SCREEN"
            row(f"  {arrangement}", f"covered {covered[arrangement]:6.1%}, layout {layout_s * 1e3:6.1f} ms, {shown}")
        row("  rows / line coverage", f"{covered['rows'] / max(covered['line'], 1e-9):.2f}x")
    if args.sweep:
        sweep()


if __name__ == "__main__":
    main()
