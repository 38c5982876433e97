"""Run by tests/test_distributed.py under ``torch.distributed.run``: DDP on the default network, watched on each rank.

``python -m torch.distributed.run --nproc-per-node 2 tests/ddp_worker.py RUN_DIR STEPS`` trains the
default network with DDP (gloo, CPU) for STEPS steps, each rank on its own data, with
``viz3d.watch(every=1, run_dir=RUN_DIR)`` on every rank; each rank's probe is its own random image.
Each rank prints its parameters' checksum so the test can see the replicas agree.
"""

from __future__ import annotations

import sys

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

import viz3d
from viz3d.models.default_net import default_model


def main(run_dir: str, steps: int) -> None:
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    torch.manual_seed(0)
    model = DistributedDataParallel(default_model().train())
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    data = torch.Generator().manual_seed(100 + rank)  # each rank its own batches and probe
    probe = torch.rand(1, 3, 64, 64, generator=data)
    with viz3d.watch(model, probe, every=1, window=False, run_dir=run_dir) as watcher:
        for _ in range(steps):
            x, y = torch.rand(4, 3, 64, 64, generator=data), torch.randint(0, 6, (4,), generator=data)
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            watcher.step(loss=loss)
    total = sum(float(p.detach().double().sum()) for p in model.parameters())
    print(f"rank {rank} parameters {total!r}", flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
