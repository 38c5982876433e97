"""Whether a layer survives half precision (R16F textures) without changing its picture (numpy only).

A half float holds magnitudes up to 65504 with an 11-bit significand: a
value of magnitude M is stored to within M·2^-11. A layer drawn through a
range of width R shows that error as a fraction M·2^-11 / R of the colormap;
at most one 256-entry LUT step is allowed, so R/M must be at least 1/8.
Channels that are constant (R = 0) draw one colour either way and are left
out. The check uses the per-channel ranges (what channel normalization
draws), the strictest of the normalizations, so switching modes never
reveals a posterized layer.
"""

from __future__ import annotations

import numpy as np

from viz3d.scene.normalization import ChannelStats

HALF_MAX = 65504.0
MIN_RELATIVE_SPREAD = 1.0 / 8.0  # R / M below this loses more than one colormap step


def half_precision_problem(stats: ChannelStats) -> str | None:
    """Why a layer with these statistics would be drawn wrongly from R16F, or None when it is safe."""
    lo, hi = np.asarray(stats.minimum, np.float64), np.asarray(stats.maximum, np.float64)
    magnitude = np.maximum(np.abs(lo), np.abs(hi))
    if magnitude.size and float(magnitude.max()) > HALF_MAX:
        return f"values reach {float(magnitude.max()):.4g}, beyond half precision's {HALF_MAX:.0f}"
    spread = hi - lo
    varying = spread > 0
    if varying.any():
        relative = spread[varying] / magnitude[varying]
        worst = int(np.argmin(relative))
        if relative[worst] < MIN_RELATIVE_SPREAD:
            c = int(np.flatnonzero(varying)[worst])
            return (
                f"channel {c} spans {spread[c]:.4g} around {magnitude[c]:.4g}, finer than half precision "
                "resolves in its colours"
            )
    return None
