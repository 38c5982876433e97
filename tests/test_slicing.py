"""Slices are ops of their own: values, edges, receptive fields and weight links through them, on both capture paths.

Every model is conv -> <slicing> -> one conv per piece. The reference for
values is torch itself; for receptive fields, the non-zero support of
torch.autograd's gradient of the selected unit, both at the input and at
the sliced tensor (which is where a wrong channel mapping would show).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch
from torch import nn

from viz3d.capture import capture
from viz3d.capture.display_regions import display_region
from viz3d.capture.receptive_field import Region, receptive_field, unit_region
from viz3d.capture.slicing import apply_slice, describe, item_specs, slice_spec
from viz3d.capture.trace import Node, Trace
from viz3d.capture.weights import top_weight_links
from viz3d.layout import layout_trace
from viz3d.layout.connections import region_rect
from viz3d.session.unit_links import unit_connections

Cut = Callable[[torch.Tensor], tuple[torch.Tensor, ...]]
Pieces = Callable[[torch.Tensor], list[torch.Tensor]]


def _split(y: torch.Tensor) -> tuple[torch.Tensor, ...]:
    a, b = torch.split(y, [3, 5], dim=1)
    return b, a


def _chunk(y: torch.Tensor) -> tuple[torch.Tensor, ...]:
    a, b = y.chunk(2, dim=1)
    return a, b


def _unbind(y: torch.Tensor) -> tuple[torch.Tensor, ...]:
    a, _b, c, _d, _e, _f, _g, _h = torch.unbind(y, 1)
    return (torch.stack([c, a], dim=1),)


# name: (what the model does to y, torch's own values of the nodes it adds, in order)
CASES: dict[str, tuple[Cut, Pieces]] = {
    "getitem": (lambda y: (y[:, 4:],), lambda y: [y[:, 4:]]),
    "split": (_split, lambda y: [y[:, :3], y[:, 3:]]),
    "chunk": (_chunk, lambda y: [y[:, :4], y[:, 4:]]),
    "narrow": (lambda y: (y.narrow(1, 2, 4),), lambda y: [y[:, 2:6]]),
    "unbind": (_unbind, lambda y: [y[:, 0], y[:, 2], torch.stack([y[:, 2], y[:, 0]], 1)]),
    "fancy_index": (lambda y: (y[:, [3, 1]],), lambda y: [y.index_select(1, torch.tensor([3, 1]))]),
    "spatial": (lambda y: (y[:, :, 2:6, 1:],), lambda y: [y.narrow(2, 2, 4).narrow(3, 1, 7)]),
    "chunk_then_cat": (
        lambda y: (torch.cat(y.chunk(4, 1)[2:], 1),),
        lambda y: [y[:, 4:6], y[:, 6:8], y[:, 4:8]],
    ),
}


class Sliced(nn.Module):
    """pre conv (8 channels) -> cut -> one 3x3 conv per piece the cut returns."""

    def __init__(self, cut: Cut) -> None:
        super().__init__()
        self.cut = cut
        self.pre = nn.Conv2d(3, 8, 3, padding=1)
        widths = [p.shape[1] for p in cut(torch.zeros(1, 8, 8, 8))]
        self.post = nn.ModuleList(nn.Conv2d(w, 2, 3, padding=1) for w in widths)
        torch.manual_seed(3)
        for p in self.parameters():
            nn.init.uniform_(p, 0.01, 0.05)  # no accidental zero gradients
        with torch.no_grad():
            for conv in self.post:  # kernels grow with the input channel, so weight links have an order
                conv.weight.copy_(0.01 * torch.arange(1, conv.in_channels + 1).view(1, -1, 1, 1).expand_as(conv.weight))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        pieces = self.cut(self.pre(x))
        return tuple(conv(p) for conv, p in zip(self.post, pieces, strict=True))


def _support(grad: torch.Tensor) -> Region:
    """Channels and bounding box of the non-zero entries of a (C, H, W) gradient."""
    nz = grad.abs() > 0
    chans = frozenset(int(i) for i in torch.nonzero(nz.any(2).any(1)).flatten())
    rows, cols = torch.nonzero(nz.any(0).any(1)).flatten(), torch.nonzero(nz.any(0).any(0)).flatten()
    return Region(chans, int(rows.min()), int(rows.max()), int(cols.min()), int(cols.max()))


def _unit(node: Node) -> tuple[int, int, int]:
    """A unit off the centre of the node's shown maps: (last channel, middle row, column 1)."""
    assert node.display is not None
    c, h, w = (int(v) for v in node.display.shape)
    return c - 1, h // 2, min(1, w - 1)


