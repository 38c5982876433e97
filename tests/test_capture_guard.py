"""Capture leaves the model exactly as it found it: parameters, buffers, flags, hooks, autograd and RNG state."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn

from viz3d.capture import capture
from viz3d.errors import Viz3dError


class Boom(nn.Module):
    """Raises ``error`` in forward (after the layers before it have run)."""

    def __init__(self, error: BaseException) -> None:
        super().__init__()
        self.error = error

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise self.error


def net(tail: nn.Module | None = None) -> nn.Module:
    layers: list[nn.Module] = [nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Dropout(0.5)]
    if tail is not None:
        layers.append(tail)
    layers += [nn.Conv2d(8, 4, 3), nn.BatchNorm2d(4)]
    model = nn.Sequential(*layers)
    model.train()
    model[1].eval()  # mixed flags must come back exactly
    return model


def state(model: nn.Module) -> dict[str, Any]:
    return {
        "tensors": {k: v.clone() for k, v in model.state_dict().items()},
        "flags": [m.training for m in model.modules()],
        "hooks": [(len(m._forward_hooks), len(m._forward_pre_hooks), len(m._backward_hooks)) for m in model.modules()],
        "grad": torch.is_grad_enabled(),
        "rng": torch.get_rng_state(),
        "requires_grad": [p.requires_grad for p in model.parameters()],
    }


def assert_same(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a["tensors"].keys() == b["tensors"].keys()
    for k in a["tensors"]:
        assert torch.equal(a["tensors"][k], b["tensors"][k]), k
    for key in ("flags", "hooks", "grad", "requires_grad"):
        assert a[key] == b[key], key
    assert torch.equal(a["rng"], b["rng"])


@pytest.mark.parametrize("method", ["fx", "hooks"])
def test_capture_in_train_mode_changes_nothing_and_records_inference(method: str) -> None:
    model = net()
    x = torch.rand(4, 3, 12, 12)
    model(x)  # some running statistics first, as a user mid-training has
    before = state(model)
    one = capture(model, x, method=method)
    assert_same(before, state(model))
    two = capture(model, x, method=method)
    for a, b in zip(one, two, strict=True):  # dropout off: the same input gives the same activations
        assert a.tensor is None or torch.equal(a.tensor, b.tensor), a.name
    model.eval()
    with torch.no_grad():
        expected = model(x)
    model.train()
    model[1].eval()
    assert torch.allclose(one.nodes[-1].tensor, expected)  # inference activations


@pytest.mark.parametrize("method", ["fx", "hooks"])
def test_train_mode_activations_on_request_and_the_statistics_restored(method: str) -> None:
    model = net()
    x = torch.rand(4, 3, 12, 12) * 5
    before = state(model)
    trained = capture(model, x, method=method, train=True)
    assert_same(before, state(model))
    inference = capture(model, x, method=method)
    bn = trained.node("5")  # the last BatchNorm
    assert not torch.allclose(bn.tensor, inference.node(bn.name).tensor)  # batch statistics, not running ones


@pytest.mark.parametrize("method", ["fx", "hooks"])
@pytest.mark.parametrize("error", [RuntimeError("broken layer"), KeyboardInterrupt()])
def test_a_capture_that_fails_half_way_leaves_the_model_as_found(method: str, error: BaseException) -> None:
    model = net(Boom(error))
    x = torch.rand(2, 3, 12, 12)
    before = state(model)
    expected = Viz3dError if isinstance(error, Exception) else KeyboardInterrupt
    with torch.enable_grad(), pytest.raises(expected):
        capture(model, x, method=method)
    assert_same(before, state(model))


def test_meta_tensors_and_empty_batches_are_one_line_errors() -> None:
    with torch.device("meta"):
        meta = nn.Sequential(nn.Conv2d(3, 4, 3))
    with pytest.raises(Viz3dError, match="meta device"):
        capture(meta, torch.rand(1, 3, 8, 8))
    with pytest.raises(Viz3dError, match="meta tensor"):
        capture(nn.Sequential(nn.Conv2d(3, 4, 3)), torch.empty(1, 3, 8, 8, device="meta"))
    with pytest.raises(Viz3dError, match="batch is empty"):
        capture(nn.Sequential(nn.Conv2d(3, 4, 3)), torch.rand(0, 3, 8, 8))


class Ema(nn.Module):
    """Assigns a new tensor to a buffer slot in forward (fx would leave a Proxy there)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.register_buffer("ema", torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        self.ema = 0.9 * self.ema + 0.1 * y.mean()
        return y


@pytest.mark.parametrize("method", ["fx", "hooks"])
def test_a_forward_that_replaces_a_buffer_leaves_the_original_in_its_slot(method: str) -> None:
    import io

    model = Ema()
    original = model.ema
    capture(model, torch.rand(1, 3, 8, 8), method=method)
    assert model._buffers["ema"] is original and float(original) == 0.0
    torch.save(model.state_dict(), io.BytesIO())  # a Proxy left behind would not pickle
