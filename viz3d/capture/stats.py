"""Per-layer statistics and health flags, reduced where the tensors live (torch only).

Activations are taken over the whole captured batch (capture a batch of N
inputs to aggregate), weights from the producing module. Flags:

- **non-finite** channels: holding a NaN or an infinity anywhere in the batch
  (counted: NaN and Inf values of the layer); such a channel is neither dead
  nor saturated, whatever its finite values are;
- **dead** channels: zero for every input in the batch;
- **saturated** channels: at least 90 % of values within 1 % (of the layer's
  finite range) of the layer's maximum, or of its negative minimum (sigmoid,
  tanh, hard clamps stuck at a bound);
- **scale**: a layer whose activation standard deviation differs from the
  layer before it, or whose weight standard deviation differs from every
  nearby parameterised layer, by more than ``scale_factor`` — a sign of
  vanishing or exploding signal.

Means, ranges and histograms are of the finite values; :meth:`LayerStats.to_dict`
gives ``None`` for a value that is not finite, so the JSON is strict.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import cast

import numpy as np
import torch

from viz3d.capture.trace import Node, Trace

HIST_BINS = 32
SATURATION_SHARE = 0.9
SATURATION_BAND = 0.01
SCALE_FACTOR = 10.0


@dataclass
class Histogram:
    """Counts of values in equal-width bins between ``edges[0]`` and ``edges[-1]`` (last bin closed)."""

    counts: list[int]
    edges: list[float]


@dataclass
class LayerStats:
    """Statistics of one node, JSON-ready (see :func:`layer_statistics`)."""

    id: int
    name: str
    op: str
    kind: str
    shape: list[int]
    params: int
    samples: int
    act_mean: float | None = None
    act_std: float | None = None
    act_min: float | None = None
    act_max: float | None = None
    dead_fraction: float = 0.0
    dead_channels: list[int] = field(default_factory=list)
    saturated_channels: list[int] = field(default_factory=list)
    nonfinite_channels: list[int] = field(default_factory=list)
    nan_count: int = 0
    inf_count: int = 0
    weight_nonfinite: int = 0
    weight_mean: float | None = None
    weight_std: float | None = None
    act_hist: Histogram | None = None
    weight_hist: Histogram | None = None
    flags: list[str] = field(default_factory=list)

    @property
    def nonfinite_count(self) -> int:
        """NaN and infinite activation values of the layer."""
        return self.nan_count + self.inf_count

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict: every non-finite float becomes None (``json.dumps(..., allow_nan=False)`` works)."""
        return cast(dict[str, object], _finite_or_none(asdict(self)))


def _finite_or_none(value: object) -> object:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite_or_none(v) for v in value]
    return value


def histogram(values: torch.Tensor, bins: int = HIST_BINS) -> Histogram:
    """Equal-width histogram of the finite values, computed on the tensor's device.

    Binning matches ``numpy.histogram(values, bins=edges)``: bin i holds
    ``edges[i] <= v < edges[i+1]``, the last bin also ``v == edges[-1]``.
    """
    v = values.detach().reshape(-1)
    v = v[torch.isfinite(v)].double()
    if v.numel() == 0:
        return Histogram([0] * bins, [0.0] * (bins + 1))
    lo, hi = float(v.min()), float(v.max())
    if hi == lo:
        hi = lo + 1.0 if lo == 0 else lo + abs(lo) * 1e-6
    edges = torch.linspace(lo, hi, bins + 1, dtype=torch.float64, device=v.device)
    index = torch.bucketize(v, edges[1:-1], right=True)
    counts = torch.bincount(index, minlength=bins)
    return Histogram([int(c) for c in counts.cpu()], [float(e) for e in edges.cpu()])


def _channels_first(t: torch.Tensor) -> torch.Tensor:
    """(N, C, ...) → (C, N·...) so per-channel reductions are one call."""
    t = t.detach().float()
    if t.dim() == 1:
        t = t[None]
    return t.transpose(0, 1).reshape(t.shape[1], -1)


