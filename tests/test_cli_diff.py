"""``viz3d diff``: two state dicts of the default network as a difference picture; mismatches in one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

from viz3d.cli import main
from viz3d.models.default_net import default_model
from viz3d.scene.colormaps import colormap_lut


def checkpoints(tmp_path: Path) -> tuple[Path, Path, dict[str, torch.Tensor]]:
    """The trained default network (.safetensors) and a perturbed copy (torch.save .pt)."""
    trained = default_model().state_dict()
    g = torch.Generator().manual_seed(0)
    perturbed = {
        k: v + 0.05 * v.abs().mean() * torch.randn(v.shape, generator=g) if v.is_floating_point() else v
        for k, v in trained.items()
    }
    a, b = tmp_path / "trained.safetensors", tmp_path / "perturbed.pt"
    save_file({k: v.contiguous() for k, v in trained.items()}, str(a))
    torch.save(perturbed, b)
    return a, b, trained


def shares(tmp_path: Path, first: Path, second: Path, show: str) -> tuple[float, float]:
    """``viz3d diff`` of ``second - first`` as a PNG: the parts coloured as increases and as decreases."""
    out = tmp_path / "diff.png"
    argv = ["diff", "--weights", str(first), str(second), "--show", show, "--render", str(out)]
    assert main([*argv, "--size", "320x200", "--ssaa", "1"]) == 0
    assert Image.open(out).size == (320, 200)
    image = np.asarray(Image.open(out).convert("RGB")).reshape(-1, 3).astype(int)
    lut = colormap_lut("coolwarm").astype(int)
    halves = (lut[160:], lut[:96])  # the two sides of the diverging colormap, away from its neutral centre
    near = [(np.abs(image[:, None, :] - c[None]).max(axis=2) <= 2).any(axis=1).mean() for c in halves]
    return float(near[0]), float(near[1])


@pytest.mark.gl
def test_diff_of_two_state_dicts_writes_a_coolwarm_png(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], gl: object
) -> None:
    a, b, _ = checkpoints(tmp_path)
    up, down = shares(tmp_path, a, b, "activations")
    assert up > 0.002 and down > 0.002  # both signs of change are drawn
    err = capsys.readouterr().err
    assert "wrote " in err and "activations b - a" in err and "largest changes:" in err


@pytest.mark.gl
def test_a_checkpoint_against_itself_is_all_neutral(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], gl: object
) -> None:
    a, _, _ = checkpoints(tmp_path)
    assert shares(tmp_path, a, a, "weights") == (0.0, 0.0)  # no change: the neutral centre colour only
    assert "weights b - a" in capsys.readouterr().err


def test_mismatched_architectures_are_one_line_naming_keys_and_shapes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, _, trained = checkpoints(tmp_path)
    other = dict(trained)
    del other["fc.bias"]
    other["conv1.weight"] = torch.zeros(8, 3, 3, 3)
    other["head.weight"] = torch.zeros(2)
    bad = tmp_path / "other.pt"
    torch.save(other, bad)
    out = tmp_path / "never.png"
    assert main(["diff", "--weights", str(a), str(bad), "--render", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and not out.exists()
    assert err.startswith(f"viz3d: {bad} is not a state dict of this architecture")
    assert "1 missing keys (fc.bias)" in err and "1 unexpected keys (head.weight)" in err
    assert f"conv1.weight (8, 3, 3, 3) vs the model's {tuple(trained['conv1.weight'].shape)}" in err
