"""Deep networks one block at a time (issue 13, item 2): folded to fit, one block opened in place, closed again."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import viz3d
from viz3d.capture.folding import Folding, block_of, closed
from viz3d.layout import layout_trace
from viz3d.renderer.scene_renderer import folded_layers
from viz3d.scene.keymap import KEYMAP
from viz3d.session import Session, ViewOptions


def block(c: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU())


class Staged(nn.Module):
    """Three stages of two blocks of three layers: 18 leaf layers in 3 stages, 6 blocks."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, padding=1)
        self.stage1 = nn.Sequential(block(4), block(4))
        self.stage2 = nn.Sequential(block(4), block(4))
        self.stage3 = nn.Sequential(block(4), block(4))
        self.head = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stage3(self.stage2(self.stage1(self.stem(x))))
        return self.head(x.mean((2, 3)))


def names(trace: viz3d.Trace) -> list[str]:
    return [n.name for n in trace.nodes]


def test_folding_rules() -> None:
    f = Folding(1, frozenset({"stage2"}))
    assert f.folds("stage1") and not f.folds("stage2") and f.folds("stage2.0") and not f.folds("")
    assert not Folding().folds("stage1")
    assert block_of("stage2.0.1", {"stage2", "stage2.0"}) == "stage2.0" and block_of("stage1.0", {"stage2"}) is None
    assert closed({"stage2", "stage2.0", "stage3"}, "stage2") == {"stage3"}


@pytest.mark.parametrize("method", ["fx", "hooks"])
def test_an_opened_block_shows_its_modules_and_its_neighbours_stay_folded(method: str) -> None:
    x = torch.rand(1, 3, 8, 8)
    trace = viz3d.trace(Staged().eval(), x, group_depth=1, open_blocks=["stage2"], method=method)
    shown = names(trace)
    assert shown[:3] == ["input", "stem", "stage1"] and shown[-3:] == ["stage3", "mean", "head"]
    assert shown[3:5] == ["stage2.0", "stage2.1"]  # its blocks, folded at the next depth
    deeper = viz3d.trace(Staged().eval(), x, group_depth=1, open_blocks=["stage2", "stage2.1"], method=method)
    assert names(deeper)[3:7] == ["stage2.0", "stage2.1.0", "stage2.1.1", "stage2.1.2"]


def test_a_long_network_opens_folded_at_the_deepest_depth_that_fits() -> None:
    model = Staged().eval()
    x = torch.rand(1, 3, 8, 8)
    leaves = len(viz3d.trace(model, x))
    session = Session.from_model(model, x, options=ViewOptions(max_slabs=12))
    assert leaves > 12 and session.options.group_depth == 2 and session.options.fold_depth == 2
    assert len(session.trace) <= 12 and "stage2.1" in names(session.trace)
    assert f"{leaves} units folded to {len(session.trace)} blocks at depth 2" in session.current_message()
    tight = Session.from_model(model, x, options=ViewOptions(max_slabs=8))
    assert tight.options.group_depth == 1 and names(tight.trace)[2] == "stage1"
    assert Session.from_model(model, x, options=ViewOptions(max_slabs=None)).options.group_depth is None
    assert Session.from_model(model, x, options=ViewOptions(group_depth=1, max_slabs=3)).options.group_depth == 1


def test_o_opens_a_block_in_place_and_closes_it_from_inside() -> None:
    session = Session.from_model(Staged().eval(), torch.rand(1, 3, 8, 8), options=ViewOptions(max_slabs=8))
    before = names(session.trace)
    session.toggle_block("stage2")
    after = names(session.trace)
    assert session.options.open_blocks == {"stage2"} and "opened stage2" in session.current_message()
    assert after == [*before[:3], "stage2.0", "stage2.1", *before[4:]]
    assert session.flight is not None  # on its way to the opened block
    assert session.flight.end.target[2] == pytest.approx(session.layout.slab(3).center[2], abs=20)
    session.toggle_block("stage2.1")  # a folded block inside the opened one opens too
    assert session.options.open_blocks == {"stage2", "stage2.1"}
    session.toggle_block("stage2.1.0")  # a layer inside: its block closes
    assert session.options.open_blocks == {"stage2"}
    session.toggle_block("stage2.1")
    session.close_block("stage2.1.2")  # Shift-O: the innermost opened block closes
    assert session.options.open_blocks == {"stage2"}
    session.toggle_block("stage2.1")
    session.close_block("stage2.0")  # a folded unit of stage2: stage2 closes, and what was opened in it
    assert session.options.open_blocks == frozenset() and names(session.trace) == before
    session.toggle_block("stem")
    assert "single layer" in session.current_message()
    session.toggle_folding()  # G: leaf modules, every block open
    assert session.options.group_depth is None and session.options.open_blocks == frozenset()


