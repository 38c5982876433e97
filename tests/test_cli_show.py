"""``viz3d show`` / ``demo --model``: torchvision:NAME, weights and several inputs.

torchvision is not installed in the test environment (its build is several GB): a
stand-in module injected into ``sys.modules`` plays it.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from viz3d.cli import _build_parser, main
from viz3d.cli_show import open_viewer_session
from viz3d.errors import Viz3dError
from viz3d.loading import load_model_spec


def tiny_net() -> nn.Module:
    conv = nn.Conv2d(3, 4, 3, padding=1)
    return nn.Sequential(conv, nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))


@pytest.fixture
def stand_in(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, object]]:
    """A ``torchvision`` module exposing ``models.get_model(name, weights=None)``; records each call."""
    calls: list[tuple[str, object]] = []

    def get_model(name: str, weights: object = "DEFAULT") -> nn.Module:
        calls.append((name, weights))
        if name != "tinynet":
            raise ValueError(f"Unknown model {name}")
        return tiny_net().train()

    fake = types.ModuleType("torchvision")
    fake.models = types.SimpleNamespace(get_model=get_model)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "torchvision", fake)
    return calls


def images(tmp_path: Path, count: int) -> list[str]:
    rng = np.random.default_rng(1)
    paths = []
    for k in range(count):
        path = tmp_path / f"img{k}.png"
        Image.fromarray(rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)).save(path)
        paths.append(str(path))
    return paths


def test_without_torchvision_it_is_one_line_naming_the_extra(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "torchvision", None)  # what `import torchvision` meets when it is missing
    with pytest.raises(Viz3dError, match=r"needs torchvision, which is not installed: pip install 'viz3d\[zoo\]'"):
        load_model_spec("torchvision:resnet18")
    out = str(tmp_path / "x.png")
    assert main(["show", "--model", "torchvision:resnet18", "--offscreen", "--out", out]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["viz3d: torchvision:resnet18 needs torchvision, which is not installed: pip install 'viz3d[zoo]'"]


def test_torchvision_builds_the_architecture_without_weights(stand_in: list[tuple[str, object]]) -> None:
    model = load_model_spec("torchvision:tinynet")
    assert stand_in == [("tinynet", None)]  # weights=None: nothing downloaded
    assert isinstance(model, nn.Sequential) and not model.training
    with pytest.raises(Viz3dError, match=r"torchvision cannot build 'resnet9000'.*ValueError"):
        load_model_spec("torchvision:resnet9000")
    with pytest.raises(Viz3dError, match="name an architecture"):
        load_model_spec("torchvision:")


def test_show_takes_weights_and_cycles_every_input(stand_in: object, tmp_path: Path) -> None:
    weights = {k: torch.full_like(v, 0.5) for k, v in tiny_net().state_dict().items()}
    torch.save(weights, tmp_path / "w.pt")
    paths = images(tmp_path, 3)
    args = _build_parser().parse_args(
        ["show", "--model", "torchvision:tinynet", "--weights", str(tmp_path / "w.pt"), "--input", *paths]
    )
    session = open_viewer_session(args)
    assert session.model is not None and len(session.inputs) == 3
    assert torch.equal(session.model.state_dict()["0.weight"], weights["0.weight"])
    first = session.captured.nodes[1].tensor.clone()
    session.next_input()
    assert session.input_index == 1 and not torch.equal(session.captured.nodes[1].tensor, first)
    assert session.current_message() == "input 2/3"


def test_demo_takes_a_model_too_and_keeps_its_samples(stand_in: object, tmp_path: Path) -> None:
    parser = _build_parser()
    assert len(open_viewer_session(parser.parse_args(["demo", "--size", "64x40"])).inputs) == 6
    args = parser.parse_args(["demo", "--model", "torchvision:tinynet", "--input", *images(tmp_path, 2)])
    assert len(open_viewer_session(args).inputs) == 2
    with pytest.raises(SystemExit):
        parser.parse_args(["show", "--input", "a.png"])  # show names its model


@pytest.mark.gl
def test_show_without_a_window_writes_the_first_input_as_a_png(stand_in: object, tmp_path: Path) -> None:
    out = tmp_path / "shown.png"
    argv = ["show", "--model", "torchvision:tinynet", "--input", *images(tmp_path, 2), "--offscreen"]
    assert main([*argv, "--out", str(out), "--size", "96x64", "--connections", ""]) == 0
    assert Image.open(out).size == (96, 64)
