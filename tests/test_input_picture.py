"""The input as a picture, and preprocessing that matches the model (issue 12, items 1 and 3)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

import viz3d
from viz3d.export.offscreen import OffscreenView
from viz3d.layout import SlabLayout
from viz3d.loading import load_input
from viz3d.preprocess import IMAGENET_MEAN, IMAGENET_STD, PREPROCESSING, Preprocess
from viz3d.scene.camera import OrbitCamera
from viz3d.scene.keymap import KEYMAP
from viz3d.scene.labels import project
from viz3d.session import Session, ViewOptions

SIZE = (320, 320)
BARE = ViewOptions(labels=False, connections=frozenset())  # nothing drawn over the face but the face
MEAN = torch.tensor(IMAGENET_MEAN).reshape(1, 3, 1, 1)
STD = torch.tensor(IMAGENET_STD).reshape(1, 3, 1, 1)


def small_net() -> nn.Module:
    pool = nn.AdaptiveAvgPool2d(2)  # any image size
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), pool, nn.Flatten(), nn.Linear(16, 3)).eval()


def picture(seed: int = 1) -> torch.Tensor:
    """An 8x8 RGB image in [0, 1] whose pixels all differ."""
    return torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(seed))


def front_camera(slab: SlabLayout) -> OrbitCamera:
    """An orthographic camera looking straight at a slab's face, filling the frame."""
    target = np.array([slab.center[0], slab.center[1], slab.front_z])
    return OrbitCamera(target=target, distance=20.0, fov=0.0, ortho_height=max(slab.size[:2]) * 1.05, scene_radius=20.0)


def texel_centre(slab: SlabLayout, y: int, x: int, h: int, w: int) -> np.ndarray:
    x0, y0, x1, y1 = slab.tile_rects()[0]
    return np.array([x0 + (x + 0.5) / w * (x1 - x0), y1 - (y + 0.5) / h * (y1 - y0), slab.front_z])


def input_slab_pixels(session: Session) -> np.ndarray:
    """The rendered colour (0..255) at the centre of every pixel of the input picture, (H, W, 3)."""
    slab = session.layout.slab(0)
    cam = front_camera(slab)
    with OffscreenView(session, SIZE) as view:
        image = view.frame(camera=cam)
    vp = cam.view_projection(SIZE[0] / SIZE[1])
    h, w = (int(v) for v in session.trace.nodes[0].display.shape[1:])
    out = np.zeros((h, w, 3))
    for y in range(h):
        for x in range(w):
            (px, py), _ = project(texel_centre(slab, y, x, h, w)[None], vp, SIZE)[0][0], None
            out[y, x] = image[int(py), int(px), :3]
    return out


@pytest.mark.gl
def test_the_input_slab_shows_the_image_pixels_with_the_normalization_undone(gl: Any) -> None:
    image = picture()
    normalized = (image - MEAN) / STD  # what an ImageNet network is fed
    prep = Preprocess("normalize", mean=IMAGENET_MEAN, std=IMAGENET_STD)
    session = Session(viz3d.trace(small_net(), normalized), options=BARE, preprocess=prep, size=SIZE)
    node = session.trace.nodes[0]
    assert node.display_rgb and node.tiles == 1 and node.display_range == (0.0, 1.0)
    assert session.layout.slab(0).channels == 1  # one colour tile, not three heatmaps
    got = input_slab_pixels(session)
    expected = image[0].permute(1, 2, 0).numpy() * 255
    assert np.abs(got - expected).max() <= 1.5  # 8-bit rounding of the framebuffer, nothing else


@pytest.mark.gl
def test_without_preprocessing_a_unit_image_is_drawn_as_it_is(gl: Any) -> None:
    image = picture(2)
    got = input_slab_pixels(Session(viz3d.trace(small_net(), image), options=BARE, size=SIZE))
    assert np.abs(got - image[0].permute(1, 2, 0).numpy() * 255).max() <= 1.5


def test_heatmaps_come_back_with_the_option_and_the_key() -> None:
    session = Session(viz3d.trace(small_net(), picture()))
    assert session.trace.nodes[0].display_rgb
    session.toggle_input_picture()
    assert not session.options.input_rgb and not session.trace.nodes[0].display_rgb
    assert session.layout.slab(0).channels == 3 and "heatmaps" in session.current_message()
    assert (
        Session(viz3d.trace(small_net(), picture()), options=ViewOptions(input_rgb=False)).layout.slab(0).channels == 3
    )
    binding = next(b for b in KEYMAP if b.action == "toggle_input_picture")
    assert binding.keys == ("J",) and sum("J" in b.keys for b in KEYMAP) == 1


