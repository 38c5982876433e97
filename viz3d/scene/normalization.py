"""How activation values map to [0, 1] before the colormap lookup (numpy only)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from viz3d.scene.colormaps import DIVERGING

NormalizationMode = Literal["layer", "channel", "global"]
NORMALIZATIONS: tuple[str, ...] = ("layer", "channel", "global")


@dataclass(frozen=True)
class ChannelStats:
    """Per-channel statistics of one layer's shown activation, over finite values.

    Channels with no finite value have min = max = mean = 0.
    """

    minimum: np.ndarray  # (C,) float32
    maximum: np.ndarray
    mean: np.ndarray
    nonfinite: int

    @property
    def layer_range(self) -> tuple[float, float]:
        return float(self.minimum.min()), float(self.maximum.max())


def value_range(
    mode: NormalizationMode | str,
    stats: ChannelStats,
    global_range: tuple[float, float],
    symmetric: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi) per channel for ``mode``; symmetric ranges (around 0) for diverging colormaps."""
    if mode not in NORMALIZATIONS:
        raise ValueError(f"unknown normalization {mode!r}; choose one of {', '.join(NORMALIZATIONS)}")
    c = len(stats.minimum)
    if mode == "channel":
        lo, hi = stats.minimum.astype(np.float32), stats.maximum.astype(np.float32)
    else:
        a, b = stats.layer_range if mode == "layer" else global_range
        lo, hi = np.full(c, a, np.float32), np.full(c, b, np.float32)
    if symmetric:
        m = np.maximum(np.abs(lo), np.abs(hi))
        lo, hi = -m, m
    return lo, hi


def global_range(all_stats: list[ChannelStats]) -> tuple[float, float]:
    """Range over every layer, for ``global`` normalization."""
    if not all_stats:
        return 0.0, 1.0
    return min(s.layer_range[0] for s in all_stats), max(s.layer_range[1] for s in all_stats)


def display_range(
    stats: ChannelStats,
    global_range: tuple[float, float],
    *,
    normalization: str,
    colormap: str,
    rgb: bool = False,
    centred: bool = False,
    fixed: tuple[float, float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel (lo, hi) a layer is drawn with: the one function the renderer and the inset share.

    ``centred`` (signed weights) or a diverging ``colormap`` makes the range
    symmetric around zero; ``rgb`` (colour tiles: consecutive channel
    triples) gives each tile the min and max over its three channels;
    ``fixed`` (an input picture's [0, 1]) is the range of every channel, whatever the data.
    """
    if fixed is not None:
        c = len(stats.minimum)
        return np.full(c, fixed[0], np.float32), np.full(c, fixed[1], np.float32)
    if rgb:
        lo3 = stats.minimum.reshape(-1, 3).min(axis=1).repeat(3)
        hi3 = stats.maximum.reshape(-1, 3).max(axis=1).repeat(3)
        stats = ChannelStats(lo3, hi3, stats.mean, stats.nonfinite)
    return value_range(normalization, stats, global_range, symmetric=centred or colormap in DIVERGING)
