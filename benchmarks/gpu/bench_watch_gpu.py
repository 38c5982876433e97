"""Live training on a GPU: ResNet-50 training steps on CUDA with and without ``viz3d.watch(every=10)``.

Part of ``benchmarks/gpu/check.sh``. The model trains on random 224x224
batches (the data does not matter for the cost); the watched run shows its
snapshots in a hidden EGL window through the zero-copy CUDA upload path
(VIZ3D_UPLOAD=cuda: a failure shows instead of falling back). Modes run in
interleaved rounds in one process; each block of 10 steps is timed as a
whole with a CUDA synchronisation at its end only (a median over single
steps would skip the snapshot steps). Target: overhead <= 2 %.

Run: ``python benchmarks/gpu/bench_watch_gpu.py [--rounds 3] [--batch 32] [--allow-cpu]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: common, resnet50

from common import row  # sets the EGL environment before GL is imported

BLOCK = 10


def blocks(mode: str, count: int, batch: int, device: str) -> list[float]:
    """Seconds per step of ``count`` blocks of ``BLOCK`` steps under ``mode`` ("plain" or "watch")."""
    import torch
    from resnet50 import resnet50

    import viz3d

    torch.manual_seed(0)
    model = resnet50().to(device).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.rand(batch, 3, 224, 224, device=device)
    y = torch.randint(0, 1000, (batch,), device=device)
    watcher = None
    if mode == "watch":
        watcher = viz3d.watch(model, x[:1].clone(), every=BLOCK, window=True, backend="egl", size=(1280, 720))
    out = []
    for b in range(count + 1):  # the first block warms up (kernels, allocator, the first snapshot's window)
        sync(device)
        t0 = time.perf_counter()
        for _ in range(BLOCK):
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            if watcher is not None:
                watcher.step(loss=loss)
        sync(device)
        if b:
            out.append((time.perf_counter() - t0) / BLOCK)
    if watcher is not None:
        watcher.close()
    return out


def sync(device: str) -> None:
    import torch

    if device == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--blocks", type=int, default=1, help="blocks of 10 steps per mode and round")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--allow-cpu", action="store_true", help="run on the CPU where there is no GPU (tiny batch)")
    parser.add_argument("--json", default=None, help="write the figures here")
    args = parser.parse_args()
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu" and not args.allow_cpu:
        sys.exit("bench_watch_gpu: no CUDA device (pass --allow-cpu to run the same steps on the CPU)")
    if device == "cuda":
        os.environ.setdefault("VIZ3D_UPLOAD", "cuda")
    batch = args.batch if device == "cuda" else 2
    times: dict[str, list[float]] = {"plain": [], "watch": []}
    for _ in range(args.rounds):
        for mode in times:
            times[mode] += blocks(mode, args.blocks, batch, device)
    medians: dict[str, Any] = {m: statistics.median(t) for m, t in times.items()}
    overhead = medians["watch"] / medians["plain"] - 1
    print(f"ResNet-50 training step on {device}, batch {batch} (median of {len(times['plain'])} blocks of {BLOCK}):")
    row("without watch", f"{1e3 * medians['plain']:8.1f} ms")
    row("watch(every=10), hidden window, CUDA upload", f"{1e3 * medians['watch']:8.1f} ms")
    row("overhead (target <= 2 %)", f"{100 * overhead:+7.2f} %")
    if args.json:
        figures = {"device": device, "batch": batch, "step_ms": {m: 1e3 * v for m, v in medians.items()}}
        Path(args.json).write_text(json.dumps({**figures, "overhead": overhead}, indent=2))


if __name__ == "__main__":
    main()
