"""``viz3d diff`` benchmark: a difference render of two checkpoints against a plain render of one.

Two state dicts of the default network (the trained weights and a perturbed
copy) are written to a temporary folder; ``viz3d diff --render`` (both loaded
and checked, two captures, the difference, one frame) and ``viz3d render`` of
the same network at the same size and supersampling (the baseline: one
capture, one frame) run in interleaved rounds in this process, imports done.
Prints the median seconds of each and their ratio.

Run: ``python benchmarks/bench_diff.py [--rounds 5] [--size 1920x1080] [--show activations|weights]``
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import tempfile
import time
from pathlib import Path

from common import row


def checkpoints(folder: Path) -> tuple[Path, Path]:
    """The trained default network (.safetensors) and a perturbed copy (.pt)."""
    import torch
    from safetensors.torch import save_file

    from viz3d.models.default_net import default_model

    trained = default_model().state_dict()
    g = torch.Generator().manual_seed(0)
    perturbed = {
        k: v + 0.05 * v.abs().mean() * torch.randn(v.shape, generator=g) if v.is_floating_point() else v
        for k, v in trained.items()
    }
    a, b = folder / "a.safetensors", folder / "b.pt"
    save_file({k: v.contiguous() for k, v in trained.items()}, str(a))
    torch.save(perturbed, b)
    return a, b


def timed(argv: list[str]) -> float:
    from viz3d.cli import main

    t0 = time.perf_counter()
    with contextlib.redirect_stderr(io.StringIO()):
        assert main(argv) == 0, argv
    return time.perf_counter() - t0


def measure(rounds: int, size: str, show: str) -> dict[str, float]:
    """Median seconds of ``viz3d diff --render`` and of ``viz3d render`` (interleaved rounds)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        a, b = checkpoints(folder)
        diff = ["diff", "--weights", str(a), str(b), "--show", show, "--render", str(folder / "d.png")]
        diff += ["--size", size, "--ssaa", "2"]
        plain = ["render", "--weights", str(a), "--out", str(folder / "r.png"), "--size", size, "--ssaa", "2"]
        plain += ["--input", "sample"]
        diff += ["--input", "sample"]
        timed(diff), timed(plain)  # warm-up: shaders compiled, caches filled
        times: dict[str, list[float]] = {"diff": [], "render": []}
        for _ in range(rounds):
            times["diff"].append(timed(diff))
            times["render"].append(timed(plain))
    return {k: statistics.median(v) for k, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--show", default="activations", choices=["activations", "weights"])
    args = parser.parse_args()
    out = measure(args.rounds, args.size, args.show)
    row(f"viz3d diff --show {args.show} --render, {args.size}, ssaa 2", f"{out['diff']:.2f} s (median)")
    row(f"viz3d render (baseline), {args.size}, ssaa 2", f"{out['render']:.2f} s (median)")
    row("diff / render", f"{out['diff'] / out['render']:.2f}x")


if __name__ == "__main__":
    main()
