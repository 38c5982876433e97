"""Run by tests/test_distributed.py under ``torch.distributed.run``: the default network trained with DDP and with FSDP.

``python -m torch.distributed.run --nproc-per-node 2 tests/distributed_worker.py RUN_DIR STEPS`` (gloo, CPU)
trains the default network for STEPS steps, each rank on its own batches, six times: with DDP, FSDP
(``fully_shard``) and FSDP1 (``FullyShardedDataParallel``), each once watched
(``viz3d.watch(every=1, run_dir=RUN_DIR/KIND)``, each
rank's probe its own random image) and once not. Each rank writes the checksums of its parameters
after each run to RUN_DIR/sums.rank-K.json, so the test sees that the replicas agree and that watching
changed no parameter.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.fsdp import FullyShardedDataParallel, fully_shard
from torch.nn.parallel import DistributedDataParallel

import viz3d
from viz3d.models.default_net import default_model
from viz3d.training.distributed import full_weights


def wrapped(kind: str) -> nn.Module:
    torch.manual_seed(0)
    model = default_model().train()
    if kind == "ddp":
        return DistributedDataParallel(model)
    if kind == "fsdp1":
        return FullyShardedDataParallel(model, device_id=torch.device("cpu"))
    mesh = init_device_mesh("cpu", (dist.get_world_size(),))
    fully_shard(model.block, mesh=mesh)  # a nested unit, as auto-wrapping would make
    return fully_shard(model, mesh=mesh)


def train(kind: str, steps: int, run_dir: Path | None) -> str:
    """Train; return a checksum of the full parameters (gathered, under FSDP)."""
    model = wrapped(kind)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    data = torch.Generator().manual_seed(100 + dist.get_rank())  # each rank its own batches and probe
    probe = torch.rand(1, 3, 64, 64, generator=data)
    watcher = None if run_dir is None else viz3d.watch(model, probe, every=1, window=False, run_dir=run_dir)
    for _ in range(steps):
        x, y = torch.rand(4, 3, 64, 64, generator=data), torch.randint(0, 6, (4,), generator=data)
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        if watcher is not None:
            watcher.step(loss=loss)
    if watcher is not None:
        watcher.close()
    weights = full_weights(model)
    return repr(sum(float(v.double().sum()) for k, v in weights.items() if "running" not in k))


def main(run_dir: str, steps: int) -> None:
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    sums = {}
    for kind in ("ddp", "fsdp", "fsdp1"):
        sums[kind] = {"watched": train(kind, steps, Path(run_dir) / kind), "plain": train(kind, steps, None)}
    (Path(run_dir) / f"sums.rank-{rank}.json").write_text(json.dumps(sums))
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
