"""The answer as words: softmax, top-5 names, the panel in 3D and in the HUD (issue 12, item 2)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

import viz3d
from viz3d.class_names import class_names_for, imagenet_classes, read_labels
from viz3d.cli import main
from viz3d.export.offscreen import OffscreenView
from viz3d.models.default_net import default_model
from viz3d.models.shapes import CLASSES, sample_image
from viz3d.renderer.prediction_image import panel_image
from viz3d.scene.labels import project
from viz3d.session import Session, ViewOptions
from viz3d.session.prediction import classifier_node

SIZE = (640, 400)


def sample(i: int) -> torch.Tensor:
    return torch.from_numpy(sample_image(i))[None]


@pytest.mark.parametrize("i", range(len(CLASSES)))
def test_the_panel_names_the_right_shape_for_each_sample(i: int) -> None:
    session = Session.from_model(default_model(), sample(i))
    p = session.shown_prediction()
    assert p is not None and p.node_name == "fc" and p.classes == 6
    assert p.top[0].index == i and p.top[0].name == CLASSES[i]
    assert [s.name for s in p.top] == [CLASSES[s.index] for s in p.top] and len(p.top) == 5
    assert p.total == pytest.approx(1.0, abs=1e-5)  # the softmax over all six classes
    assert sum(s.probability for s in p.top) <= 1.0 + 1e-6
    assert [s.probability for s in p.top] == sorted((s.probability for s in p.top), reverse=True)
    picture = panel_image(p)
    assert picture.rows[0][2] == i and picture.image.shape == (640, 1024, 4)
    assert p.headline().startswith(f"prediction: {CLASSES[i]} ")


@pytest.mark.gl
def test_the_panel_is_drawn_in_3d_and_a_click_on_a_bar_selects_that_logit(gl: Any) -> None:
    session = Session.from_model(default_model(), sample(5), size=SIZE)
    p = session.shown_prediction()
    quad = session.answer_panel()
    assert p is not None and quad is not None
    corners = session.layout.corner_points()
    assert any(np.allclose(c, corners[-4:]) for c in [quad.corners()])  # framed with the network
    vp = session.view_projection()
    picture = panel_image(p)
    with OffscreenView(session, SIZE) as view:
        shown = view.frame()
        for v0, v1, index in picture.rows:
            # Middle of the row, a third of the way across (over the bar track).
            u, v = 0.6, (v0 + v1) / 2
            world = quad.center + quad.right * quad.width * (u - 0.5) + quad.up * quad.height * (0.5 - v)
            (px, py), _ = project(world[None], vp, SIZE)[0][0], None
            hit = view.pick(int(px), int(py))
            assert hit is not None and (hit.node_id, hit.channel, hit.y, hit.x) == p.unit(index)
        session.update(prediction=False)
        hidden = view.frame()
    centre, _ = project(quad.center[None], vp, SIZE)
    x, y = (int(v) for v in centre[0])
    assert np.abs(shown[y, x, :3].astype(int) - hidden[y, x, :3].astype(int)).sum() > 30
    assert session.answer_panel() is None and not session.layout.extras


def test_choosing_a_class_selects_its_logit_and_the_existing_connections_follow() -> None:
    session = Session.from_model(default_model(), sample(2), options=ViewOptions(connections={"weights", "rf"}))
    p = session.prediction()
    assert p is not None
    session.select_class(4)
    assert session.selection == p.unit(4) and session.selected_class() == 4
    assert "ring" in session.current_message()
    sets = session.connection_sets()
    assert sets["weights"] and sum(len(s.p0) for s in sets["weights"]) == 16  # its 16 strongest weights
    assert sets["rf"]
    with pytest.raises(viz3d.Viz3dError, match=r"classes 0\.\.5"):
        session.select_class(6)


def test_class_names_from_files_the_model_and_imagenet(tmp_path: Path) -> None:
    text = tmp_path / "names.txt"
    text.write_text("cat\n dog \n\nbird\n")
    assert read_labels(text) == ("cat", "dog", "bird")
    listed = tmp_path / "names.json"
    listed.write_text(json.dumps(["a", "b"]))
    assert read_labels(listed) == ("a", "b")
    mapped = tmp_path / "map.json"
    mapped.write_text(json.dumps({"1": "b", "0": "a"}))
    assert read_labels(mapped) == ("a", "b")
    mapped.write_text(json.dumps({"0": "a", "2": "c"}))
    with pytest.raises(viz3d.Viz3dError, match=r"0\.\.K-1"):
        read_labels(mapped)
    assert class_names_for(6, model=default_model()) == CLASSES
    assert class_names_for(1000) == imagenet_classes()
    assert class_names_for(3) == ("class 0", "class 1", "class 2")
    with pytest.raises(viz3d.Viz3dError, match="has 3 names but the classifier output has 2 classes"):
        class_names_for(2, text)


def test_the_imagenet_names_file_has_the_1000_classes_in_index_order() -> None:
    names = imagenet_classes()
    lines = (Path(viz3d.__file__).parent / "data" / "imagenet_classes.txt").read_text().splitlines()
    assert len(names) == len(lines) == 1000
    known = {0: "tench", 1: "goldfish", 207: "golden retriever", 281: "tabby", 285: "Egyptian cat"}
    known |= {409: "analog clock", 817: "sports car", 999: "toilet tissue"}
    assert {i: names[i] for i in known} == known


def test_a_1000_way_output_is_named_with_imagenet_classes() -> None:
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 1000)).eval()
    with torch.no_grad():
        net[3].bias.zero_()
        net[3].bias[817] = 20.0
    p = Session(viz3d.trace(net, torch.rand(1, 3, 16, 16))).prediction()
    assert p is not None and p.top[0].name == "sports car" and p.top[0].probability > 0.99


def test_no_classifier_means_no_panel_and_labels_are_refused() -> None:
    trace = viz3d.trace(nn.Sequential(nn.Conv2d(3, 4, 3)).eval(), torch.rand(1, 3, 8, 8))
    assert classifier_node(trace) is None and Session(trace).shown_prediction() is None
    with pytest.raises(viz3d.Viz3dError, match="no classifier output"):
        Session(trace, class_names=["a", "b"])


def test_cli_labels_with_the_wrong_count_is_one_line_with_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labels = tmp_path / "five.txt"
    labels.write_text("\n".join(CLASSES[:5]))
    out = tmp_path / "x.png"
    assert main(["render", "--labels", str(labels), "--out", str(out), "--size", "64x48", "--ssaa", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert err == (
        f"viz3d: labels file {labels} has 5 names but the classifier output (fc) has 6 classes: "
        "give one name per class, in index order"
    )
    assert not out.exists()
    assert main(["render", "--labels", str(tmp_path / "none.txt"), "--out", str(out)]) == 2
    assert "labels file not found" in capsys.readouterr().err
