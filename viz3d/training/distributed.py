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

from dataclasses import replace
from typing import Literal

import torch
from torch import nn

from viz3d.session.timeline import Snapshot, weight_copy

FSDP1_PREFIX = "_fsdp_wrapped_module."  # what FullyShardedDataParallel puts in its modules' names


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


def capture_method(model: nn.Module) -> Literal["hooks"] | None:
    """``"hooks"`` for a sharded model: its root forward must run (FSDP gathers there), not traced pieces."""
    from torch.distributed.fsdp import FSDPModule

    sharded = any(isinstance(m, FSDPModule) for m in model.modules()) or _is_fsdp1(model)
    return "hooks" if sharded else None


def reshard(model: nn.Module) -> None:
    """Give ``fully_shard`` units back their shards after a capture.

    The root unit keeps its parameters gathered after a forward (training's
    backward would need them at once), but the capture's guard puts the
    module's own parameter objects (the shards) back in place: resharding
    frees the gathered copy, so FSDP's state and the module agree again.
    """
    from torch.distributed.fsdp import FSDPModule

    for m in model.modules():
        if isinstance(m, FSDPModule):
            m.reshard()


def plain_names(snapshot: Snapshot) -> Snapshot:
    """``snapshot`` with FSDP1's wrapper prefixes taken out of its layer names (the weights' names have none)."""
    if snapshot.trace is None or not any(FSDP1_PREFIX in n.name for n in snapshot.trace.nodes):
        return snapshot
    nodes = [replace(n, name=n.name.replace(FSDP1_PREFIX, "")) for n in snapshot.trace.nodes]
    activations = {k.replace(FSDP1_PREFIX, ""): v for k, v in snapshot.activations.items()}
    return replace(snapshot, activations=activations, trace=snapshot.trace.with_nodes(nodes))


def _is_fsdp1(model: nn.Module) -> bool:
    from torch.distributed.fsdp import FullyShardedDataParallel

    return any(isinstance(m, FullyShardedDataParallel) for m in model.modules())


def full_weights(model: nn.Module) -> dict[str, torch.Tensor]:
    """The floating-point state (detached copies) with every sharded tensor gathered in full on this rank."""
    module = watched_module(model)
    if torch.distributed.is_available() and torch.distributed.is_initialized() and _is_fsdp1(module):
        from torch.distributed.fsdp import FullStateDictConfig, StateDictType
        from torch.distributed.fsdp import FullyShardedDataParallel as FSDP

        # Gathered on the host where the model is on a GPU; on the CPU, FSDP's offload path fails before a forward.
        on_gpu = any(p.is_cuda for p in module.parameters())
        config = FullStateDictConfig(offload_to_cpu=on_gpu, rank0_only=False)
        with FSDP.state_dict_type(module, StateDictType.FULL_STATE_DICT, config), torch.no_grad():
            return {k: v.detach().clone() for k, v in module.state_dict().items() if v.is_floating_point()}
    state = module.state_dict()
    try:
        from torch.distributed.tensor import DTensor
    except ImportError:  # a torch built without distributed: nothing is sharded
        return weight_copy(module)
    if not any(isinstance(v, DTensor) for v in state.values()):
        return weight_copy(module)
    # fully_shard: all-gather each shard (a collective, in state-dict order on every rank).
    with torch.no_grad():
        return {
            k: v.full_tensor() if isinstance(v, DTensor) else v.detach().clone()
            for k, v in state.items()
            if v.is_floating_point()
        }
