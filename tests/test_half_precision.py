"""R16F textures never draw a wrong picture in silence: layers that half floats would change keep R32F."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from tests.test_render_pixels import draw, one_layer
from viz3d.capture.trace import Node, Trace
from viz3d.errors import Viz3dWarning
from viz3d.gpu.half import half_precision_problem
from viz3d.layout import layout_trace
from viz3d.renderer.offscreen import offscreen_canvas
from viz3d.renderer.scene_renderer import SceneRenderer
from viz3d.scene.normalization import ChannelStats


def stats(lo: list[float], hi: list[float]) -> ChannelStats:
    return ChannelStats(np.array(lo), np.array(hi), (np.array(lo) + np.array(hi)) / 2, 0)


def test_the_rule_by_hand() -> None:
    assert half_precision_problem(stats([0.0, -3.0], [6.0, 3.0])) is None  # ReLU-like and centred layers
    assert half_precision_problem(stats([5.0], [5.0])) is None  # a constant channel draws one colour anyway
    assert "beyond half precision" in (half_precision_problem(stats([0.0], [1e5])) or "")
    # 1000 + 0.01 x: a spread of 10 around 1010 is under 1/8 of the magnitude.
    assert "finer than half precision" in (half_precision_problem(stats([1000.0], [1010.0])) or "")
    assert half_precision_problem(stats([100.0], [240.0])) is None  # 140 / 240 > 1/8


@pytest.mark.gl
@pytest.mark.parametrize(
    "values",
    [
        lambda g: 1000.0 + 0.01 * torch.rand(4, 8, 8, generator=g) * 100,  # collapses to one colour in R16F
        lambda g: torch.rand(4, 8, 8, generator=g) * 2e5,  # beyond ±65504: NaN-magenta in R16F
    ],
)
def test_layers_half_floats_would_change_keep_r32f_and_draw_as_r32f(gl: Any, values: Any) -> None:
    display = values(torch.Generator().manual_seed(1)).float()
    exact, _, _ = draw(one_layer(display))
    with pytest.warns(Viz3dWarning, match="kept in 32-bit float textures"):
        half, _, _ = draw(one_layer(display), texture_format="r16f")
    np.testing.assert_array_equal(half, exact)


@pytest.mark.gl
def test_only_the_layers_that_need_it_keep_r32f(gl: Any) -> None:
    safe = torch.rand(4, 8, 8)
    risky = 1000.0 + 0.001 * torch.rand(4, 8, 8)
    nodes = [
        Node(i, f"l{i}", "Conv2d", "conv", (1, *d.shape), "float32", 0, d[None], d) for i, d in enumerate((safe, risky))
    ]
    trace = Trace(nodes=nodes, edges=[], method="synthetic")
    renderer = SceneRenderer(trace, layout_trace(trace), texture_format="r16f", labels=False)
    offscreen_canvas()
    with pytest.warns(Viz3dWarning, match="l1: channel"):
        renderer.initialize()
    assert [layer.format for layer in renderer.layers] == ["r16f", "r32f"]
    assert renderer.texture_bytes() == 4 * 64 * 2 + 4 * 64 * 4
    renderer.delete()