def _unit_value(t: torch.Tensor, unit: tuple[int, int, int]) -> torch.Tensor:
    c, y, x = unit
    return t[0, c, y, x] if t.dim() == 4 else t[0, y, x]  # (N, H, W): one map shown as channel 0


def _reference(model: Sliced, x: torch.Tensor, pieces: Pieces) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
    """With autograd on: the input, the sliced tensor y, and every node after it (pieces, then post convs)."""
    xg = x.clone().requires_grad_(True)
    y = model.pre(xg)
    y.retain_grad()
    fed = model.cut(y)
    return xg, y, [*pieces(y), *(conv(p) for conv, p in zip(model.post, fed, strict=True))]


def _assert_region(region: Region, expected: Region, channels: int) -> None:
    assert (region.y0, region.y1, region.x0, region.x1) == (expected.y0, expected.y1, expected.x0, expected.x1)
    assert (region.channels if region.channels is not None else frozenset(range(channels))) == expected.channels
    assert region.exact


def _after_pre(trace: Trace) -> list[Node]:
    return trace.nodes[trace.node("pre").id + 1 :]


@pytest.mark.parametrize("method", ["fx", "hooks"])
@pytest.mark.parametrize("case", list(CASES))
def test_values_edges_and_receptive_fields_through_slices(case: str, method: str) -> None:
    cut, pieces = CASES[case]
    model = Sliced(cut)
    x = torch.rand(1, 3, 8, 8) + 0.1
    trace = capture(model, x, method=method)
    assert trace.method == method
    xg, y, after = _reference(model, x, pieces)
    nodes = _after_pre(trace)
    assert len(nodes) == len(after), [n.name for n in nodes]
    pre = trace.node("pre")
    torch.testing.assert_close(pre.tensor, y.detach())
    for node, value in zip(nodes, after, strict=True):
        # Every recorded activation is torch's own value.
        assert node.tensor is not None
        torch.testing.assert_close(node.tensor, value.detach(), rtol=0, atol=0)
        # The unit's receptive field is the support of its gradient, at the input and at y.
        unit = _unit(node)
        xg.grad, y.grad = None, None
        _unit_value(value, unit).backward(retain_graph=True)
        assert xg.grad is not None and y.grad is not None
        regions = receptive_field(trace, node.id, *unit)
        _assert_region(regions[pre.id], _support(y.grad[0]), 8)
        _assert_region(regions[trace.node("input").id], _support(xg.grad[0]), 3)
    for k, conv in enumerate(model.post):
        # The edge into the next layer exists and carries exactly what the conv read.
        post = trace.node(f"post.{k}")
        assert post.module is conv
        source = trace.nodes[post.inputs[0]]
        assert trace.parents(post.id) == [source.id]
        assert source.kind in ("slice", "merge") and source.id > pre.id
        with torch.no_grad():
            torch.testing.assert_close(post.tensor, conv(source.tensor))


