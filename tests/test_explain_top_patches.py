"""Top patches: a planted corner detector's best crops are the white squares, cut at the hand-computed field."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from viz3d.errors import Viz3dError
from viz3d.explain import patches as patches_module
from viz3d.explain import top_patches
from viz3d.explain.running_top import RunningTopK

SIDE, SQUARE = 32, 6
THRESHOLD = 8.0  # a white top-left corner gives 12 - 15·background (>= 9), a grey or red one at most 7.2


class CornerDetector(nn.Module):
    """conv1 channel 0 fires only at the top-left corner of a white square; conv2 channel 0 passes it on."""

    input_shape = (1, 3, SIDE, SIDE)

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 2, 3, padding=1)
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(2, 2, 3, padding=1)
        with torch.no_grad():
            corner = -torch.ones(3, 3)
            corner[1:, 1:] = 1.0  # bright below-right of the centre, dark row above and column left
            self.conv1.weight.zero_()
            self.conv1.weight[0] = corner
            self.conv1.weight[1] = 1.0 / 27  # a mean-brightness channel, to have another channel
            self.conv1.bias.copy_(torch.tensor([-THRESHOLD, 0.0]))
            self.conv2.weight.zero_()
            self.conv2.bias.zero_()
            self.conv2.weight[0, 0, 1, 1] = 1.0
            self.conv2.weight[1, 1] = 1.0 / 9

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.pool(self.relu(self.conv1(x))))


def make_images(folder: Path, count: int = 14, squares: int = 5, seed: int = 0) -> dict[str, tuple[int, int]]:
    """PNGs of noise with grey and red squares; the first ``squares`` also hold a white one (name → its corner)."""
    rng = np.random.default_rng(seed)
    corners = {}
    for i in range(count):
        img = rng.uniform(0.0, 0.2, (SIDE, SIDE, 3))
        quadrants = rng.permutation(4)
        for q, kind in zip(quadrants, ["white" if i < squares else "none", "grey", "red", "none"], strict=True):
            r = (q // 2) * 16 + int(rng.integers(2, 9))
            c = (q % 2) * 16 + int(rng.integers(2, 9))
            if kind == "white":
                img[r : r + SQUARE, c : c + SQUARE] = 1.0
                corners[f"img{i:02d}.png"] = (r, c)
            elif kind == "grey":
                img[r : r + SQUARE, c : c + SQUARE] = 0.6
            elif kind == "red":
                img[r : r + SQUARE, c : c + SQUARE] = (1.0, 0.0, 0.0)
        Image.fromarray((img * 255).round().astype(np.uint8)).save(folder / f"img{i:02d}.png")
    return corners


def hand_box(y: int, x: int) -> tuple[int, int, int, int]:
    """conv2 (3x3, pad 1) reads pooled rows y-1..y+1 = conv1 rows 2y-2..2y+3 = input rows 2y-3..2y+4, clipped."""
    return max(2 * y - 3, 0), min(2 * y + 4, SIDE - 1), max(2 * x - 3, 0), min(2 * x + 4, SIDE - 1)


def test_planted_detector_top_patches_are_the_white_squares_cut_at_the_field(tmp_path: Path) -> None:
    corners = make_images(tmp_path)
    model = CornerDetector().eval()
    result = top_patches(model, tmp_path, "conv2", k=4, batch_size=3)
    assert result.channels == 2 and result.k == 4 and result.exact
    patches = result.patches(0)
    assert {Path(p.source).name for p in patches} <= set(corners) and len(patches) == 4
    for p in patches:
        assert p.score > 0
        r, c = corners[Path(p.source).name]
        assert p.box == hand_box(*p.position)
        y0, y1, x0, x1 = p.box
        assert y0 <= r <= y1 and x0 <= c <= x1  # the corner the detector fires on is in the crop
        picture = np.asarray(Image.open(p.source), dtype=np.float32).transpose(2, 0, 1) / 255.0
        np.testing.assert_array_equal(p.crop, picture[:, y0 : y1 + 1, x0 : x1 + 1])
        assert (p.crop.min(axis=0) > 0.99).sum() >= 4  # white pixels of the square
        with torch.no_grad():  # the score and position are the channel's maximum on that image (torch's answer)
            out = model(torch.from_numpy(picture)[None])[0, 0]
        assert p.score == pytest.approx(float(out.max()))
        assert float(out[p.position]) == pytest.approx(float(out.max()))
    assert [p.score for p in patches] == sorted((p.score for p in patches), reverse=True)


def test_cache_round_trip_and_a_changed_image_list_invalidates_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_images(tmp_path, count=6, squares=2)
    model = CornerDetector().eval()
    first = top_patches(model, tmp_path, "conv2", k=3)
    cached = list(tmp_path.glob(".viz3d-top-patches-conv2-*.safetensors"))
    assert len(cached) == 1
    calls = []
    search = vars(patches_module)["_search"]
    monkeypatch.setattr(patches_module, "_search", lambda *a: calls.append(1) or search(*a))
    again = top_patches(model, tmp_path, "conv2", k=3)
    assert calls == []  # read from the file
    for name in ("scores", "images", "positions", "boxes"):
        np.testing.assert_array_equal(getattr(again, name), getattr(first, name))
    np.testing.assert_array_equal(again.patches(0)[0].crop, first.patches(0)[0].crop)
    make_images(tmp_path, count=7, squares=2, seed=1)  # one more image (and new pixels)
    top_patches(model, tmp_path, "conv2", k=3)
    assert calls == [1]
    assert len(list(tmp_path.glob(".viz3d-top-patches-conv2-*.safetensors"))) == 2


def test_running_top_k_equals_sorting_all_activations() -> None:
    g = torch.Generator().manual_seed(3)
    acts = torch.randn(23, 5, 4, 6, generator=g)
    running = RunningTopK(4)
    for start in range(0, 23, 5):
        running.add(acts[start : start + 5], start)
    scores = acts.reshape(23, 5, -1).amax(dim=2).t()  # (C, N): keep everything, then sort
    order = scores.argsort(dim=1, descending=True)[:, :4]
    assert running.images is not None and running.scores is not None and running.positions is not None
    assert torch.equal(running.images, order)
    assert torch.equal(running.scores, scores.gather(1, order))
    flat = acts.reshape(23, 5, -1).argmax(dim=2).t().gather(1, order)
    assert torch.equal(running.positions, flat)


def test_tensor_images_and_bad_input() -> None:
    model = CornerDetector().eval()
    x = torch.zeros(3, 3, SIDE, SIDE)
    x[1, :, 10:16, 12:18] = 1.0
    result = top_patches(model, x, "conv2", k=1)
    (best,) = result.patches(0)
    assert best.image == 1 and best.source == "#1" and best.position == (5, 6)
    assert best.box == hand_box(5, 6)
    with pytest.raises(Viz3dError, match="no module named 'conv9'"):
        top_patches(model, x, "conv9")
    with pytest.raises(Viz3dError, match="k must be at least 1"):
        top_patches(model, x, "conv2", k=0)


def test_cli_writes_the_cache_and_a_contact_sheet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from viz3d.cli import main

    make_images(tmp_path, count=5, squares=2)
    spec = f"{Path(__file__).resolve()}:CornerDetector"
    sheet = tmp_path / "out" / "sheet.png"
    sheet.parent.mkdir()
    args = ["top-patches", "--model", spec, "--images", str(tmp_path), "--layer", "conv2", "--k", "3"]
    assert main([*args, "--out", str(sheet)]) == 0
    err = capsys.readouterr().err
    assert "5 images, 2 channels of conv2, top 3 each" in err and "wrote" in err
    assert np.asarray(Image.open(sheet)).shape[:2] == (2 * (48 + 4) + 4, 3 * (48 + 4) + 4)  # a row per channel
    assert len(list(tmp_path.glob(".viz3d-top-patches-conv2-*.safetensors"))) == 1
    assert main([*args[:-4], "--layer", "conv9"]) == 2
    assert "no module named 'conv9'" in capsys.readouterr().err


def test_show_top_patches_attaches_them_to_the_session(tmp_path: Path) -> None:
    from viz3d.cli import _build_parser
    from viz3d.cli_show import open_viewer_session

    make_images(tmp_path, count=5, squares=2)
    spec = f"{Path(__file__).resolve()}:CornerDetector"
    argv = ["show", "--model", spec, "--input", "random", "--top-patches", str(tmp_path), "--select", "conv2:0:1:1"]
    session = open_viewer_session(_build_parser().parse_args(argv))
    shown = session.shown_top_patches()
    assert shown is not None and shown[:2] == ("conv2", 0) and len(shown[2]) == 5
    argv = ["show", "--model", spec, "--input", "random", "--top-patches", str(tmp_path)]
    with pytest.raises(Viz3dError, match="--top-patches needs a layer"):
        open_viewer_session(_build_parser().parse_args(argv))
