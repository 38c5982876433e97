"""Normalization statistics, reduced where the tensor lives (CPU or CUDA).

Only C numbers per statistic cross to the host, never the activation. Both
upload paths use these, so their pictures are identical.
"""

from __future__ import annotations

import torch

from viz3d.scene.normalization import ChannelStats


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
    big = torch.finfo(torch.float32).max
    lo = torch.where(finite, t, torch.full_like(t, big)).amin(dim=1)
    hi = torch.where(finite, t, torch.full_like(t, -big)).amax(dim=1)
    total = torch.where(finite, t, torch.zeros_like(t)).sum(dim=1)
    empty = count == 0
    lo = torch.where(empty, torch.zeros_like(lo), lo)
    hi = torch.where(empty, torch.zeros_like(hi), hi)
    mean = total / count.clamp(min=1)
    nonfinite = t.numel() - count.sum()
    # One small transfer for all statistics together.
    packed = torch.stack([lo, hi, mean]).cpu().numpy()
    return ChannelStats(minimum=packed[0], maximum=packed[1], mean=packed[2], nonfinite=int(nonfinite))