@pytest.mark.parametrize("method", ["fx", "hooks"])
@pytest.mark.parametrize("case", list(CASES))
def test_weight_links_point_at_the_channels_the_conv_reads(case: str, method: str) -> None:
    cut, pieces = CASES[case]
    model = Sliced(cut)
    x = torch.rand(1, 3, 8, 8) + 0.1
    trace = capture(model, x, method=method)
    _, y, _ = _reference(model, x, pieces)
    fed = model.cut(y)
    pre = trace.node("pre")
    for k, conv in enumerate(model.post):
        post = trace.node(f"post.{k}")
        source = trace.nodes[post.inputs[0]]
        links = top_weight_links(trace, post.id, output=1, k=3)
        strongest = conv.in_channels - 1  # the kernels grow with the input channel
        assert [link.source for link in links] == [strongest, strongest - 1, strongest - 2][: conv.in_channels]
        for link in links:
            # The link's channel of the slice node is the conv's input channel, and it reads
            # the channel of y that autograd says it does.
            torch.testing.assert_close(source.tensor[:, link.source], fed[k][:, link.source].detach())
            y.grad = None
            fed[k][0, link.source, 0, 0].backward(retain_graph=True)
            assert y.grad is not None
            expected = _support(y.grad[0]).channels
            assert len(expected) == 1
            assert receptive_field(trace, source.id, link.source, 0, 0)[pre.id].channels == expected


def test_both_paths_record_the_same_slice_graph() -> None:
    for case, (cut, _) in CASES.items():
        model = Sliced(cut)
        x = torch.rand(1, 3, 8, 8)
        fx_trace, hook_trace = capture(model, x, method="fx"), capture(model, x, method="hooks")
        shape = [(n.op, n.kind, n.shape, n.inputs) for n in fx_trace]
        assert shape == [(n.op, n.kind, n.shape, n.inputs) for n in hook_trace], case


def test_slice_nodes_say_what_they_hold() -> None:
    ops = {}
    for case, (cut, _) in CASES.items():
        trace = capture(Sliced(cut), torch.rand(1, 3, 8, 8))
        ops[case] = [n.op for n in _after_pre(trace) if n.kind == "slice"]
    assert ops["getitem"] == ["getitem[:, 4:]"]
    assert ops["split"] == ["split[:, :3]", "split[:, 3:]"]
    assert ops["narrow"] == ["narrow[:, 2:6]"]
    assert ops["unbind"] == ["unbind[:, 0]", "unbind[:, 2]"]
    assert ops["fancy_index"] == ["getitem[:, [3, 1]]"]
    assert ops["spatial"] == ["getitem[:, :, 2:6, 1:]"]
    unbind = capture(Sliced(_unbind), torch.rand(1, 3, 8, 8), method="hooks")
    piece = unbind.node("unbind[2]")
    assert piece.display is not None and tuple(piece.display.shape) == (1, 8, 8)  # one map, not 8 "tokens"
    assert piece.display_note == ""


