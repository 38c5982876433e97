"""Small 3D bar charts of histograms, standing under each slab (numpy only)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from viz3d.layout.slabs import Layout, SlabLayout

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


DEAD_RGBA = (1.0, 0.25, 0.2, 1.0)
SATURATED_RGBA = (1.0, 0.9, 0.2, 1.0)
SCALE_RGBA = (1.0, 0.55, 0.1, 1.0)
NONFINITE_RGBA = (1.0, 0.2, 1.0, 1.0)  # magenta, the colour NaN draws in


@dataclass
class HealthOverlay:
    """Histogram bars and flag outlines for a whole layout."""

    bars_lo: np.ndarray
    bars_hi: np.ndarray
    bars_rgb: np.ndarray
    segments: np.ndarray  # endpoint pairs
    segment_rgba: np.ndarray  # one per segment


def health_overlay(
    layout: Layout, nodes: Sequence[object], stats: Mapping[int, object], activations: bool
) -> HealthOverlay:
    """Bars of each layer's histograms under its slab, and outlines of what is flagged.

    ``stats`` maps node id → :class:`viz3d.capture.stats.LayerStats`;
    ``nodes`` are the shown trace's nodes; ``activations`` is False in the
    weights view (only weight histograms then, and no channel outlines).
    Dead channels are outlined red, saturated ones yellow, channels holding
    NaN or Inf magenta (cells for feature vectors); layers with a scale jump
    get an orange frame.
    """
    los, his, rgbs, segs, cols = [], [], [], [], []
    tile_mode = layout.mode == "tile"
    for slab in layout.slabs:
        s = stats.get(slab.node_id)
        if s is None or slab.is_generic:
            continue
        hists = []
        if s.act_hist is not None and activations:  # type: ignore[attr-defined]
            hists.append((s.act_hist.counts, ACTIVATION_RGB))  # type: ignore[attr-defined]
        if s.weight_hist is not None:  # type: ignore[attr-defined]
            hists.append((s.weight_hist.counts, WEIGHT_RGB))  # type: ignore[attr-defined]
        lo, hi, rgb = histogram_bars(slab, hists)
        los.append(lo)
        his.append(hi)
        rgbs.append(rgb)
        if not (tile_mode and activations):
            continue
        node = nodes[slab.node_id]
        shape, display = node.shape, node.display  # type: ignore[attr-defined]
        cells = None  # feature vectors show one map of cells: outline the cells
        if len(shape) == 2 and display is not None:
            cells = (int(display.shape[1]), int(display.shape[2]))
        elif len(shape) != 4:
            continue
        outlined = (
            (s.dead_channels, DEAD_RGBA),  # type: ignore[attr-defined]
            (s.saturated_channels, SATURATED_RGBA),  # type: ignore[attr-defined]
            (getattr(s, "nonfinite_channels", []), NONFINITE_RGBA),
        )
        for channels, rgba in outlined:
            if getattr(node, "display_rgb", False):  # a colour picture (the input): channel c is in tile c // 3
                channels = sorted({int(c) // 3 for c in channels})
            seg = tile_outlines(slab, channels, cells=cells)
            segs.append(seg)
            cols.append(np.tile(rgba, (len(seg) // 2, 1)))
        if any("scale" in f for f in s.flags):  # type: ignore[attr-defined]
            z = slab.front_z + 0.02 * float(slab.size[2])
            c = [
                (slab.lo[0], slab.lo[1], z),
                (slab.hi[0], slab.lo[1], z),
                (slab.hi[0], slab.hi[1], z),
                (slab.lo[0], slab.hi[1], z),
            ]
            segs.append(np.array([c[i % 4] for k in range(4) for i in (k, k + 1)]))
            cols.append(np.tile(SCALE_RGBA, (4, 1)))

    def cat(parts: list[np.ndarray], width: int) -> np.ndarray:
        return np.concatenate(parts) if parts else np.zeros((0, width))

    return HealthOverlay(cat(los, 3), cat(his, 3), cat(rgbs, 3), cat(segs, 3), cat(cols, 4))
