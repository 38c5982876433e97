"""What the picking pass found under the cursor (plain data, no GL)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PickHit:
    """A layer under the cursor and, on a tile, the feature-map pixel there."""

    node_id: int
    channel: int | None = None
    y: int | None = None
    x: int | None = None


def decode_pick(pixel: np.ndarray) -> PickHit | None:
    """Decode one RGBA32F pick pixel: (layer + 1, channel, y, x); 0 = background, -1 = no tile."""
    layer, channel, y, x = (float(v) for v in np.asarray(pixel, np.float64).reshape(4))
    if layer < 0.5:
        return None
    node = round(layer) - 1
    if channel < 0:
        return PickHit(node)
    return PickHit(node, round(channel), round(y), round(x))
