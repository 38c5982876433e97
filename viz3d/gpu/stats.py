"""Normalization statistics, reduced where the tensor lives (CPU or CUDA).

Only C numbers per statistic cross to the host, never the activation. The
host path reduces with torch (:func:`channel_stats`); the CUDA path reduces
the same tensor with cupy on torch's stream (:func:`channel_stats_array`,
called by :class:`viz3d.gpu.cuda_upload.CudaUploader`). Minimum and maximum —
all the shaders use — are exact reductions, so both paths give bit-identical
ranges and therefore identical pictures; the mean (shown in the HUD only) may
differ in the last bits, as any two summation orders do.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from viz3d.scene.normalization import ChannelStats

FLOAT32_MAX = float(np.finfo(np.float32).max)


def channel_stats(display: torch.Tensor) -> ChannelStats:
    """Per-channel min/max/mean over finite values of a (C, H, W) activation."""
    t = display.detach().float().reshape(display.shape[0], -1)
    if bool(torch.isfinite(t).all()):
        # The common case: two passes over the data (min/max, then mean).
        lo, hi = torch.aminmax(t, dim=1)
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


def channel_stats_array(values: Any, xp: Any) -> ChannelStats:
    """:func:`channel_stats` for an array of the module ``xp`` (numpy, or cupy on the device).

    ``values`` is (C, ...) of any float dtype; reductions run in float32 where
    the array lives, and only the (3, C) result is brought to the host.
    """
    a = values.reshape(values.shape[0], -1)
    if a.dtype != xp.float32:
        a = a.astype(xp.float32)
    finite = xp.isfinite(a)
    count = finite.sum(axis=1)
    finite_total = int(count.sum())  # one scalar to the host decides the branch
    if finite_total == a.size:
        lo, hi, mean = a.min(axis=1), a.max(axis=1), a.mean(axis=1, dtype=xp.float32)
    else:

        def const(v: float) -> Any:  # a 0-d array of the module: broadcasts in ``where`` for numpy and cupy alike
            return xp.asarray(v, dtype=xp.float32)

        lo = xp.where(finite, a, const(FLOAT32_MAX)).min(axis=1)
        hi = xp.where(finite, a, const(-FLOAT32_MAX)).max(axis=1)
        total = xp.where(finite, a, const(0.0)).sum(axis=1, dtype=xp.float32)
        empty = count == 0
        lo = xp.where(empty, const(0.0), lo)
        hi = xp.where(empty, const(0.0), hi)
        mean = total / xp.maximum(count, 1).astype(xp.float32)
    packed = xp.stack([lo, hi, mean]).astype(xp.float32)
    host = packed if isinstance(packed, np.ndarray) else packed.get()  # cupy: one small device-to-host copy
    return ChannelStats(minimum=host[0], maximum=host[1], mean=host[2], nonfinite=int(a.size - finite_total))