def test_the_weights_view_and_other_inputs_are_unchanged() -> None:
    session = Session(viz3d.trace(small_net(), picture()), options=ViewOptions(show="weights"))
    assert session.trace.nodes[0].display is None  # the input has no weights
    signal = nn.Sequential(nn.Conv1d(2, 4, 3), nn.ReLU()).eval()
    trace = Session(viz3d.trace(signal, torch.rand(1, 2, 32))).trace
    assert not trace.nodes[0].display_rgb


def test_values_outside_unit_range_are_scaled_and_said_not_clipped() -> None:
    x = torch.randn(1, 3, 8, 8) * 3  # normalized some way viz3d was not told
    node = Session(viz3d.trace(small_net(), x)).trace.nodes[0]
    lo, hi = float(x.min()), float(x.max())
    assert node.display_range == pytest.approx((lo, hi), rel=1e-5)
    assert "scaled to colours" in node.display_note


def test_imagenet_preprocessing_matches_a_hand_computed_crop_and_normalization() -> None:
    # Shorter side already 256: the resize is the identity; the crop starts at (16, 48).
    image = torch.rand(1, 3, 256, 320, generator=torch.Generator().manual_seed(3))
    out = PREPROCESSING["imagenet"].apply(image)
    hand = (image[:, :, 16:240, 48:272] - MEAN) / STD
    assert out.shape == (1, 3, 224, 224)
    torch.testing.assert_close(out, hand)
    # A constant image stays constant through any resize: only the normalization changes it.
    flat = torch.full((1, 3, 300, 400), 0.5)
    want = ((0.5 - MEAN) / STD).expand(1, 3, 224, 224)
    torch.testing.assert_close(PREPROCESSING["imagenet"].apply(flat), want)
    # The resize: shorter side to 256, the long side as torchvision rounds it (400 * 256 / 300 = 341.3).
    ramp = torch.linspace(0, 1, 400).expand(1, 3, 300, 400)
    resized = torch.nn.functional.interpolate(ramp, size=(256, 341), mode="bilinear", antialias=True)
    torch.testing.assert_close(PREPROCESSING["imagenet"].apply(ramp), (resized[:, :, 16:240, 58:282] - MEAN) / STD)
    # Undone, the crop is the image again.
    torch.testing.assert_close(PREPROCESSING["imagenet"].undo(out[0]), image[0, :, 16:240, 48:272])


def test_preprocess_on_image_files_and_the_api(tmp_path: Path) -> None:
    rgb = np.random.default_rng(0).integers(0, 256, (256, 300, 3), dtype=np.uint8)
    path = tmp_path / "photo.png"
    Image.fromarray(rgb).save(path)
    model = small_net()
    x = load_input(str(path), model, preprocess="imagenet")
    unit = torch.from_numpy(rgb.astype(np.float32) / 255).permute(2, 0, 1)[None]
    torch.testing.assert_close(x, (unit[:, :, 16:240, 38:262] - MEAN) / STD)
    assert torch.equal(load_input(str(path), model, preprocess="none"), unit)
    session = viz3d.api.open_session(model, unit, ViewOptions(), preprocess="imagenet")
    assert session.preprocess.name == "imagenet" and session.inputs[0].shape == (1, 3, 224, 224)
    torch.testing.assert_close(session.trace.nodes[0].display, unit[0, :, 16:240, 38:262])
    with pytest.raises(viz3d.Viz3dError, match="unknown preprocessing 'vgg'"):
        viz3d.render(model, unit, preprocess="vgg")
    with pytest.raises(viz3d.Viz3dError, match="the input has 1"):
        PREPROCESSING["imagenet"].apply(torch.rand(1, 1, 300, 300))


def test_receptive_fields_and_weights_point_at_the_picture_tile() -> None:
    options = ViewOptions(connections={"rf", "weights"})
    session = Session(viz3d.trace(small_net(), picture()), options=options)
    session.select("0:2:3:4")  # conv unit (2, 3, 4): it reads every input channel of a 3x3 window
    sets = session.connection_sets()
    weights = sets["weights"][0]
    assert len(weights.p0) == 1  # three input channels, one colour tile
    np.testing.assert_allclose(weights.p1[0], session.layout.slab(0).tile_center(0))
    assert len(sets["rf"][0].p0) > 0


def test_a_dead_colour_channel_outlines_the_picture_tile() -> None:
    x = picture()
    x[:, 2] = 0  # no blue at all: a dead input channel
    session = Session(viz3d.trace(small_net(), x), options=ViewOptions(stats=True))
    overlay = session.health_overlay()
    assert overlay is not None and len(overlay.segments) > 0
    x0, _, x1, _ = session.layout.slab(0).tile_rects()[0]
    inside = (overlay.segments[:, 0] >= x0 - 1e-6) & (overlay.segments[:, 0] <= x1 + 1e-6)
    assert inside.any()
