"""Pixel probes on real OpenGL (Mesa llvmpipe via EGL in CI)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

import viz3d
from viz3d.capture import synthetic_trace
from viz3d.capture.trace import Node, Trace
from viz3d.capture.weights import mean_abs_activation
from viz3d.layout import SlabLayout, layout_trace
from viz3d.layout.connections import graph_connections
from viz3d.models.default_net import default_model
from viz3d.models.shapes import sample_image
from viz3d.renderer.offscreen import render_frame
from viz3d.renderer.scene_renderer import SceneRenderer
from viz3d.scene.camera import OrbitCamera
from viz3d.scene.colormaps import NAN_COLOR, apply_colormap
from viz3d.scene.labels import project

pytestmark = pytest.mark.gl
SIZE = (400, 300)


def one_layer(display: torch.Tensor) -> Trace:
    node = Node(0, "probe", "Conv2d", "conv", (1, *display.shape), "float32", 0, display[None], display)
    return Trace(nodes=[node], edges=[], method="synthetic")


def front_camera(slab: SlabLayout, size: tuple[int, int] = SIZE) -> OrbitCamera:
    aspect = size[0] / size[1]
    height = max(slab.size[1], slab.size[0] / aspect) * 1.05
    target = np.array([slab.center[0], slab.center[1], slab.front_z])
    return OrbitCamera(target=target, distance=20.0, fov=0.0, ortho_height=height, scene_radius=20.0)


def draw(trace: Trace, **kwargs: Any) -> tuple[np.ndarray, SlabLayout, np.ndarray]:
    layout = layout_trace(trace)
    slab = layout.slabs[0]
    vp = front_camera(slab).view_projection(SIZE[0] / SIZE[1])
    renderer = SceneRenderer(trace, layout, labels=False, **kwargs)
    return render_frame(renderer, vp, SIZE, ssaa=1), slab, vp


def pixel_at(image: np.ndarray, world: np.ndarray, vp: np.ndarray) -> np.ndarray:
    (px, py), _ = project(np.asarray(world, float)[None], vp, SIZE)[0][0], None
    return image[int(py), int(px), :3]


def texel_center(slab: SlabLayout, channel: int, y: int, x: int, h: int, w: int) -> np.ndarray:
    x0, y0, x1, y1 = slab.tile_rects()[channel]
    return np.array([x0 + (x + 0.5) / w * (x1 - x0), y1 - (y + 0.5) / h * (y1 - y0), slab.front_z])


def test_known_values_render_exactly_the_lut_colour_in_channel_order(gl: Any) -> None:
    c = 6
    values = torch.tensor([0.0, 3.0, 1.0, 5.0, 2.0, 4.0])  # out of order on purpose
    display = values[:, None, None].expand(c, 4, 4).contiguous()
    image, slab, vp = draw(one_layer(display))
    for ch in range(c):
        expected = apply_colormap(np.array([values[ch].item()]), 0.0, 5.0, "viridis")[0]
        got = pixel_at(image, slab.tile_center(ch), vp)
        np.testing.assert_array_equal(got, expected, err_msg=f"channel {ch}")
    # Row-major tile order: channel 1 is right of channel 0 on the same row.
    c0, c1 = slab.tile_center(0), slab.tile_center(1)
    assert c1[0] > c0[0] and c1[1] == c0[1]


@pytest.mark.parametrize("cmap", ["magma", "gray", "coolwarm"])
def test_other_colormaps_match_their_tables(gl: Any, cmap: str) -> None:
    display = torch.tensor([-2.0, 0.5, 3.0])[:, None, None].expand(3, 2, 2).contiguous()
    image, slab, vp = draw(one_layer(display), colormap=cmap)
    lo, hi = (-3.0, 3.0) if cmap == "coolwarm" else (-2.0, 3.0)  # diverging maps centre on zero
    for ch, v in enumerate([-2.0, 0.5, 3.0]):
        expected = apply_colormap(np.array([v]), lo, hi, cmap)[0]
        np.testing.assert_array_equal(pixel_at(image, slab.tile_center(ch), vp), expected)


def test_nan_and_inf_get_the_nan_colour_where_they_are(gl: Any) -> None:
    display = torch.arange(2 * 4 * 4, dtype=torch.float32).reshape(2, 4, 4)
    display[1, 1, 2] = float("nan")
    display[0, 3, 0] = float("inf")
    image, slab, vp = draw(one_layer(display))
    np.testing.assert_array_equal(pixel_at(image, texel_center(slab, 1, 1, 2, 4, 4), vp), NAN_COLOR)
    np.testing.assert_array_equal(pixel_at(image, texel_center(slab, 0, 3, 0, 4, 4), vp), NAN_COLOR)
    finite = pixel_at(image, texel_center(slab, 1, 1, 1, 4, 4), vp)
    assert not np.array_equal(finite, NAN_COLOR)
    expected = apply_colormap(np.array([display[1, 1, 1].item()]), 0.0, 31.0)[0]
    np.testing.assert_array_equal(finite, expected)


def test_per_channel_normalization_stretches_each_channel(gl: Any) -> None:
    ramp = torch.linspace(0.0, 1.0, 8)
    display = torch.stack([ramp.expand(8, 8), 100.0 * ramp.expand(8, 8)]).contiguous()
    layer_img, slab, vp = draw(one_layer(display), normalization="layer")
    chan_img, _, _ = draw(one_layer(display), normalization="channel")
    right = texel_center(slab, 0, 4, 7, 8, 8)
    left = texel_center(slab, 0, 4, 0, 8, 8)
    viridis = apply_colormap(np.array([0.0, 1.0]), 0.0, 1.0)
    # Layer mode: channel 0 spans 1 % of the layer range, so it stays at the bottom colour.
    np.testing.assert_array_equal(pixel_at(layer_img, right, vp), apply_colormap(np.array([1.0]), 0.0, 100.0)[0])
    # Channel mode: the same texel is the top colour, the left one the bottom.
    np.testing.assert_array_equal(pixel_at(chan_img, right, vp), viridis[1])
    np.testing.assert_array_equal(pixel_at(chan_img, left, vp), viridis[0])
    # Channel 1 looks the same in both modes (it holds the layer's range).
    p = texel_center(slab, 1, 2, 5, 8, 8)
    np.testing.assert_array_equal(pixel_at(layer_img, p, vp), pixel_at(chan_img, p, vp))


def test_channel_packing_beyond_the_texture_limit(gl: Any) -> None:
    c = 20
    values = torch.arange(c, dtype=torch.float32) * 7 % c  # a permutation: order matters
    display = values[:, None, None].expand(c, 2, 2).contiguous()
    image, slab, vp = draw(one_layer(display), max_texture_size=8)
    for ch in range(c):
        expected = apply_colormap(np.array([values[ch].item()]), 0.0, float(c - 1))[0]
        np.testing.assert_array_equal(pixel_at(image, slab.tile_center(ch), vp), expected, err_msg=f"channel {ch}")


def test_large_maps_are_downsampled_with_a_warning(gl: Any) -> None:
    blocks = torch.arange(64, dtype=torch.float32).reshape(8, 8)
    display = blocks.repeat_interleave(2, 0).repeat_interleave(2, 1)[None]  # 16x16 of 2x2 blocks
    with pytest.warns(viz3d.Viz3dWarning, match="downsampled 2x"):
        image, slab, vp = draw(one_layer(display), max_texture_size=8)
    for y, x in [(0, 0), (3, 5), (7, 7)]:
        expected = apply_colormap(np.array([blocks[y, x].item()]), 0.0, 63.0)[0]
        np.testing.assert_array_equal(pixel_at(image, texel_center(slab, 0, y, x, 8, 8), vp), expected)


def test_r16f_textures_give_the_same_picture(gl: Any) -> None:
    display = torch.tensor([0.0, 0.25, 0.5, 1.0])[:, None, None].expand(4, 3, 3).contiguous()
    a, slab, vp = draw(one_layer(display), texture_format="r32f")
    b, _, _ = draw(one_layer(display), texture_format="r16f")
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(pixel_at(a, slab.tile_center(0), vp), pixel_at(a, slab.tile_center(3), vp))


def test_skip_edge_arc_is_drawn_where_the_route_says(gl: Any) -> None:
    trace = synthetic_trace([(2, 4, 4)] * 4, skip_every=3)
    layout = layout_trace(trace)
    arc = next(r for r in layout.routes if r.kind == "skip")
    size = (480, 270)
    cam = viz3d.scene.camera.camera_for(layout, "side", size)
    vp = cam.view_projection(size[0] / size[1])
    with_renderer = SceneRenderer(trace, layout, labels=False)
    with_renderer.initialize()
    with_renderer.set_connections({"graph": list(graph_connections(layout, mean_abs_activation(trace)))})
    with_edges = render_frame(with_renderer, vp, size)
    without = render_frame(SceneRenderer(trace, layout, labels=False), vp, size)
    apex = arc.points[len(arc.points) // 2]
    (px, py), _ = project(apex[None], vp, size)[0][0], None
    window = with_edges[int(py) - 2 : int(py) + 3, int(px) - 2 : int(px) + 3, :3].astype(int)
    # The skip colour is orange: red well above blue; the background is near-black.
    assert (window[..., 0] - window[..., 2]).max() > 60
    assert np.abs(without[int(py) - 2 : int(py) + 3, int(px) - 2 : int(px) + 3, :3].astype(int)).max() < 40


def test_labels_are_drawn_above_slabs(gl: Any) -> None:
    trace = synthetic_trace([(4, 8, 8)])
    layout = layout_trace(trace)
    slab = layout.slabs[0]
    cam = front_camera(slab)
    cam.ortho_height *= 1.6
    vp = cam.view_projection(SIZE[0] / SIZE[1])
    on = render_frame(SceneRenderer(trace, layout), vp, SIZE)
    off = render_frame(SceneRenderer(trace, layout, labels=False), vp, SIZE)
    (ax, ay), _ = project(np.array([[slab.center[0], slab.hi[1], slab.front_z]]), vp, SIZE)[0][0], None
    region = (slice(int(ay) - 30, int(ay) - 2), slice(int(ax) - 60, int(ax) + 60))
    assert (on[region][..., :3].astype(int).sum(-1) > 500).sum() > 20  # light text pixels
    assert (off[region][..., :3].astype(int).sum(-1) > 500).sum() == 0


def test_default_model_render_is_not_blank_and_depends_on_the_input(gl: Any) -> None:
    model = default_model()
    a = viz3d.render(model, torch.from_numpy(sample_image(0))[None], size=(320, 180), ssaa=1)
    b = viz3d.render(model, torch.from_numpy(sample_image(1))[None], size=(320, 180), ssaa=1)
    assert a.shape == (180, 320, 4) and a.dtype == np.uint8
    background = np.array([19, 20, 24])
    lit = np.abs(a[..., :3].astype(int) - background).sum(-1) > 30
    assert lit.mean() > 0.15, "less than 15 % of the frame shows the network"
    assert len(np.unique(a[..., :3].reshape(-1, 3), axis=0)) > 200
    differs = np.abs(a.astype(int) - b.astype(int)).sum(-1) > 10
    assert differs.mean() > 0.02


def test_supersampling_keeps_the_size_and_smooths_edges(gl: Any) -> None:
    trace = synthetic_trace([(4, 8, 8), (8, 4, 4)])
    one = viz3d.render(trace, size=(200, 120), ssaa=1, labels=False)
    two = viz3d.render(trace, size=(200, 120), ssaa=2, labels=False)
    assert one.shape == two.shape == (120, 200, 4)
    # Box filtering creates in-between colours at edges.
    assert len(np.unique(two[..., :3].reshape(-1, 3), axis=0)) > len(np.unique(one[..., :3].reshape(-1, 3), axis=0))


def test_volume_mode_shows_strong_channels_and_hides_zeros(gl: Any) -> None:
    display = torch.zeros(8, 6, 6)
    display[2] = 5.0  # one strong channel inside the block
    trace = one_layer(display)
    layout = layout_trace(trace, "volume")
    slab = layout.slabs[0]
    assert layout.mode == "volume" and np.isclose(slab.size[0], slab.tile_w)
    cam = OrbitCamera(target=slab.center.copy(), distance=3 * float(max(slab.size)), azimuth=-20, elevation=15)
    cam.scene_center, cam.scene_radius = slab.center.copy(), float(np.linalg.norm(slab.size))
    vp = cam.view_projection(SIZE[0] / SIZE[1])
    image = render_frame(SceneRenderer(trace, layout, labels=False), vp, SIZE)
    (cx, cy), _ = project(slab.center[None], vp, SIZE)[0][0], None
    centre = image[int(cy), int(cx), :3].astype(int)
    top = apply_colormap(np.array([5.0]), 0.0, 5.0)[0].astype(int)  # viridis yellow
    assert centre[1] > 120 and np.abs(centre - top).sum() < np.abs(centre - np.array([19, 20, 24])).sum()
    empty = one_layer(torch.zeros(8, 6, 6))
    blank = render_frame(SceneRenderer(empty, layout_trace(empty, "volume"), labels=False), vp, SIZE)
    np.testing.assert_array_equal(blank[int(cy), int(cx), :3], [19, 20, 24])
