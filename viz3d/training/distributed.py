"""Watching under ``torch.distributed``: which rank this is, the module to capture, the full weights (torch only).

Each rank's watch writes its own snapshots (its probe's activations, the
weights, its metrics) into the shared run folder, its rank in the file names.
Nothing is sent between processes by viz3d itself; where weights are sharded,
torch.distributed gathers them:

- DDP keeps a full replica of the model on every rank: the watch captures
  and copies the wrapped ``module`` (no collective: DDP's forward would
  broadcast buffers, and the names would carry a ``module.`` prefix).
- FSDP (``fully_shard``) keeps parameters as sharded DTensors: the capture runs
  the model's own forward (FSDP all-gathers each unit as in training) and the
  weights are gathered with ``DTensor.full_tensor()`` on every rank, which is
  a collective: every rank must snapshot at the same steps (they do, when each
  calls ``step()`` once per training step with the same ``every``).
- FSDP1 (``FullyShardedDataParallel``): the full state dict through
  ``FSDP.state_dict_type(FULL_STATE_DICT)``, offloaded to the CPU.
"""

from __future__ import annotations

import torch
from torch import nn

from viz3d.session.timeline import weight_copy


def process_rank() -> int | None:
    """This process's rank when ``torch.distributed`` is initialised, else None (a single process)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return int(dist.get_rank())
    return None


def watched_module(model: nn.Module) -> nn.Module:
    """The module whose activations are captured: DDP's wrapped replica, else the model itself."""
    from torch.nn.parallel import DistributedDataParallel

    return model.module if isinstance(model, DistributedDataParallel) else model


def _is_fsdp1(model: nn.Module) -> bool:
    from torch.distributed.fsdp import FullyShardedDataParallel

    return any(isinstance(m, FullyShardedDataParallel) for m in model.modules())


def full_weights(model: nn.Module) -> dict[str, torch.Tensor]:
    """The floating-point state (detached copies) with every sharded tensor gathered in full on this rank."""
    module = watched_module(model)
    if torch.distributed.is_available() and torch.distributed.is_initialized() and _is_fsdp1(module):
        from torch.distributed.fsdp import FullStateDictConfig, StateDictType
        from torch.distributed.fsdp import FullyShardedDataParallel as FSDP

        config = FullStateDictConfig(offload_to_cpu=True, rank0_only=False)
        with FSDP.state_dict_type(module, StateDictType.FULL_STATE_DICT, config), torch.no_grad():
            return {k: v.detach().clone() for k, v in module.state_dict().items() if v.is_floating_point()}
    weights = weight_copy(module)
    if not any(_is_dtensor(v) for v in weights.values()):
        return weights
    with torch.no_grad():  # fully_shard: all-gather each shard (a collective, in state-dict order on every rank)
        return {k: v.full_tensor() if _is_dtensor(v) else v for k, v in weights.items()}


def _is_dtensor(t: torch.Tensor) -> bool:
    try:
        from torch.distributed.tensor import DTensor
    except ImportError:  # a torch built without distributed
        return False
    return isinstance(t, DTensor)
