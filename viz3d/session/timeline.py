"""A training run's timeline: snapshots of activations, weights and metrics, the newest kept in a ring (torch only).

A :class:`Snapshot` is what the model looked like at one training step: the
probe input's captured trace (activations on their device), a detached copy
of the state dict's float tensors (cloned: the optimizer changes the
originals in place) and the metrics passed with that step. Statistics are
computed on first use, not at the snapshot: they cost several times the
capture, and most snapshots are never looked at that closely.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import torch
from torch import nn

from viz3d.capture import capture
from viz3d.capture.stats import LayerStats, layer_statistics
from viz3d.capture.trace import CaptureMethod, Trace
from viz3d.errors import Viz3dError

Metric = float | int | torch.Tensor


def checked_metrics(metrics: Mapping[str, Metric]) -> dict[str, Metric]:
    """Metrics checked (numbers, or one-element tensors kept detached and unread: reading one syncs a GPU)."""
    out: dict[str, Metric] = {}
    for name, value in metrics.items():
        if isinstance(value, torch.Tensor):
            if value.numel() != 1:
                raise Viz3dError(f"metric {name!r} is a tensor of shape {tuple(value.shape)}: pass one number")
            value = value.detach()
        elif isinstance(value, bool) or not isinstance(value, int | float):
            raise Viz3dError(f"metric {name!r} is a {type(value).__name__}: pass a number or a one-element tensor")
        out[name] = value
    return out


def metric_values(metrics: Mapping[str, Metric]) -> dict[str, float]:
    """Checked metrics as floats (tensors are read here, once per snapshot)."""
    return {k: float(v.item() if isinstance(v, torch.Tensor) else v) for k, v in checked_metrics(metrics).items()}


def weight_copy(model: nn.Module) -> dict[str, torch.Tensor]:
    """The state dict's floating-point tensors, detached and cloned (on their device)."""
    with torch.no_grad():
        return {k: v.detach().clone() for k, v in model.state_dict().items() if v.is_floating_point()}


@dataclass
class Snapshot:
    """One training step's activations (``activations``: node name → shown (C, H, W) values), weights and metrics.

    ``trace`` is the captured trace in memory (None for a snapshot loaded from a run folder).
    """

    step: int
    wall_time: float
    metrics: dict[str, float]
    activations: dict[str, torch.Tensor]
    weights: dict[str, torch.Tensor]
    trace: Trace | None = None
    _stats: list[LayerStats] | None = field(default=None, repr=False)
    difference: bool = False  # the values are one snapshot minus another (two ranks): no model state to explain

    def statistics(self) -> list[LayerStats]:
        """Per-layer statistics of the captured trace, computed on first use."""
        if self.trace is None:
            raise Viz3dError(f"snapshot of step {self.step} was loaded without its trace: statistics need the model")
        if self._stats is None:
            self._stats = layer_statistics(self.trace)
        return self._stats


def take_snapshot(
    model: nn.Module,
    probe: torch.Tensor | tuple[torch.Tensor, ...],
    step: int,
    metrics: Mapping[str, Metric] | None = None,
    group_depth: int | None = None,
    weights: dict[str, torch.Tensor] | None = None,
    method: CaptureMethod | None = None,
) -> Snapshot:
    """Capture ``probe``'s activations and copy the weights; the model is left as it was (see capture's guard).

    ``weights``: the weights to keep instead of a copy of ``model``'s (gathered from shards, under FSDP);
    ``method``: force capture's path (``"hooks"`` runs the model's own forward, as FSDP needs).
    """
    trace = capture(model, probe, group_depth=group_depth, method=method)
    activations = {n.name: n.display for n in trace.nodes if n.display is not None}
    kept = weight_copy(model) if weights is None else weights
    return Snapshot(step, time.time(), metric_values(metrics or {}), activations, kept, trace)


class SnapshotRing:
    """The newest ``keep`` snapshots, oldest first (memory stays bounded however long the run)."""

    def __init__(self, keep: int = 32) -> None:
        if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
            raise Viz3dError(f"keep must be a whole number of snapshots ≥ 1, got {keep!r}")
        self.keep = keep
        self._items: deque[Snapshot] = deque(maxlen=keep)

    def add(self, snapshot: Snapshot) -> None:
        """Keep ``snapshot``; the oldest goes when the ring is full."""
        self._items.append(snapshot)

    def steps(self) -> list[int]:
        """The steps held, oldest first."""
        return [s.step for s in self._items]

    @property
    def latest(self) -> Snapshot | None:
        return self._items[-1] if self._items else None

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Snapshot]:
        return iter(self._items)

    def __getitem__(self, index: int) -> Snapshot:
        return self._items[index]