def test_the_key_and_the_label_of_a_folded_block() -> None:
    binding = next(b for b in KEYMAP if b.action == "toggle_block_at_cursor")
    assert binding.keys == ("O",) and sum("O" in b.keys for b in KEYMAP) == 1
    trace = viz3d.trace(Staged().eval(), torch.rand(1, 3, 8, 8), group_depth=1)
    assert folded_layers(trace.node("stage1")) == 6 and folded_layers(trace.node("stem")) == 0


def test_gradient_views_follow_the_opened_blocks() -> None:
    session = Session.from_model(Staged().eval(), torch.rand(1, 3, 8, 8), options=ViewOptions(max_slabs=8))
    session.toggle_block("stage3")
    session.update(show="gradients")
    assert names(session.trace) == names(session.captured) and "stage3.1" in names(session.trace)


def test_opening_a_block_keeps_the_arrangement_auto_chose() -> None:
    first = nn.Sequential(*[nn.Conv2d(2, 2, 1) for _ in range(8)])
    model = nn.Sequential(first, *[nn.Sequential(nn.Conv2d(2, 2, 1), nn.ReLU()) for _ in range(19)]).eval()
    session = Session.from_model(model, torch.rand(1, 2, 4, 4), options=ViewOptions(max_slabs=30))
    assert session.options.group_depth == 1 and session.layout.arrangement == "line"  # 21 ranks
    session.toggle_block("0")
    assert len(session.trace) == 28 and session.layout.arrangement == "line"  # past 24 ranks, yet not flipped
    session.toggle_folding()  # G: a new picture of the whole network, auto decides again
    assert session.layout.arrangement == "rows"


def nested(shape: list) -> nn.Module:
    """A Sequential tree: an int is that many 1x1 convs in a row, a list a Sequential of its items."""
    if isinstance(shape, int):
        return nn.Sequential(*[nn.Conv2d(2, 2, 1) for _ in range(shape)])
    return nn.Sequential(*[nested(item) for item in shape])


trees = st.recursive(st.integers(1, 3), lambda inner: st.lists(inner, min_size=1, max_size=3), max_leaves=10)


@settings(max_examples=25, deadline=None)
@given(tree=st.lists(trees, min_size=2, max_size=4), pick=st.integers(0, 100))
def test_opening_any_block_leaves_the_others_folded_and_no_slabs_overlap(tree: list, pick: int) -> None:
    model = nested(tree).eval()
    x = torch.rand(1, 2, 3, 3)
    folded = viz3d.trace(model, x, group_depth=1)
    blocks = [n.name for n in folded.nodes if n.module is not None and any(True for _ in n.module.children())]
    if not blocks:
        return
    block = blocks[pick % len(blocks)]
    opened = viz3d.trace(model, x, group_depth=1, open_blocks=[block])
    inside = [n.name for n in opened.nodes if n.name.startswith(block + ".")]
    outside = [n.name for n in opened.nodes if not n.name.startswith(block + ".")]
    assert outside == [n for n in names(folded) if n != block]  # every other block exactly as folded
    children = [f"{block}.{name}" for name, _ in dict(model.named_modules())[block].named_children()]
    assert inside == children  # the block's own modules, each one unit (folded again if it has children)
    for arrangement in ("line", "rows"):
        slabs = layout_trace(opened, arrangement=arrangement).slabs
        for i, a in enumerate(slabs):
            for b in slabs[i + 1 :]:
                apart = (a.hi <= b.lo + 1e-9) | (b.hi <= a.lo + 1e-9)
                assert apart.any(), (a.node_id, b.node_id)
