"""Colormap lookup tables (matplotlib's, 256 entries, 8-bit RGB) and value → colour mapping.

The shader does exactly what :func:`apply_colormap` does, so the two can be
checked against each other and against matplotlib.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Literal

import numpy as np

ColormapName = Literal["viridis", "magma", "inferno", "gray", "coolwarm"]
COLORMAPS: tuple[str, ...] = ("viridis", "magma", "inferno", "gray", "coolwarm")
DIVERGING: frozenset[str] = frozenset({"coolwarm"})
LUT_SIZE = 256
NAN_COLOR = np.array([255, 0, 255], dtype=np.uint8)  # magenta: in none of the maps


@cache
def _tables() -> dict[str, np.ndarray]:
    with resources.files("viz3d.data").joinpath("colormaps.npz").open("rb") as fh:
        data = np.load(fh)
        return {k: data[k] for k in data.files}


def colormap_lut(name: str) -> np.ndarray:
    """(256, 3) uint8 table of the named colormap."""
    if name not in COLORMAPS:
        raise ValueError(f"unknown colormap {name!r}; choose one of {', '.join(COLORMAPS)}")
    return _tables()[name]


def lut_index(t: np.ndarray) -> np.ndarray:
    """Table index of normalized values, as matplotlib computes it (floor(t·256), clipped)."""
    return np.clip(np.floor(np.asarray(t, np.float64) * LUT_SIZE), 0, LUT_SIZE - 1).astype(np.int64)


def apply_colormap(values: np.ndarray, lo: float, hi: float, name: str = "viridis") -> np.ndarray:
    """RGB uint8 colours of ``values`` normalized to [lo, hi]; NaN/Inf get :data:`NAN_COLOR`."""
    v = np.asarray(values, np.float64)
    span = hi - lo
    t = (v - lo) / span if span > 0 else np.zeros_like(v)
    out = colormap_lut(name)[lut_index(np.nan_to_num(t, nan=0.0, posinf=1.0, neginf=0.0))]
    out[~np.isfinite(v)] = NAN_COLOR
    return out