@pytest.mark.parametrize("method", ["fx", "hooks"])
def test_a_row_of_every_channel_is_shown_as_signals_and_maps_back_exactly(method: str) -> None:
    class Row(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.pre = nn.Conv2d(2, 4, 3, padding=1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.pre(x)[:, :, 3]

    trace = capture(Row(), torch.rand(1, 2, 6, 5), method=method)
    row = trace.nodes[-1]
    assert row.display is not None and tuple(row.display.shape) == (4, 1, 5)  # 4 signals of length 5
    r = receptive_field(trace, row.id, 2, 0, 4)[trace.node("pre").id]
    assert r.channels == frozenset({2}) and (r.y0, r.y1, r.x0, r.x1) == (3, 3, 4, 4) and r.exact


@pytest.mark.parametrize("method", ["fx", "hooks"])
def test_slices_that_cannot_be_mapped_are_kept_and_marked_approximate(method: str) -> None:
    class Odd(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.pre = nn.Conv2d(2, 4, 3, padding=1)
            self.post = nn.Conv2d(4, 2, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.pre(x)
            # Two index lists pair up elementwise; slicing the batch leaves no per-sample mapping.
            return self.post(y[1:]) + y[:1, [0, 1], [2, 3]].sum()

    trace = capture(Odd(), torch.rand(2, 2, 6, 6), method=method)
    cuts = [n for n in trace if n.kind == "slice"]
    assert len(cuts) == 2 and all(n.spec.kind == "unknown" for n in cuts)
    post = trace.node("post")
    assert trace.nodes[post.inputs[0]].kind == "slice"
    r = receptive_field(trace, post.id, 0, 2, 2)[trace.node("pre").id]
    assert not r.exact and r.channels is None


_ = slice(None)
INDEXES: list[tuple[object, str | None]] = [
    ((_, slice(4, None)), "[:, 4:]"),
    ((_, [1, 3]), "[:, 1:5:2]"),
    ((_, [-1, 0]), "[:, [7, 0]]"),
    ((_, _, slice(2, 6), slice(1, None)), "[:, :, 2:, 1:]"),
    ((_, 2), "[:, 2]"),
    ((_, -1, 3), "[:, 7, 3]"),
    ((Ellipsis, 1), "[:, :, :, 1]"),
    ((_, Ellipsis, slice(1, 3)), "[:, :, :, 1:3]"),
    ((_, None), "[:, None]"),
    ((_, slice(None, None, 2)), "[:, ::2]"),
    ((_, torch.tensor([True, False] * 4)), "[:, ::2]"),
    ((_, torch.tensor(3)), "[:, 3]"),
    ((_, [3, 1], 2), "[:, [3, 1], 2]"),
    ((_, 0, [1, 2]), "[:, 0, 1:3]"),
    ((_, [1, 2], _, 0), None),  # torch moves the indexed dim to the front
    ((_, [1, 2], [0, 1]), None),  # two index lists pair up elementwise
    ((0,), None),  # the batch dim itself
    ((slice(1, None),), None),
]


@pytest.mark.parametrize(("index", "shown"), INDEXES)
def test_index_expressions_map_exactly_or_not_at_all(index: object, shown: str | None) -> None:
    x = torch.arange(2 * 8 * 6 * 5, dtype=torch.float32).reshape(2, 8, 6, 5)  # every value says where it came from
    spec = slice_spec("getitem", (x, index), {}, x[index])  # type: ignore[index]
    if shown is None:
        assert spec.kind == "unknown"
        return
    assert spec.kind == "slice" and describe(spec, x.shape) == shown
    assert torch.equal(apply_slice(spec, x), x[index])  # type: ignore[index]


def test_narrow_select_and_index_select_map_exactly() -> None:
    x = torch.arange(2 * 8 * 6 * 5, dtype=torch.float32).reshape(2, 8, 6, 5)
    for name, args, shown in [
        ("narrow", (x, 1, 2, 4), "[:, 2:6]"),
        ("narrow", (x, -1, -3, 2), "[:, :, :, 2:4]"),
        ("select", (x, 2, -1), "[:, :, 5]"),
        ("index_select", (x, 1, torch.tensor([5, 0])), "[:, [5, 0]]"),
    ]:
        out = getattr(torch, name)(*args)
        spec = slice_spec(name, args, {}, out)
        assert describe(spec, x.shape) == shown and torch.equal(apply_slice(spec, x), out), name
    assert slice_spec("narrow", (x, 0, 1, 1), {}, x.narrow(0, 1, 1)).kind == "unknown"


def test_multi_output_ops_map_each_piece() -> None:
    x = torch.arange(2 * 8 * 6 * 5, dtype=torch.float32).reshape(2, 8, 6, 5)
    for name, args, kwargs, shown in [
        ("split", (x, [3, 5]), {"dim": 1}, ["[:, :3]", "[:, 3:]"]),
        ("split", (x, 4, -1), {}, ["[:, :, :, :4]", "[:, :, :, 4:]"]),
        ("chunk", (x, 2), {"dim": 1}, ["[:, :4]", "[:, 4:]"]),
        ("tensor_split", (x, 3, 1), {}, ["[:, :3]", "[:, 3:6]", "[:, 6:]"]),
        ("unbind", (x, 2), {}, [f"[:, :, {i}]" for i in range(6)]),
    ]:
        outs = getattr(torch, name)(*args, **kwargs)
        specs = item_specs(name, args, kwargs, outs)
        assert [describe(s, x.shape) for s in specs] == shown, name
        assert all(torch.equal(apply_slice(s, x), o) for s, o in zip(specs, outs, strict=True))
    assert [s.kind for s in item_specs("chunk", (x, 2, 0), {}, x.chunk(2, 0))] == ["unknown", "unknown"]


class Tokens(nn.Module):
    """(N, L, 8) tokens -> linear -> drop the class token -> keep 4 features."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(8, 6)

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        return self.proj(t)[:, 1:, 2:]


@pytest.mark.parametrize("method", ["fx", "hooks"])
def test_token_slices_map_to_the_flat_positions_autograd_finds(method: str) -> None:
    model = Tokens()
    t = torch.rand(1, 17, 8)
    trace = capture(model, t, method=method)
    cut, proj = trace.nodes[-1], trace.node("proj")
    assert cut.op == "getitem[:, 1:, 2:]"
    assert cut.display is not None and tuple(cut.display.shape) == (4, 4, 4)  # 16 tokens as a 4x4 grid
    tg = torch.zeros(1, 17, 6, requires_grad=True)  # stands in for proj's output
    for c, y, x in [(0, 0, 0), (3, 2, 1), (1, 3, 3)]:
        tg.grad = None
        tg[:, 1:, 2:].transpose(1, 2).reshape(1, 4, 4, 4)[0, c, y, x].backward()
        assert tg.grad is not None
        expected = frozenset(int(i) for i in torch.nonzero(tg.grad[0].flatten()).flatten())
        region = receptive_field(trace, cut.id, c, y, x)[proj.id]
        assert region.features == expected and region.exact
        # and drawn on proj's slab (17 tokens: class token + 4x4 grid) at that token's cell
        shown = display_region(proj, region)
        assert shown.channels == frozenset({c + 2}) and (shown.y0, shown.x0) == (y, x) == (shown.y1, shown.x1)


def test_display_units_of_two_dimensional_outputs_round_trip() -> None:
    class TwoD(nn.Module):
        def forward(self, y: torch.Tensor) -> tuple[torch.Tensor, ...]:
            return y[:, :, 3], y[:, 1], y.flatten(2).transpose(1, 2)[:, 1:]

    trace = capture(TwoD(), torch.rand(1, 3, 4, 4))
    nodes = [n for n in trace if len(n.shape) == 3]
    # signals, one map, a sequence (3 x 16 is no grid), tokens (16 as 4x4), a sequence of 15
    shown = [tuple(n.display.shape) for n in nodes if n.display is not None]
    assert shown == [(3, 1, 4), (1, 4, 4), (1, 3, 16), (3, 4, 4), (1, 15, 3)]
    for node in nodes:
        assert node.display is not None
        for c in range(int(node.display.shape[0])):
            for y in range(int(node.display.shape[1])):
                x = int(node.display.shape[2]) - 1
                r = display_region(node, unit_region(node, c, y, x))
                channels = r.channels if r.channels is not None else frozenset(range(int(node.display.shape[0])))
                assert (channels, r.y0, r.y1, r.x0, r.x1) == (frozenset({c}), y, y, x, x)


@pytest.mark.parametrize("method", ["fx", "hooks"])
def test_the_cone_is_outlined_on_each_piece_of_an_unbind(method: str) -> None:
    trace = capture(Sliced(_unbind), torch.rand(1, 3, 8, 8), method=method)
    layout = layout_trace(trace)
    post = trace.node("post.0")
    sets = unit_connections(trace, layout, post.id, 1, 4, 1, kinds=("rf", "weights"))
    corners = sets["rf"][0].p0[:, :2]
    for name in ("unbind[0]", "unbind[2]"):
        # 3x3 conv at (4, 1) reads rows 3..5, cols 0..2 of both stacked maps.
        x0, y0, x1, y1 = region_rect(layout.slab(trace.node(name).id), 0, (3, 5, 0, 2), (8, 8))
        assert np.isclose(corners, [x0, y0]).all(axis=1).any() and np.isclose(corners, [x1, y1]).all(axis=1).any()
    assert len(sets["weights"][0]) == 2  # the two stacked maps, on the stack's slab
