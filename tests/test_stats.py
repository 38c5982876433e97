"""Statistics and health flags, and `viz3d inspect`."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from viz3d.capture import capture
from viz3d.capture.stats import histogram, layer_statistics
from viz3d.cli import main


def test_histogram_counts_equal_numpy() -> None:
    values = torch.randn(10_000) * 3 + 1
    values[:5] = float("nan")  # ignored
    h = histogram(values, bins=32)
    finite = values[torch.isfinite(values)].double().numpy()
    counts, _ = np.histogram(finite, bins=np.array(h.edges))
    assert h.counts == counts.tolist()
    assert sum(h.counts) == 9_995
    assert h.edges[0] == pytest.approx(finite.min()) and h.edges[-1] == pytest.approx(finite.max())


def test_constant_values_get_a_usable_histogram() -> None:
    h = histogram(torch.zeros(10), bins=4)
    assert sum(h.counts) == 10 and h.edges[0] < h.edges[-1]


class Planted(nn.Module):
    """Conv whose channels 1 and 3 are dead (zero weights, zero bias, ReLU); a tanh that saturates."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 5, 3, padding=1)
        self.relu = nn.ReLU()
        self.big = nn.Conv2d(5, 4, 1)
        self.tanh = nn.Tanh()
        with torch.no_grad():
            self.conv.weight[[1, 3]] = 0.0
            self.conv.bias[[1, 3]] = 0.0
            self.big.weight.fill_(0.0)
            self.big.bias.copy_(torch.tensor([50.0, -50.0, 0.0, 0.0]))
            self.big.weight[2:] = 0.3  # channels 2, 3 vary

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.tanh(self.big(self.relu(self.conv(x))))


def test_planted_dead_and_saturated_channels_are_flagged_over_the_batch() -> None:
    trace = capture(Planted(), torch.rand(4, 3, 8, 8))
    stats = {s.name: s for s in layer_statistics(trace)}
    relu = stats["relu"]
    assert relu.dead_channels == [1, 3]
    assert relu.dead_fraction == pytest.approx(0.4)
    assert "dead channels: 2" in relu.flags
    assert stats["tanh"].saturated_channels == [0, 1]  # tanh(+50) = 1, tanh(-50) = -1
    assert relu.samples == 4
    assert stats["conv"].weight_std == pytest.approx(float(trace.node("conv").module.weight.detach().std()))


def test_a_channel_alive_for_one_input_is_not_dead() -> None:
    model = nn.Sequential(nn.ReLU())
    x = -torch.ones(3, 2, 4, 4)
    x[2, 1, 0, 0] = 1.0  # channel 1 fires for the third input only
    stats = layer_statistics(capture(model, x))
    assert stats[1].dead_channels == [0]


def test_scale_outliers_against_neighbours() -> None:
    model = nn.Sequential(nn.Conv2d(2, 2, 1), nn.Conv2d(2, 2, 1), nn.Conv2d(2, 2, 1), nn.Conv2d(2, 2, 1))
    with torch.no_grad():
        for m in model:
            nn.init.normal_(m.weight, std=0.5)
            m.bias.zero_()
        model[2].weight.mul_(1000.0)  # exploding weights in the third conv
    stats = layer_statistics(capture(model, torch.randn(2, 2, 6, 6)))
    flagged = [s.name for s in stats if any("weight scale" in f for f in s.flags)]
    assert flagged == ["2"]
    jumps = [s.name for s in stats if any("activation scale" in f for f in s.flags)]
    assert jumps == ["2"]  # the signal explodes there and stays large: flagged once


def test_inspect_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", "default", "--input", "sample", "--batch", "3", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["batch"] == 3 and data["capture"] == "fx"
    layer = data["layers"][1]
    for key, kind in [
        ("name", str), ("op", str), ("shape", list), ("params", int), ("act_mean", float), ("act_std", float),
        ("dead_fraction", float), ("dead_channels", list), ("flags", list), ("act_hist", dict), ("weight_hist", dict),
    ]:  # fmt: skip
        assert isinstance(layer[key], kind), key
    assert layer["name"] == "conv1" and layer["shape"] == [3, 16, 64, 64]
    assert len(layer["act_hist"]["counts"]) == 32 and len(layer["act_hist"]["edges"]) == 33
    assert sum(layer["act_hist"]["counts"]) == 3 * 16 * 64 * 64


def test_inspect_table_and_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect"]) == 0
    out = capsys.readouterr()
    assert "conv1" in out.out and "act mean" in out.out and "22 layers" in out.err
    assert main(["inspect", "--batch", "2", "--input", "nothing.png"]) == 2
    assert "--batch above 1" in capsys.readouterr().err
