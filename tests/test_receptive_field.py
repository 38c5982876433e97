"""Receptive fields: analytic values by hand, and the non-zero region of torch's input gradient."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from viz3d.capture import capture
from viz3d.capture.receptive_field import Region, receptive_field, top_contributions


def test_conv_stack_by_hand() -> None:
    model = nn.Sequential(
        nn.Conv2d(1, 2, 3, padding=1),
        nn.Conv2d(2, 2, 3, stride=2, padding=1),
        nn.MaxPool2d(2),
        nn.Conv2d(2, 2, 3, dilation=2, padding=2),
    )
    trace = capture(model, torch.rand(1, 1, 32, 32))
    r = receptive_field(trace, 4, channel=1, y=2, x=3)
    # dilated conv k3 d2 p2 at (2, 3): rows 2-2 .. 2-2+4, cols 3-2 .. 3-2+4
    assert (r[3].y0, r[3].y1, r[3].x0, r[3].x1) == (0, 4, 1, 5)
    # max pool k2 s2: rows 0 .. 4*2+1, cols 2 .. 5*2+1
    assert (r[2].y0, r[2].y1, r[2].x0, r[2].x1) == (0, 9, 2, 11)
    # conv k3 s2 p1: rows -1 (clipped to 0) .. 9*2-1+2, cols 2*2-1 .. 11*2-1+2
    assert (r[1].y0, r[1].y1, r[1].x0, r[1].x1) == (0, 19, 3, 23)
    # conv k3 p1: one more pixel each side
    assert (r[0].y0, r[0].y1, r[0].x0, r[0].x1) == (0, 20, 2, 24)
    assert r[3].channels is None and r[4].channels == frozenset({1})  # convs mix channels; the unit is one
    assert all(v.exact for v in r.values())


def test_pool_keeps_channels_and_adaptive_bins() -> None:
    model = nn.Sequential(nn.AvgPool2d(3, stride=2, padding=1), nn.AdaptiveAvgPool2d((3, 3)))
    trace = capture(model, torch.rand(1, 4, 20, 20))
    r = receptive_field(trace, 2, channel=2, y=1, x=2)
    # adaptive 10 -> 3 bins: bin 1 = rows 3..6, bin 2 = cols 6..9
    assert (r[1].y0, r[1].y1, r[1].x0, r[1].x1) == (3, 6, 6, 9)
    assert r[1].channels == frozenset({2}) and r[0].channels == frozenset({2})
    assert (r[0].y0, r[0].y1, r[0].x0, r[0].x1) == (5, 13, 11, 19)


def test_depthwise_conv_keeps_the_channel_and_grouped_conv_its_group() -> None:
    model = nn.Sequential(nn.Conv2d(4, 4, 3, padding=1, groups=4), nn.Conv2d(4, 6, 1, groups=2))
    trace = capture(model, torch.rand(1, 4, 8, 8))
    r = receptive_field(trace, 2, channel=4, y=0, x=0)
    assert r[1].channels == frozenset({2, 3})  # out channel 4 is in group 1 = inputs 2, 3
    assert r[0].channels == frozenset({2, 3})


def test_flatten_and_linear_map_back_to_positions() -> None:
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.Flatten(), nn.Linear(2 * 4 * 4, 3))
    trace = capture(model, torch.rand(1, 1, 4, 4))
    flat = trace.node("1")
    assert flat.display is not None
    cols = int(flat.display.shape[2])
    feature = 1 * 16 + 2 * 4 + 3  # channel 1, y 2, x 3
    r = receptive_field(trace, flat.id, 0, feature // cols, feature % cols)
    assert r[1].channels == frozenset({1}) and (r[1].y0, r[1].x0) == (2, 3)
    assert (r[0].y0, r[0].y1, r[0].x0, r[0].x1) == (1, 3, 2, 3)
    r = receptive_field(trace, trace.node("2").id, 0, 0, 1)
    assert r[flat.id].features is None  # a linear unit reads every feature
    assert r[1].channels is None and (r[1].y1, r[1].x1) == (3, 3)


def test_top_contributions_of_a_linear_unit() -> None:
    lin = nn.Linear(6, 2, bias=False)
    with torch.no_grad():
        lin.weight.zero_()
        lin.weight[1] = torch.tensor([0.1, -5.0, 0.0, 2.0, 0.0, 0.5])
    model = nn.Sequential(nn.Identity(), lin)
    trace = capture(model, torch.tensor([[1.0, 1.0, 9.0, 1.0, 9.0, 12.0]]))
    top = top_contributions(trace, 2, feature=1, k=3)
    assert [i for i, _ in top] == [5, 1, 3]
    assert top[1][1] == pytest.approx(-5.0)


class ResLike(nn.Module):
    """Residual blocks with a strided downsample branch; tanh keeps every gradient non-zero."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(2, 4, 3, padding=1)
        self.a1, self.a2 = nn.Conv2d(4, 4, 3, padding=1), nn.Conv2d(4, 4, 3, padding=1)
        self.b1 = nn.Conv2d(4, 8, 3, stride=2, padding=1)
        self.b2 = nn.Conv2d(8, 8, 3, padding=2, dilation=2)
        self.down = nn.Conv2d(4, 8, 1, stride=2)
        self.pool = nn.AvgPool2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.tanh(self.stem(x))
        x = torch.tanh(self.a2(torch.tanh(self.a1(x))) + x)
        x = torch.tanh(self.b2(torch.tanh(self.b1(x))) + self.down(x))
        return self.pool(x)


