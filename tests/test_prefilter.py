"""No shimmer: far tiles are averaged over each pixel's footprint, close to a heavily supersampled render.

The reference is the same view rendered point-sampled at 8×8 the pixels and
box-averaged down (what the eye would integrate); the unfiltered render
takes one sample a pixel and aliases a fine pattern into moiré.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from viz3d.capture.trace import Node, Trace
from viz3d.layout import layout_trace
from viz3d.renderer.face_pass import FILTER_TAPS
from viz3d.renderer.offscreen import render_frame
from viz3d.renderer.scene_renderer import SceneRenderer
from viz3d.scene.camera import OrbitCamera

pytestmark = pytest.mark.gl
SIZE = (200, 150)
REFERENCE_SSAA = 8


def checkerboard_layer(channels: int, side: int = 64) -> Trace:
    """One layer whose maps are 1-texel checkerboards, channel c at the level (1 + c % 5) / 5."""
    yy, xx = np.mgrid[0:side, 0:side]
    board = torch.from_numpy(((yy + xx) % 2).astype(np.float32))
    levels = (1 + torch.arange(channels) % 5).float() / 5
    display = board[None] * levels[:, None, None]
    node = Node(0, "board", "Conv2d", "conv", (1, *display.shape), "float32", 0, display[None], display)
    return Trace(nodes=[node], edges=[], method="synthetic")


def far_oblique(trace: Trace, distance: float = 3.0) -> np.ndarray:
    """A perspective view from ``distance`` slab widths away, 50° round and 30° above: every texel under a pixel."""
    slab = layout_trace(trace).slabs[0]
    target = np.array([slab.center[0], slab.center[1], slab.front_z])
    cam = OrbitCamera(
        target=target, distance=distance * float(max(slab.size[:2])), azimuth=50.0, elevation=30.0, scene_radius=1e3
    )
    return cam.view_projection(SIZE[0] / SIZE[1])


def render(trace: Trace, vp: np.ndarray, taps: int, ssaa: int = 1, **kwargs: Any) -> np.ndarray:
    renderer = SceneRenderer(trace, layout_trace(trace), labels=False, **kwargs)
    renderer.filter_taps = taps
    try:
        return render_frame(renderer, vp, SIZE, ssaa=ssaa)[..., :3].astype(int)
    finally:
        renderer.delete()


def error_on_slab(image: np.ndarray, reference: np.ndarray) -> float:
    """Mean absolute difference (0–255) over the reference's non-background pixels."""
    slab = np.abs(reference - reference[0, 0]).max(axis=2) > 0
    assert slab.mean() > 0.02  # the slab is in the picture
    return float(np.abs(image - reference).mean(axis=2)[slab].mean())


def test_far_checkerboard_is_close_to_the_supersampled_reference_where_one_sample_aliases(gl: Any) -> None:
    trace = checkerboard_layer(16)
    vp = far_oblique(trace)
    reference = render(trace, vp, taps=1, ssaa=REFERENCE_SSAA)
    plain = error_on_slab(render(trace, vp, taps=1), reference)
    filtered = error_on_slab(render(trace, vp, taps=FILTER_TAPS), reference)
    assert plain > 30  # one sample a pixel: moiré, far from the average colour
    assert filtered < plain / 3, (filtered, plain)


def test_close_tiles_are_sampled_once_as_before(gl: Any) -> None:
    """Where a pixel covers less than a texel nothing is averaged: the picture is the unfiltered one."""
    trace = checkerboard_layer(4, side=8)
    slab = layout_trace(trace).slabs[0]
    target = np.array([slab.center[0], slab.center[1], slab.front_z])
    cam = OrbitCamera(target=target, distance=1.2 * float(max(slab.size[:2])), azimuth=20.0, scene_radius=1e3)
    vp = cam.view_projection(SIZE[0] / SIZE[1])
    assert np.array_equal(render(trace, vp, taps=FILTER_TAPS), render(trace, vp, taps=1))


def test_packed_channels_do_not_bleed_into_their_neighbours(gl: Any) -> None:
    """Beyond the texture's depth limit channels sit side by side; each sample stays in its own channel's map."""
    trace = checkerboard_layer(200)
    vp = far_oblique(trace, distance=2.0)
    packed = render(trace, vp, taps=FILTER_TAPS, max_texture_size=128)  # 2 channels a texture row
    assert np.array_equal(packed, render(trace, vp, taps=FILTER_TAPS))


def test_software_gl_takes_fewer_samples_by_default(gl: Any) -> None:
    from viz3d.renderer.context import gl_info
    from viz3d.renderer.face_pass import SOFTWARE_FILTER_TAPS, default_filter_taps

    assert default_filter_taps("llvmpipe (LLVM 19.1.7, 256 bits)") == SOFTWARE_FILTER_TAPS < FILTER_TAPS
    assert default_filter_taps("NVIDIA H200/PCIe/SSE2") == FILTER_TAPS
    trace = checkerboard_layer(2, side=4)
    renderer = SceneRenderer(trace, layout_trace(trace), labels=False)
    renderer.initialize()
    assert renderer.filter_taps == default_filter_taps(gl_info()["renderer"])
    renderer.delete()


def test_a_moving_view_is_drawn_with_one_sample_and_the_still_frame_after_with_the_filter(gl: Any) -> None:
    from viz3d.export.offscreen import OffscreenView
    from viz3d.session import Session, ViewOptions

    trace = checkerboard_layer(4)
    session = Session(trace, options=ViewOptions(labels=False, connections=frozenset()), size=SIZE)
    cam = OrbitCamera(
        target=session.camera.target, distance=session.camera.distance * 2.5, azimuth=50.0, elevation=30.0
    )
    with OffscreenView(session, SIZE) as view:
        view.frame()
        assert view.view.renderer is not None
        view.view.renderer.filter_taps = FILTER_TAPS
        still = view.frame(camera=cam)[..., :3].astype(int)
        view.view.moving = True
        moving = view.frame(camera=cam)[..., :3].astype(int)
        view.view.renderer.filter_taps = 1
        view.view.moving = False
        single = view.frame(camera=cam)[..., :3].astype(int)
    assert np.array_equal(moving, single)  # while moving: one sample a pixel
    assert np.abs(still - single).max() > 30  # at rest: the prefiltered picture
