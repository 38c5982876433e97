"""Camera, colormaps, normalization and label thinning: pure numpy, no GL."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pytest

from viz3d.scene.camera import OrbitCamera, frame_bounds, frame_points, look_at, perspective
from viz3d.scene.colormaps import COLORMAPS, NAN_COLOR, apply_colormap, colormap_lut
from viz3d.scene.labels import project
from viz3d.scene.normalization import ChannelStats, value_range


@pytest.mark.parametrize("name", COLORMAPS)
def test_luts_equal_matplotlib(name: str) -> None:
    ref = matplotlib.colormaps[name].resampled(256)(np.arange(256), bytes=True)[:, :3]
    np.testing.assert_array_equal(colormap_lut(name), ref)


def test_apply_colormap_matches_matplotlib_normalize() -> None:
    values = np.array([-1.0, 0.0, 0.3, 0.999, 1.0, 2.0])
    norm = matplotlib.colors.Normalize(0.0, 1.0, clip=True)
    ref = matplotlib.colormaps["viridis"](norm(values), bytes=True)[:, :3]
    np.testing.assert_array_equal(apply_colormap(values, 0.0, 1.0), ref)
    out = apply_colormap(np.array([np.nan, np.inf, -np.inf]), 0, 1)
    assert (out == NAN_COLOR).all()


def test_value_range_modes() -> None:
    stats = ChannelStats(np.array([0.0, -2.0]), np.array([1.0, 4.0]), np.array([0.5, 1.0]), 0)
    lo, hi = value_range("layer", stats, (-10.0, 10.0), symmetric=False)
    np.testing.assert_array_equal(lo, [-2, -2])
    np.testing.assert_array_equal(hi, [4, 4])
    lo, hi = value_range("channel", stats, (-10.0, 10.0), symmetric=False)
    np.testing.assert_array_equal(lo, [0, -2])
    np.testing.assert_array_equal(hi, [1, 4])
    lo, hi = value_range("global", stats, (-10.0, 10.0), symmetric=False)
    np.testing.assert_array_equal(hi, [10, 10])
    lo, hi = value_range("channel", stats, (0, 1), symmetric=True)
    np.testing.assert_array_equal(lo, [-1, -4])
    with pytest.raises(ValueError, match="unknown normalization"):
        value_range("median", stats, (0, 1), symmetric=False)


def test_look_at_and_perspective_by_hand() -> None:
    view = look_at(np.array([0.0, 0.0, 10.0]), np.zeros(3), np.array([0.0, 1.0, 0.0]))
    np.testing.assert_allclose(view @ [1, 2, 3, 1], [1, 2, -7, 1])
    proj = perspective(90.0, 2.0, 1.0, 100.0)
    clip = proj @ [2.0, 1.0, -1.0, 1.0]  # on the near plane
    np.testing.assert_allclose(clip[:3] / clip[3], [1.0, 1.0, -1.0])
    clip = proj @ [0.0, 0.0, -100.0, 1.0]  # on the far plane
    assert math.isclose(clip[2] / clip[3], 1.0)


def test_orbit_camera_eye_and_controls() -> None:
    cam = OrbitCamera(target=np.zeros(3), distance=10.0, azimuth=0.0, elevation=0.0)
    np.testing.assert_allclose(cam.eye, [0, 0, 10], atol=1e-12)
    cam.orbit(90.0, 0.0)
    np.testing.assert_allclose(cam.eye, [-10, 0, 0], atol=1e-9)
    cam.orbit(0.0, 200.0)
    assert cam.elevation == 89.0
    cam.zoom(0.5)
    assert cam.distance == 5.0
    cam = OrbitCamera(target=np.zeros(3), distance=10.0, fov=0.0, ortho_height=4.0)
    cam.pan(0.25, 0.0)  # a quarter of the view height to the left (content moves right)
    np.testing.assert_allclose(cam.target, [-1.0, 0.0, 0.0], atol=1e-12)


@pytest.mark.parametrize("preset", ["overview", "front", "side"])
@pytest.mark.parametrize("aspect", [16 / 9, 0.75])
def test_framing_keeps_every_point_in_view_and_fills_it(preset: str, aspect: float) -> None:
    rng = np.random.default_rng(1)
    pts = rng.normal(size=(50, 3)) * [30, 10, 200]
    cam = frame_points(pts, preset, aspect=aspect)
    size = (int(800 * aspect), 800)
    px, in_front = project(pts, cam.view_projection(aspect), size)
    assert in_front.all()
    assert (px[:, 0] >= 0).all() and (px[:, 0] <= size[0]).all()
    assert (px[:, 1] >= 0).all() and (px[:, 1] <= size[1]).all()
    # Tight: the outermost point sits on the fit margin.
    ndc = np.abs(px / size * 2 - 1).max()
    assert math.isclose(ndc, 0.92, abs_tol=0.01)


def test_framing_centres_a_network_layout() -> None:
    from viz3d.capture import synthetic_trace
    from viz3d.layout import layout_trace

    layout = layout_trace(synthetic_trace([(16, 32, 32), (32, 16, 16), (64, 8, 8)] * 3, skip_every=3))
    pts = layout.corner_points()
    for preset in ("overview", "side", "front"):
        cam = frame_points(pts, preset, aspect=16 / 9)
        px, _ = project(pts, cam.view_projection(16 / 9), (1600, 900))
        centre = (px.max(0) + px.min(0)) / 2 / (1600, 900)
        np.testing.assert_allclose(centre, [0.5, 0.5], atol=0.02)


def test_frame_bounds_orthographic() -> None:
    cam = frame_bounds(np.array([-1.0, -2.0, -1.0]), np.array([1.0, 2.0, 1.0]), "front", aspect=1.0, fov=0.0)
    assert math.isclose(cam.ortho_height, 4.0 / 0.92)
    with pytest.raises(ValueError, match="unknown camera preset"):
        frame_bounds(np.zeros(3), np.ones(3), "top")
