"""Normalization statistics, reduced where the tensor lives (CPU or CUDA).

Only C numbers per statistic cross to the host, never the activation. The
host path reduces with torch (:func:`channel_stats`); the CUDA path reduces
the same tensors with cupy on torch's stream (:func:`channel_stat_rows`,
called by :class:`viz3d.gpu.cuda_upload.CudaUploader`, every layer's rows
brought to the host in one copy). Minimum and maximum —
all the shaders use — are exact reductions, so both paths give bit-identical
ranges and therefore identical pictures; the mean (shown in the HUD only) may
differ in the last bits, as any two summation orders do.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from viz3d.scene.normalization import ChannelStats

FLOAT32_MAX = float(np.finfo(np.float32).max)


def channel_stats(display: torch.Tensor) -> ChannelStats:
    """Per-channel min/max/mean over finite values of a (C, H, W) activation."""
    t = display.detach().float().reshape(display.shape[0], -1)
    lo, hi = torch.aminmax(t, dim=1)
    # min/max propagate NaN and reach ±Inf, so finite extremes mean finite data: the common case
    # then takes two passes over the data (min/max, then mean) and no separate finiteness pass.
    if bool(torch.isfinite(lo).all() and torch.isfinite(hi).all()):
        packed = torch.stack([lo, hi, t.mean(dim=1)]).cpu().numpy()
        return ChannelStats(minimum=packed[0], maximum=packed[1], mean=packed[2], nonfinite=0)
    finite = torch.isfinite(t)
    count = finite.sum(dim=1)
    lo = torch.where(finite, t, torch.full_like(t, FLOAT32_MAX)).amin(dim=1)
    hi = torch.where(finite, t, torch.full_like(t, -FLOAT32_MAX)).amax(dim=1)
    total = torch.where(finite, t, torch.zeros_like(t)).sum(dim=1)
    empty = count == 0
    lo = torch.where(empty, torch.zeros_like(lo), lo)
    hi = torch.where(empty, torch.zeros_like(hi), hi)
    mean = total / count.clamp(min=1)
    nonfinite = t.numel() - count.sum()
    # One small transfer for all statistics together.
    packed = torch.stack([lo, hi, mean]).cpu().numpy()
    return ChannelStats(minimum=packed[0], maximum=packed[1], mean=packed[2], nonfinite=int(nonfinite))


SMALL_LAYER = 1 << 16  # values: below this a torch call's fixed cost outweighs the layer's arithmetic
GROUP_VALUES = 1 << 22  # most values gathered into one reduction (16 MB of float32)


def channel_stats_many(displays: Sequence[torch.Tensor]) -> list[ChannelStats]:
    """:func:`channel_stats` of many (C, H, W) activations, a few reductions instead of one per layer.

    A deep network's layers share a handful of map sizes: the channels of
    small layers (under :data:`SMALL_LAYER` values) with the same H·W (on
    the same device) are stacked and reduced together, up to
    :data:`GROUP_VALUES` values at a time, so 700 small layers cost a few
    torch calls rather than 700 (each call has a fixed cost far above a small
    layer's arithmetic). Large layers are reduced alone: gathering them would
    cost a copy larger than what it saves. Per-row reductions of the
    stack are the per-layer reductions, so the figures are the same; a group
    holding a non-finite value falls back to :func:`channel_stats` per layer.
    """
    out: list[ChannelStats | None] = [None] * len(displays)
    groups: dict[tuple[int, str], list[int]] = {}
    for i, d in enumerate(displays):
        if d.dim() == 3 and 0 < d.numel() < SMALL_LAYER:
            groups.setdefault((int(d.shape[1] * d.shape[2]), str(d.device)), []).append(i)
    for (size, _), members in groups.items():
        chunk: list[int] = []
        values = 0
        for i in members:
            n = int(displays[i].numel())
            if chunk and values + n > GROUP_VALUES:
                _reduce_group(displays, chunk, size, out)
                chunk, values = [], 0
            chunk.append(i)
            values += n
        _reduce_group(displays, chunk, size, out)
    return [s if s is not None else channel_stats(d) for s, d in zip(out, displays, strict=True)]


def _reduce_group(
    displays: Sequence[torch.Tensor], index: list[int], size: int, out: list[ChannelStats | None]
) -> None:
    """Fill ``out[i]`` for the layers ``index`` (maps of ``size`` values) from one stacked reduction."""
    if len(index) < 2:
        return  # one layer: channel_stats does it
    t = torch.cat([displays[i].detach().float().reshape(-1, size) for i in index])
    lo, hi = torch.aminmax(t, dim=1)
    if not bool(torch.isfinite(lo).all() and torch.isfinite(hi).all()):
        return  # non-finite values: per layer, with the finite-only reductions
    packed = torch.stack([lo, hi, t.mean(dim=1)]).cpu().numpy()
    start = 0
    for i in index:
        end = start + int(displays[i].shape[0])
        minimum, maximum, mean = (packed[k, start:end].copy() for k in range(3))
        out[i] = ChannelStats(minimum=minimum, maximum=maximum, mean=mean, nonfinite=0)
        start = end


def channel_stat_rows(values: Any, xp: Any) -> Any:
    """Per-channel statistics of a (C, ...) array of the module ``xp`` (numpy, or cupy on the device).

    Returns a (4, C) float64 array of ``xp`` — minimum, maximum, mean over
    finite values, and the count of non-finite values — without waiting for
    the device, so the rows of every layer can reach the host in one copy
    (:func:`stats_from_rows`). Reductions run in float32 where the array lives.
    """
    a = values.reshape(values.shape[0], -1)
    if a.dtype != xp.float32:
        a = a.astype(xp.float32)

    def const(v: float) -> Any:  # a 0-d array of the module: broadcasts in ``where`` for numpy and cupy alike
        return xp.asarray(v, dtype=xp.float32)

    finite = xp.isfinite(a)
    count = finite.sum(axis=1)
    lo = xp.where(finite, a, const(FLOAT32_MAX)).min(axis=1)
    hi = xp.where(finite, a, const(-FLOAT32_MAX)).max(axis=1)
    total = xp.where(finite, a, const(0.0)).sum(axis=1, dtype=xp.float32)
    empty = count == 0
    lo = xp.where(empty, const(0.0), lo)
    hi = xp.where(empty, const(0.0), hi)
    mean = total / xp.maximum(count, 1).astype(xp.float32)
    # float64 holds every float32 exactly, and counts beyond float32's 2**24.
    return xp.stack([lo, hi, mean, a.shape[1] - count]).astype(xp.float64)


def stats_from_rows(rows: np.ndarray) -> ChannelStats:
    """A :class:`ChannelStats` from the host copy of :func:`channel_stat_rows`."""
    return ChannelStats(
        minimum=rows[0].astype(np.float32),
        maximum=rows[1].astype(np.float32),
        mean=rows[2].astype(np.float32),
        nonfinite=int(rows[3].sum()),
    )


def stats_per_layer(rows: np.ndarray, channels: Sequence[int]) -> list[ChannelStats]:
    """Split the host copy of several layers' concatenated (4, ΣC) rows into one ChannelStats per layer."""
    bounds = itertools.accumulate(channels, initial=0)
    return [stats_from_rows(rows[:, a:b]) for a, b in itertools.pairwise(bounds)]
