"""The layer search: ranking on real ResNet-50 module names, the session's search actions, and the window's keys."""

from __future__ import annotations

import pytest
import torch

from tests.fakes import FakeClock
from viz3d.models.default_net import default_model
from viz3d.models.shapes import sample_image
from viz3d.scene.search import layer_score, rank_layers, word_score
from viz3d.session import Session

BLOCK = ("conv1", "bn1", "relu", "conv2", "bn2", "relu#2", "conv3", "bn3", "add", "relu#3")
TYPES = {"c": "Conv2d", "b": "BatchNorm2d", "r": "ReLU", "a": "add", "d": "Conv2d"}


def resnet50_names() -> list[tuple[str, str]]:
    """(name, type) of a torchvision ResNet-50's units as viz3d's capture names them, in network order."""
    names = [("x", "input"), ("conv1", "Conv2d"), ("bn1", "BatchNorm2d"), ("relu", "ReLU"), ("maxpool", "MaxPool2d")]
    for stage, blocks in ((1, 3), (2, 4), (3, 6), (4, 3)):
        for b in range(blocks):
            units = list(BLOCK)
            if b == 0:
                units[8:8] = ["downsample.0", "downsample.1"]
            names += [(f"layer{stage}.{b}.{u}", TYPES[u[0]] if u != "downsample.1" else "BatchNorm2d") for u in units]
    return [*names, ("avgpool", "AdaptiveAvgPool2d"), ("flatten", "flatten"), ("fc", "Linear")]


NAMES = resnet50_names()


def found(query: str, limit: int = 6) -> list[str]:
    return [NAMES[i][0] for i in rank_layers(query, NAMES, limit)]


def test_l3_conv2_finds_layer3_conv2_in_block_order() -> None:
    assert found("l3 conv2") == [f"layer3.{b}.conv2" for b in range(6)]


def test_exact_and_partial_names_rank_first() -> None:
    assert found("layer4.2.relu#3")[0] == "layer4.2.relu#3"
    assert found("fc")[0] == "fc"
    assert found("l2 1 add")[0] == "layer2.1.add"
    assert found("down l4")[:2] == ["layer4.0.downsample.0", "layer4.0.downsample.1"]


def test_types_match_too_and_everything_needs_every_word() -> None:
    assert found("batchnorm l1", 3) == ["layer1.0.bn1", "layer1.0.bn2", "layer1.0.bn3"]
    assert found("maxpool") == ["maxpool"]
    assert found("avgpool")[0] == "avgpool"
    assert found("l3 zzz") == []
    assert found("") == [n for n, _ in NAMES[:6]]  # nothing typed: the network in order


def test_scores_order_segment_prefix_substring_and_letters() -> None:
    text = "layer3.1.conv2"
    scores = [word_score(w, text) for w in ("conv2", "conv", "onv", "l3", "lc2")]
    assert scores == sorted(scores, reverse=True) and scores[-1] > 0
    assert word_score("q", text) == 0
    assert layer_score("l3 conv2", "layer3.1.conv2", "Conv2d") > layer_score("l3 conv2", "layer1.0.conv3", "Conv2d")


@pytest.fixture
def session() -> Session:
    x = torch.from_numpy(sample_image(0))[None]
    return Session.from_model(default_model(), [x], size=(320, 200), clock=FakeClock())


def test_session_search_types_chooses_and_flies(session: Session) -> None:
    fired: list[str] = []
    session.events.changed.append(fired.append)
    assert not session.search_open and session.search_results() == []
    session.open_search()
    assert session.search_open and len(session.search_results()) == 8  # every layer, the first 8 shown
    session.type_search("block")
    session.type_search(" conv")
    names = [session.trace.nodes[i].name for i in session.search_results()]
    assert names == ["block.conv1", "block.conv2"]
    session.move_search(5)  # clamped to the last result
    assert session.search_choice == 1
    session.move_search(-1)
    session.move_search(1)
    assert "search" in fired
    session.go_to_search_choice()
    target = session.trace.node("block.conv2").id
    assert not session.search_open and session.flight is not None
    assert session.focus_index == [s.node_id for s in session.layout.slabs].index(target)
    assert "block.conv2 (Conv2d)" in session.current_message()


def test_no_match_stays_open_and_says_so(session: Session) -> None:
    session.open_search()
    session.type_search("qqq")
    session.go_to_search_choice()
    assert session.search_open and session.flight is None
    assert "no layer matches 'qqq'" in session.current_message()
    session.erase_search()
    assert session.search_query == "qq"
    session.close_search()
    assert not session.search_open
