"""Rows on real OpenGL: a long network's overview fills the frame (Mesa llvmpipe via EGL in CI)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import viz3d
from viz3d.capture import synthetic_trace
from viz3d.renderer.scene_renderer import BACKGROUND

pytestmark = pytest.mark.gl


def covered(image: np.ndarray) -> float:
    """Share of pixels that are not the clear colour (as benchmarks/bench_overview.py measures it)."""
    bg = np.array([round(c * 255) for c in BACKGROUND[:3]])
    return float((np.abs(image[..., :3].astype(int) - bg) > 6).any(axis=-1).mean())


def test_a_long_network_in_rows_covers_over_a_third_of_the_overview(gl: Any) -> None:
    trace = synthetic_trace([(8, 8, 8)] * 60, skip_every=3)  # 60 ranks: auto wraps it
    rows = viz3d.render(trace, size=(320, 180), ssaa=1, labels=False)
    line = viz3d.render(trace, size=(320, 180), ssaa=1, labels=False, arrangement="line")
    assert covered(rows) >= 0.35, covered(rows)
    assert covered(rows) > 3 * covered(line), (covered(rows), covered(line))
    # Every edge of the frame has a margin of background: the whole network is in view.
    for border in (rows[:2], rows[-2:], rows[:, :2], rows[:, -2:]):
        assert covered(border) == 0.0
