"""The texture memory budget: R16F, then downsampled maps, told once and in the HUD; true values where picked."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import viz3d
from tests.test_render_pixels import SIZE, front_camera, one_layer, pixel_at, texel_center
from viz3d.capture import synthetic_trace
from viz3d.errors import Viz3dError
from viz3d.gpu.budget import fit_to_budget
from viz3d.layout import layout_trace
from viz3d.renderer.offscreen import offscreen_canvas, render_frame
from viz3d.renderer.picking import PickBuffer
from viz3d.renderer.scene_renderer import SceneRenderer
from viz3d.scene.colormaps import apply_colormap
from viz3d.scene.labels import project
from viz3d.scene.picking import PickHit
from viz3d.session import Session, ViewOptions
from viz3d.session.options import parse_texture_budget

# --- the plan (no GL) ---------------------------------------------------------------------------


def test_within_the_budget_nothing_changes() -> None:
    fit = fit_to_budget([(4, 8, 8), (2, 4, 4)], 2048, "r32f", [True, True], (256 + 32) * 4)
    assert fit.formats == ["r32f", "r32f"] and [p.downsample for p in fit.plans] == [1, 1]
    assert not fit.changed and fit.bytes == fit.full_bytes == 1152


def test_a_budget_forces_r16f_where_half_precision_is_safe() -> None:
    shapes = [(4, 8, 8), (2, 4, 4)]
    fit = fit_to_budget(shapes, 2048, "r32f", [True, True], 576)
    assert fit.formats == ["r16f", "r16f"] and fit.halved == 2 and fit.downsampled == 0
    assert fit.bytes == 576
    # An unsafe layer keeps R32F; the rest must come from smaller maps (the largest first).
    fit = fit_to_budget(shapes, 2048, "r32f", [False, True], 576)
    assert fit.formats == ["r32f", "r16f"] and fit.halved == 1
    assert [p.downsample for p in fit.plans] == [2, 1] and fit.downsampled == 1
    assert fit.bytes == 4 * 4 * 4 * 4 + 2 * 16 * 2  # 4x4 maps of layer 0 in R32F, layer 1 in R16F
    # The CUDA path's one staging type: one unsafe layer keeps every layer in R32F.
    fit = fit_to_budget(shapes, 2048, "r32f", [False, True], 576, one_format=True)
    assert fit.formats == ["r32f", "r32f"] and fit.halved == 0


def test_a_budget_forces_downsampling_of_the_largest_maps_first() -> None:
    shapes = [(1, 16, 16), (1, 8, 8), (1, 4, 4)]
    # R32F: 1024 + 256 + 64 bytes; R16F halves it to 672; 16x16 -> 8x8 gives 288, then one 8x8 -> 4x4 gives 192.
    fit = fit_to_budget(shapes, 2048, "r32f", [True] * 3, 200)
    assert fit.formats == ["r16f"] * 3
    assert [p.downsample for p in fit.plans] == [2, 2, 1]
    assert [(p.height, p.width) for p in fit.plans] == [(8, 8), (4, 4), (4, 4)]
    assert fit.bytes == 192 and fit.downsampled == 2 and fit.full_bytes == 1344
    with pytest.raises(Viz3dError, match="texture budget"):
        fit_to_budget(shapes, 2048, "r32f", [True] * 3, 4)


def test_budget_option_and_flag() -> None:
    assert parse_texture_budget("auto") == "auto" and parse_texture_budget("none") is None
    assert parse_texture_budget("512M") == 512 * 2**20 and parse_texture_budget("1.5GiB") == 3 * 2**29
    assert parse_texture_budget("4096") == 4096
    with pytest.raises(Viz3dError, match="not a size"):
        parse_texture_budget("lots")
    with pytest.raises(Viz3dError, match="texture_budget"):
        ViewOptions(texture_budget=0)
    assert ViewOptions().texture_budget == "auto"


# --- real GL ------------------------------------------------------------------------------------


@pytest.mark.gl
def test_downsampled_tile_shows_the_box_filtered_values_and_picks_true_coordinates(gl: Any) -> None:
    # Integers: 2x2 means are multiples of 1/4, exact in half precision, so R16F changes nothing here.
    display = (torch.arange(2 * 8 * 8, dtype=torch.float32).reshape(2, 8, 8) * 37 % 128)[:, :, :]
    trace = one_layer(display)
    layout = layout_trace(trace)
    slab = layout.slabs[0]
    vp = front_camera(slab).view_projection(SIZE[0] / SIZE[1])
    full = 2 * 8 * 8 * 4
    renderer = SceneRenderer(trace, layout, labels=False, texture_budget=full // 4)
    with pytest.warns(viz3d.Viz3dWarning, match="exceed the texture budget .*1 layer in R16F, 1 downsampled"):
        image = render_frame(renderer, vp, SIZE)
    layer = renderer.layers[0]
    assert layer.format == "r16f" and layer.plan.downsample == 2 and layer.activation.shape[:3] == (2, 4, 4)
    assert renderer.budget_note == "1 layer in R16F, 1 downsampled"
    assert renderer.texture_bytes() == 2 * 4 * 4 * 2  # within the budget of full // 4
    boxed = F.avg_pool2d(display[None], 2)[0]
    lo, hi = float(display.min()), float(display.max())  # the layer's true range, not the filtered one
    for c, y, x in [(0, 0, 0), (0, 2, 3), (1, 3, 1), (1, 1, 2)]:
        expected = apply_colormap(np.array([boxed[c, y, x].item()]), lo, hi)[0]
        got = pixel_at(image, texel_center(slab, c, y, x, 4, 4), vp)
        np.testing.assert_array_equal(got, expected, err_msg=f"{(c, y, x)}")
    # Picking answers in the map's own 8x8 coordinates, whatever the texture holds.
    buf = PickBuffer()
    offscreen_canvas()
    for c, y, x in [(0, 7, 6), (1, 5, 0), (0, 0, 3)]:
        (px, py), _ = project(texel_center(slab, c, y, x, 8, 8)[None], vp, SIZE)[0][0], None
        assert buf.pick(renderer, vp, SIZE, int(px), int(py)) == PickHit(0, c, y, x)
    buf.delete()
    renderer.delete()


@pytest.mark.gl
def test_hud_names_what_the_budget_changed(gl: Any) -> None:
    from viz3d.app.window import ViewerWindow

    trace = synthetic_trace([(4, 16, 16), (8, 8, 8)])
    full = (4 * 256 + 8 * 64) * 4
    session = Session(trace, options=ViewOptions(texture_budget=full // 4), size=(320, 200))
    window = ViewerWindow(session, backend="egl")
    try:
        with pytest.warns(viz3d.Viz3dWarning, match="texture budget"):
            window.view.sync()
        assert "texture budget: 2 layers in R16F, 1 downsampled" in window.hud.status_lines(None)[0]
        # The hover line gives the map's own value at its own (y, x), and says the tile is drawn smaller.
        line = window.hud.describe(PickHit(0, 1, 9, 13))
        assert f"channel 1 (y 9, x 13) = {float(trace.nodes[0].display[1, 9, 13]):.4g}" in line
        assert "drawn 2x downsampled" in line
        assert "downsampled" not in window.hud.describe(PickHit(1, 1, 3, 3))
        session.update(texture_budget=None)
        window.view.sync()
        assert "texture budget" not in window.hud.status_lines(None)[0]
    finally:
        window.canvas.close()


@pytest.mark.gl
def test_new_values_refit_the_budget(gl: Any) -> None:
    # Fits in R16F at full size; then values too fine for half floats need R32F, so the maps shrink instead.
    display = torch.arange(2 * 8 * 8, dtype=torch.float32).reshape(2, 8, 8)
    trace = one_layer(display)
    layout = layout_trace(trace)
    slab = layout.slabs[0]
    vp = front_camera(slab).view_projection(SIZE[0] / SIZE[1])
    renderer = SceneRenderer(trace, layout, labels=False, texture_budget=2 * 8 * 8 * 2)
    with pytest.warns(viz3d.Viz3dWarning, match="1 layer in R16F"):
        render_frame(renderer, vp, SIZE)
    assert (renderer.layers[0].format, renderer.layers[0].plan.downsample) == ("r16f", 1)
    fine = 1000.0 + display / 64  # spread 2 around 1000: half precision would posterize it
    with pytest.warns(viz3d.Viz3dWarning, match="1 downsampled"):
        renderer.update_activations(one_layer(fine))
        image = render_frame(renderer, vp, SIZE)
    layer = renderer.layers[0]
    assert (layer.format, layer.plan.downsample) == ("r32f", 2) and renderer.budget_note == "1 downsampled"
    boxed = F.avg_pool2d(fine[None], 2)[0]
    for c, y, x in [(0, 1, 2), (1, 3, 3)]:
        expected = apply_colormap(np.array([boxed[c, y, x].item()]), float(fine.min()), float(fine.max()))[0]
        np.testing.assert_array_equal(pixel_at(image, texel_center(slab, c, y, x, 4, 4), vp), expected)
    renderer.delete()


def test_texture_budget_flag_reaches_the_view_options(capsys: pytest.CaptureFixture[str]) -> None:
    from viz3d.cli import _build_parser, view_options_from_args

    parser = _build_parser()
    args = parser.parse_args(["render", "--texture-budget", "2G"])
    assert view_options_from_args(args).texture_budget == 2 * 2**30
    assert view_options_from_args(parser.parse_args(["render"])).texture_budget == "auto"
    with pytest.raises(SystemExit):
        parser.parse_args(["render", "--texture-budget", "lots"])
    assert "texture budget 'lots' is not a size" in capsys.readouterr().err


@pytest.mark.gl
def test_auto_budget_follows_the_gl_implementation(gl: Any) -> None:
    from viz3d.renderer.gl_memory import DEFAULT_BUDGET, auto_texture_budget, resolve_budget, system_memory

    ram = system_memory()
    assert ram is not None
    # Software rasterizers keep textures in RAM: a quarter of it.
    assert auto_texture_budget("llvmpipe (LLVM 15.0.6, 256 bits)")[0] == int(ram * 0.25)
    # A GPU whose driver reports no memory query (this context has none of the extensions): the default.
    budget, source = auto_texture_budget("Mesa Intel(R) UHD Graphics")
    assert budget == DEFAULT_BUDGET and "default" in source
    assert resolve_budget(None, "llvmpipe") == (None, "no budget")
    assert resolve_budget(12345, "llvmpipe")[0] == 12345
