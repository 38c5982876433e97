"""Picking returns the layer, channel, y, x under known pixels (real GL)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from tests.test_render_pixels import SIZE, front_camera, one_layer, texel_center
from viz3d.capture import synthetic_trace
from viz3d.layout import layout_trace
from viz3d.renderer.offscreen import offscreen_canvas
from viz3d.renderer.picking import PickBuffer
from viz3d.renderer.scene_renderer import SceneRenderer
from viz3d.scene.labels import project
from viz3d.scene.picking import PickHit, decode_pick

pytestmark = pytest.mark.gl


def test_decode_pick() -> None:
    assert decode_pick(np.zeros(4)) is None
    assert decode_pick(np.array([3.0, -1, -1, -1])) == PickHit(2)
    assert decode_pick(np.array([1.0, 5.0, 2.0, 7.0])) == PickHit(0, 5, 2, 7)


def test_pick_returns_channel_y_x_of_known_pixels(gl: Any) -> None:
    display = torch.arange(6 * 5 * 7, dtype=torch.float32).reshape(6, 5, 7)
    trace = one_layer(display)
    layout = layout_trace(trace)
    slab = layout.slabs[0]
    vp = front_camera(slab).view_projection(SIZE[0] / SIZE[1])
    renderer = SceneRenderer(trace, layout, labels=False)
    buf = PickBuffer()
    offscreen_canvas()
    for c, y, x in [(0, 0, 0), (3, 2, 6), (5, 4, 3), (1, 4, 0)]:
        (px, py), _ = project(texel_center(slab, c, y, x, 5, 7)[None], vp, SIZE)[0][0], None
        hit = buf.pick(renderer, vp, SIZE, int(px), int(py))
        assert hit == PickHit(0, c, y, x), (c, y, x, hit)
        assert float(trace.nodes[0].display[c, y, x]) == c * 35 + y * 7 + x
    # Background and the gap between tiles.
    assert buf.pick(renderer, vp, SIZE, 1, 1) is None
    gap = np.array([slab.lo[0] + slab.gap / 2, slab.center[1], slab.front_z])
    (gx, gy), _ = project(gap[None], vp, SIZE)[0][0], None
    assert buf.pick(renderer, vp, SIZE, int(gx), int(gy)) == PickHit(0)


def test_pick_finds_the_nearest_layer_of_several(gl: Any) -> None:
    trace = synthetic_trace([(4, 8, 8), (4, 8, 8), (4, 8, 8)])
    layout = layout_trace(trace)
    from viz3d.scene.camera import camera_for

    cam = camera_for(layout, "overview", SIZE)
    vp = cam.view_projection(SIZE[0] / SIZE[1])
    renderer = SceneRenderer(trace, layout, labels=False)
    buf = PickBuffer()
    for slab in layout.slabs:
        (px, py), _ = project(slab.tile_center(3)[None], vp, SIZE)[0][0], None
        hit = buf.pick(renderer, vp, SIZE, int(px), int(py))
        assert hit is not None and hit.node_id == slab.node_id and hit.channel == 3