def _activation_stats(node: Node, stats: LayerStats, bins: int) -> None:
    t = node.tensor
    if t is None or not t.dtype.is_floating_point or t.dim() < 2:
        return
    finite_mask = torch.isfinite(t)
    nonfinite = (~finite_mask).transpose(0, 1).reshape(t.shape[1], -1).any(dim=1)
    if bool(nonfinite.any()):
        stats.nan_count = int(torch.isnan(t).sum())
        stats.inf_count = int(t.numel() - int(finite_mask.sum()) - stats.nan_count)
    stats.nonfinite_channels = [int(i) for i in torch.nonzero(nonfinite).flatten().cpu()]
    finite = t[finite_mask].float()
    if finite.numel() == 0:
        return
    stats.act_mean, stats.act_std = float(finite.mean()), float(finite.std()) if finite.numel() > 1 else 0.0
    stats.act_min, stats.act_max = float(finite.min()), float(finite.max())
    stats.act_hist = histogram(t, bins)
    # A NaN or Inf channel is reported as non-finite only: zeroing NaNs made it "dead", Infs made it "saturated".
    per = _channels_first(torch.where(finite_mask, t, torch.zeros((), dtype=t.dtype, device=t.device)))
    dead = (per == 0).all(dim=1) & ~nonfinite
    stats.dead_channels = [int(i) for i in torch.nonzero(dead).flatten().cpu()]
    stats.dead_fraction = float(dead.float().mean())
    span = stats.act_max - stats.act_min
    if span > 0:
        band = SATURATION_BAND * span
        top = (per >= stats.act_max - band).float().mean(dim=1) >= SATURATION_SHARE
        bottom = torch.zeros_like(top)
        if stats.act_min < 0:
            bottom = (per <= stats.act_min + band).float().mean(dim=1) >= SATURATION_SHARE
        saturated = (top | bottom) & ~dead & ~nonfinite
        stats.saturated_channels = [int(i) for i in torch.nonzero(saturated).flatten().cpu()]


def _weight_stats(node: Node, stats: LayerStats, bins: int) -> None:
    weight = getattr(node.module, "weight", None) if node.module is not None else None
    if not isinstance(weight, torch.Tensor) or weight.dim() < 2:
        return  # norms' 1-D scales are not "weights" in the sense of this report
    w = weight.detach().float()
    finite = torch.isfinite(w)
    stats.weight_nonfinite = int(w.numel() - int(finite.sum()))
    if stats.weight_nonfinite:
        w = w[finite]
    if w.numel() == 0:
        return
    stats.weight_mean, stats.weight_std = float(w.mean()), float(w.std()) if w.numel() > 1 else 0.0
    stats.weight_hist = histogram(w, bins)


def _scale_flags(values: list[float | None], factor: float, upstream: bool) -> list[float | None]:
    """Scale ratios outside [1/factor, factor], None elsewhere.

    ``upstream``: each value against the previous one (activations: a jump
    that persists downstream is flagged once, where it starts). Otherwise
    against the closest (in log scale) of up to two neighbours on each side
    (weights: one odd layer among normal ones).
    """
    present = [(i, v) for i, v in enumerate(values) if v is not None and v > 0]
    out: list[float | None] = [None] * len(values)
    for k, (i, v) in enumerate(present):
        window = (k - 1,) if upstream else (k - 2, k - 1, k + 1, k + 2)
        neighbours = [present[j][1] for j in window if 0 <= j < len(present)]
        if not neighbours:
            continue
        ratio = min((v / n for n in neighbours), key=lambda r: abs(np.log(r)))
        if ratio > factor or ratio < 1 / factor:
            out[i] = ratio
    return out


def layer_statistics(trace: Trace, bins: int = HIST_BINS, scale_factor: float = SCALE_FACTOR) -> list[LayerStats]:
    """Statistics and flags of every node with a tensor, in execution order."""
    out = []
    for node in trace.nodes:
        if node.tensor is None:
            continue
        stats = LayerStats(
            id=node.id,
            name=node.name,
            op=node.op,
            kind=node.kind,
            shape=list(node.shape),
            params=node.params,
            samples=int(node.tensor.shape[0]) if node.tensor.dim() > 0 else 1,
        )
        _activation_stats(node, stats, bins)
        _weight_stats(node, stats, bins)
        if stats.nonfinite_count:
            stats.flags.append(
                f"non-finite values: {stats.nonfinite_count} ({stats.nan_count} NaN, {stats.inf_count} Inf) "
                f"in {len(stats.nonfinite_channels)} channels"
            )
        if stats.weight_nonfinite:
            stats.flags.append(f"non-finite weights: {stats.weight_nonfinite}")
        if stats.dead_channels:
            stats.flags.append(f"dead channels: {len(stats.dead_channels)}")
        if stats.saturated_channels:
            stats.flags.append(f"saturated channels: {len(stats.saturated_channels)}")
        out.append(stats)
    for name, attr, upstream in (("activation", "act_std", True), ("weight", "weight_std", False)):
        ratios = _scale_flags([getattr(s, attr) for s in out], scale_factor, upstream)
        where = "the layer before" if upstream else "its neighbours"
        for s, r in zip(out, ratios, strict=True):
            if r is not None:
                s.flags.append(f"{name} scale x{r:.3g} vs {where}")
    return out