class InceptionLike(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.p1 = nn.Conv2d(3, 2, 1)
        self.p2a, self.p2b = nn.Conv2d(3, 2, 1), nn.Conv2d(2, 2, 3, padding=1)
        self.p3a, self.p3b = nn.Conv2d(3, 2, 1), nn.Conv2d(2, 2, 5, padding=2)
        self.p4 = nn.AvgPool2d(3, stride=1, padding=1)
        self.head = nn.Conv2d(9, 4, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.cat([self.p1(x), self.p2b(self.p2a(x)), self.p3b(self.p3a(x)), self.p4(x)], dim=1)
        return self.head(torch.tanh(y))


def gradient_region(model: nn.Module, x: torch.Tensor, target: str, c: int, y: int, xx: int) -> Region:
    """Bounding box and channels of the non-zero input gradient of one unit (the reference)."""
    x = x.clone().requires_grad_(True)
    out: dict[str, torch.Tensor] = {}
    if target == "output":
        out["t"] = model(x)
    else:
        handle = model.get_submodule(target).register_forward_hook(lambda m, a, o: out.__setitem__("t", o))
        model(x)
        handle.remove()
    out["t"][0, c, y, xx].backward()
    assert x.grad is not None
    nz = x.grad[0].abs() > 0
    chans = frozenset(int(i) for i in torch.nonzero(nz.any(2).any(1)).flatten())
    rows = torch.nonzero(nz.any(0).any(1)).flatten()
    cols = torch.nonzero(nz.any(0).any(0)).flatten()
    return Region(chans, int(rows.min()), int(rows.max()), int(cols.min()), int(cols.max()))


@pytest.mark.parametrize(
    ("model", "shape", "node", "unit"),
    [
        (ResLike(), (1, 2, 24, 24), "pool", (5, 2, 3)),
        (ResLike(), (1, 2, 24, 24), "b1", (1, 0, 11)),
        (ResLike(), (1, 2, 24, 24), "a2", (3, 11, 12)),
        (InceptionLike(), (1, 3, 16, 16), "head", (2, 3, 7)),
        (InceptionLike(), (1, 3, 16, 16), "p3b", (1, 0, 0)),
    ],
)
def test_regions_equal_the_input_gradient_support(
    model: nn.Module, shape: tuple[int, ...], node: str, unit: tuple[int, int, int]
) -> None:
    torch.manual_seed(1)
    for p in model.parameters():
        nn.init.uniform_(p, 0.01, 0.05)  # no accidental zero weights
    x = torch.rand(shape) + 0.1
    trace = capture(model, x)
    nid = trace.node(node).id
    region = receptive_field(trace, nid, *unit)[trace.node("input").id]
    expected = gradient_region(model, x, node if node != trace.nodes[-1].name else "output", *unit)
    got = (region.y0, region.y1, region.x0, region.x1)
    assert got == (expected.y0, expected.y1, expected.x0, expected.x1)
    assert (region.channels or frozenset(range(shape[1]))) == expected.channels
    assert region.exact


def test_unknown_ops_fall_back_to_everything_and_say_so() -> None:
    class Odd(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return F.interpolate(x, scale_factor=2.0)

    trace = capture(Odd(), torch.rand(1, 2, 4, 4))
    r = receptive_field(trace, 1, 0, 0, 0)
    assert not r[0].exact and (r[0].y1, r[0].x1) == (3, 3) and r[0].channels is None
