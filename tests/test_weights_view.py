"""Weights mode: filters and weight matrices drawn exactly as documented (real GL pixel probes)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from tests.test_render_pixels import SIZE, front_camera, texel_center
from viz3d.capture import capture
from viz3d.capture.weights import weights_trace
from viz3d.layout import layout_trace
from viz3d.renderer.offscreen import render_frame
from viz3d.renderer.scene_renderer import SceneRenderer
from viz3d.scene.colormaps import apply_colormap
from viz3d.scene.labels import project

pytestmark = pytest.mark.gl


def draw_node(trace: Any, name: str) -> tuple[np.ndarray, Any, np.ndarray]:
    layout = layout_trace(trace)
    slab = layout.slab(trace.node(name).id)
    vp = front_camera(slab).view_projection(SIZE[0] / SIZE[1])
    renderer = SceneRenderer(trace, layout, labels=False)
    renderer.cut_z = slab.front_z + 0.5  # hide the boxes in front of this slab
    image = render_frame(renderer, vp, SIZE)
    return image, slab, vp


def pixel(image: np.ndarray, point: np.ndarray, vp: np.ndarray) -> np.ndarray:
    (x, y), _ = project(point[None], vp, SIZE)[0][0], None
    return image[int(y), int(x), :3].astype(int)


def test_first_layer_filters_are_colour_images_normalized_per_filter(gl: Any) -> None:
    conv = nn.Conv2d(3, 2, 2, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.arange(2 * 3 * 2 * 2, dtype=torch.float32).reshape(2, 3, 2, 2) - 5.0)
    trace = weights_trace(capture(nn.Sequential(conv), torch.rand(1, 3, 4, 4)))
    node = trace.node("0")
    assert node.display_rgb and node.tiles == 2
    image, slab, vp = draw_node(trace, "0")
    w = conv.weight.detach()
    for f in range(2):
        lo, hi = float(w[f].min()), float(w[f].max())
        for y, x in [(0, 0), (1, 1), (0, 1)]:
            expected = np.round((w[f, :, y, x].numpy() - lo) / (hi - lo) * 255)
            got = pixel(image, texel_center(slab, f, y, x, 2, 2), vp)
            np.testing.assert_allclose(got, expected, atol=1, err_msg=f"filter {f} at {y},{x}")


def test_deeper_filters_are_an_out_by_in_grid_of_grey_kernels_centred_on_zero(gl: Any) -> None:
    conv = nn.Conv2d(4, 3, 3, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.linspace(-2.0, 1.0, 3 * 4 * 9).reshape(3, 4, 3, 3))
    trace = weights_trace(capture(nn.Sequential(nn.Conv2d(3, 4, 1), conv), torch.rand(1, 3, 6, 6)))
    node = trace.node("1")
    assert node.grid_cols == 4 and node.display.shape == (12, 3, 3)
    image, slab, vp = draw_node(trace, "1")
    assert (slab.rows, slab.cols) == (3, 4)
    w = conv.weight.detach()
    m = float(w.abs().max())
    for o, i, y, x in [(0, 0, 0, 0), (1, 2, 1, 2), (2, 3, 2, 2)]:
        expected = apply_colormap(np.array([float(w[o, i, y, x])]), -m, m, "gray")[0]
        got = pixel(image, texel_center(slab, o * 4 + i, y, x, 3, 3), vp)
        np.testing.assert_array_equal(got, expected)
    zero_grey = apply_colormap(np.array([0.0]), -m, m, "gray")[0]
    assert abs(int(zero_grey[0]) - 128) <= 1  # zero is mid grey


def test_linear_weights_are_a_diverging_heatmap_centred_on_zero(gl: Any) -> None:
    lin = nn.Linear(6, 4)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[3.0, -1.0, 0.0, 0.5, -3.0, 2.0]] * 4) * torch.arange(1, 5)[:, None] / 4)
    trace = weights_trace(capture(nn.Sequential(lin), torch.rand(1, 6)))
    image, slab, vp = draw_node(trace, "0")
    w = lin.weight.detach()
    m = float(w.abs().max())
    for r, c in [(0, 0), (3, 4), (2, 2), (1, 5)]:
        expected = apply_colormap(np.array([float(w[r, c])]), -m, m, "coolwarm")[0]
        np.testing.assert_array_equal(pixel(image, texel_center(slab, 0, r, c, 4, 6), vp), expected)


def test_layers_without_weights_become_boxes() -> None:
    trace = weights_trace(capture(nn.Sequential(nn.Conv2d(3, 2, 1), nn.ReLU()), torch.rand(1, 3, 4, 4)))
    assert trace.node("1").display is None and trace.node("input").display is None
    assert trace.node("0").display is not None
