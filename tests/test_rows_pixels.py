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


def test_picking_in_rows_finds_the_tile_under_the_cursor_in_every_row(gl: Any) -> None:
    from viz3d.layout import layout_trace
    from viz3d.renderer.picking import PickBuffer
    from viz3d.renderer.scene_renderer import SceneRenderer
    from viz3d.scene.camera import camera_for
    from viz3d.scene.labels import project

    size = (640, 360)
    trace = synthetic_trace([(4, 8, 8)] * 30)
    layout = layout_trace(trace, arrangement="rows")
    vp = camera_for(layout, "overview", size).view_projection(size[0] / size[1])
    renderer = SceneRenderer(trace, layout, labels=False)
    buf = PickBuffer()
    rows = sorted({round(float(s.center[1]), 6) for s in layout.slabs})
    assert len(rows) >= 3
    for slab in layout.slabs[::4]:  # across every row: the faces toward the camera are picked as in the line
        (px, py), _ = project(slab.tile_center(2)[None], vp, size)[0][0], None
        hit = buf.pick(renderer, vp, size, int(px), int(py))
        assert hit is not None and (hit.node_id, hit.channel) == (slab.node_id, 2), (slab.node_id, hit)
