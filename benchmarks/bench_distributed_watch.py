"""Distributed watch benchmark: one snapshot per rank under DDP and FSDP, against a single process.

A snapshot is what ``viz3d.watch`` does every ``every`` steps, split here into
gather (the full weights: a copy under DDP, an all-gather of the shards under
FSDP), capture (the probe's activations) and write (safetensors file and the
rank's index into the shared run folder). The baseline is the same snapshot of
the same network in a single process, measured first in this run; then this
script launches itself under ``torch.distributed.run`` with 2 CPU processes
(gloo) for DDP and FSDP (``fully_shard``) and prints each rank's medians and
the ratio of its total to the baseline's.

Run: ``python benchmarks/bench_distributed_watch.py [--repeats 10] [--batch 32]``
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PARTS = ("gather", "capture", "write")


def snapshot_times(model: Any, probe: Any, run_dir: Path, rank: int | None, repeats: int) -> dict[str, float]:
    """Median seconds of each part of one snapshot, as the watcher takes it."""
    from viz3d.session.run_folder import RunFolder
    from viz3d.session.timeline import take_snapshot
    from viz3d.training.distributed import capture_method, full_weights, reshard, watched_module

    module = watched_module(model)
    method = capture_method(module)
    run = RunFolder(run_dir, rank=rank)
    times: dict[str, list[float]] = {p: [] for p in PARTS}
    for step in range(repeats + 1):  # the first is a warm-up
        t0 = time.perf_counter()
        weights = full_weights(model)
        t1 = time.perf_counter()
        snapshot = take_snapshot(module, probe, step, {}, None, weights, method)
        if method is not None:
            reshard(module)
        t2 = time.perf_counter()
        run.write(snapshot, [])
        t3 = time.perf_counter()
        if step:
            for part, seconds in zip(PARTS, (t1 - t0, t2 - t1, t3 - t2), strict=True):
                times[part].append(seconds)
    return {p: statistics.median(v) for p, v in times.items()}


def trained_model(kind: str, batch: int) -> tuple[Any, Any]:
    """The default network wrapped for ``kind`` after one training step (FSDP initialised), and a probe."""
    import torch
    from torch import nn

    from viz3d.models.default_net import default_model

    torch.manual_seed(0)
    model: Any = default_model(pretrained=False).train()
    if kind == "ddp":
        from torch.nn.parallel import DistributedDataParallel

        model = DistributedDataParallel(model)
    elif kind == "fsdp":
        import torch.distributed as dist
        from torch.distributed.device_mesh import init_device_mesh
        from torch.distributed.fsdp import fully_shard

        mesh = init_device_mesh("cpu", (dist.get_world_size(),))
        fully_shard(model.block, mesh=mesh)
        model = fully_shard(model, mesh=mesh)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    x, y = torch.rand(batch, 3, 64, 64), torch.randint(0, 6, (batch,))
    nn.functional.cross_entropy(model(x), y).backward()
    opt.step()
    return model, torch.rand(1, 3, 64, 64)


def worker(out: Path, repeats: int, batch: int) -> None:
    """One rank under torch.distributed.run: DDP then FSDP, results to ``out/times.rank-K.json``."""
    import torch.distributed as dist

    dist.init_process_group("gloo")
    rank = dist.get_rank()
    result = {}
    for kind in ("ddp", "fsdp"):
        model, probe = trained_model(kind, batch)
        result[kind] = snapshot_times(model, probe, out / kind, rank, repeats)
    (out / f"times.rank-{rank}.json").write_text(json.dumps(result))
    dist.destroy_process_group()


def launch(out: Path, repeats: int, batch: int) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc-per-node", "2"]
    command += ["--master-addr", "127.0.0.1", "--master-port", str(port), __file__, "--worker", str(out)]
    command += ["--repeats", str(repeats), "--batch", str(batch)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run(command, check=True, env=env, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(Path(args.worker), args.repeats, args.batch)
        return
    import torch

    torch.set_num_threads(1)  # as each rank runs (OMP_NUM_THREADS=1): the same CPU share per process
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        model, probe = trained_model("single", args.batch)
        base = snapshot_times(model, probe, out / "single", None, args.repeats)
        launch(out, args.repeats, args.batch)
        ranks = [json.loads((out / f"times.rank-{r}.json").read_text()) for r in (0, 1)]
    total = sum(base.values())

    def fmt(t: dict[str, float]) -> str:
        return " + ".join(f"{p} {t[p] * 1e3:.1f}" for p in PARTS) + f" = {sum(t.values()) * 1e3:.1f} ms"

    print(f"one snapshot of the default network, median of {args.repeats} (1 thread per process)")
    print(f"  {'single process (baseline)':<26} {fmt(base)}")
    for kind in ("ddp", "fsdp"):
        for r, times in enumerate(ranks):
            t = times[kind]
            print(f"  {f'{kind} rank {r}':<26} {fmt(t)}  ({sum(t.values()) / total:.2f}x)")


if __name__ == "__main__":
    main()
