"""Small 3D bar charts of histograms, standing under each slab (numpy only)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from viz3d.layout.slabs import SlabLayout

CHART_GAP = 0.6  # between the slab's bottom and the chart, world units
CHART_HEIGHT = 0.22  # tallest bar, as a fraction of the slab's height (at least 2 units)
ACTIVATION_RGB = (0.30, 0.80, 0.75)
WEIGHT_RGB = (0.98, 0.62, 0.25)


def histogram_bars(
    slab: SlabLayout, histograms: Sequence[tuple[Sequence[int], tuple[float, float, float]]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boxes (lo, hi, rgb) of bar charts under ``slab``, one row per histogram, side by side in depth.

    Bars span the slab's width; heights follow √count (so small counts stay
    visible next to a dominant bin), the tallest bar being ``CHART_HEIGHT`` of
    the slab's height.
    """
    los, his, rgbs = [], [], []
    height = max(2.0, CHART_HEIGHT * float(slab.size[1]))
    base = float(slab.lo[1]) - CHART_GAP
    depth = max(0.3, float(slab.size[2]) / max(1, len(histograms)))
    for k, (counts, rgb) in enumerate(histograms):
        c = np.sqrt(np.asarray(counts, float))
        if len(c) == 0 or c.max() <= 0:
            continue
        n = len(c)
        width = float(slab.size[0]) / n
        x0 = slab.lo[0] + np.arange(n) * width
        h = c / c.max() * height
        z1 = slab.hi[2] - k * depth
        keep = h > 0
        lo = np.stack([x0 + 0.1 * width, np.full(n, base - height), np.full(n, z1 - depth * 0.8)], axis=1)
        hi = np.stack([x0 + 0.9 * width, base - height + h, np.full(n, z1)], axis=1)
        los.append(lo[keep])
        his.append(hi[keep])
        rgbs.append(np.tile(np.array(rgb), (int(keep.sum()), 1)))
    if not los:
        return np.zeros((0, 3)), np.zeros((0, 3)), np.zeros((0, 3))
    return np.concatenate(los), np.concatenate(his), np.concatenate(rgbs)


def tile_outlines(
    slab: SlabLayout, channels: Sequence[int], lift: float = 0.015, cells: tuple[int, int] | None = None
) -> np.ndarray:
    """Line-segment endpoints (pairs) around the given tiles, just in front of the face.

    With ``cells`` (rows, cols) the slab shows one map of a feature vector and
    ``channels`` are feature indices: their cells are outlined instead.
    """
    if not channels:
        return np.zeros((0, 3))
    idx = np.asarray(channels)
    if cells is None:
        rects = slab.tile_rects()[idx]
    else:
        tx0, ty0, tx1, ty1 = slab.tile_rects()[0]
        rows, cols = cells
        cw, ch = (tx1 - tx0) / cols, (ty1 - ty0) / rows
        r, c = idx // cols, idx % cols
        rects = np.stack([tx0 + c * cw, ty1 - (r + 1) * ch, tx0 + (c + 1) * cw, ty1 - r * ch], axis=1)
    z = slab.front_z + lift * float(slab.size[2])
    out = []
    for rx0, ry0, rx1, ry1 in rects:
        corner = [(rx0, ry0, z), (rx1, ry0, z), (rx1, ry1, z), (rx0, ry1, z)]
        out += [corner[i % 4] for k in range(4) for i in (k, k + 1)]
    return np.array(out, float)
