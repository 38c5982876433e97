"""Architecture graph export: every node and edge, folding, determinism, formats."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import torch
from PIL import Image
from torch import nn

from tests.models import TinyInception, TinyResNet
from viz3d.capture import capture
from viz3d.cli import main
from viz3d.errors import Viz3dError
from viz3d.graph import build_graph, export_graph, layered_drawing

SVG = "{http://www.w3.org/2000/svg}"


def parse(path: Path) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    root = ET.parse(path).getroot()
    nodes = [g.attrib for g in root.iter(f"{SVG}g") if g.attrib.get("class") == "node"]
    edges = [p.attrib for p in root.iter(f"{SVG}path") if p.attrib.get("class") == "edge"]
    return nodes, edges


@pytest.mark.parametrize("model", [TinyResNet(), TinyInception()])
def test_svg_holds_every_trace_node_and_edge(model: nn.Module, tmp_path: Path) -> None:
    trace = capture(model, torch.rand(1, 3, 16, 16))
    out = tmp_path / "g.svg"
    graph = export_graph(trace, out, fold_repeats=False)
    nodes, edges = parse(out)
    assert [n["data-name"] for n in nodes] == [n.name for n in trace.nodes]
    assert [n["data-kind"] for n in nodes] == [n.kind for n in trace.nodes]
    svg_edges = {(int(e["data-src"]), int(e["data-dst"]), e["data-kind"]) for e in edges}
    assert svg_edges == {(e.src, e.dst, e.kind) for e in trace.edges}
    assert len(graph.nodes) == len(trace.nodes)


def test_output_is_deterministic(tmp_path: Path) -> None:
    trace = capture(TinyInception(), torch.rand(1, 3, 16, 16))
    export_graph(trace, tmp_path / "a.svg")
    export_graph(capture(TinyInception(), torch.rand(1, 3, 16, 16)), tmp_path / "b.svg")
    assert (tmp_path / "a.svg").read_bytes() == (tmp_path / "b.svg").read_bytes()


def test_layout_keeps_ranks_in_order_and_boxes_apart() -> None:
    trace = capture(TinyInception(), torch.rand(1, 3, 16, 16))
    graph = build_graph(trace)
    d = layered_drawing(graph)
    for e in graph.edges:
        assert d.boxes[e.dst].y > d.boxes[e.src].y  # flow goes down
    for i, a in enumerate(d.boxes):
        for b in d.boxes[i + 1 :]:
            if a.y == b.y:
                assert a.right <= b.left or b.right <= a.left
    branch_tops = {d.boxes[n.id].x for n in graph.nodes if n.name in ("b1", "b2a", "b3a", "pool")}
    assert len(branch_tops) == 4  # the four Inception branches sit side by side


class Repeats(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.blocks = nn.Sequential(*[nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.ReLU()) for _ in range(4)])
        self.head = nn.Conv2d(8, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.stem(x)))


def test_identical_blocks_fold_with_their_count(tmp_path: Path) -> None:
    trace = capture(Repeats(), torch.rand(1, 3, 8, 8), group_depth=2)
    graph = build_graph(trace)
    folded = [n for n in graph.nodes if n.count > 1]
    assert len(folded) == 1 and folded[0].count == 4
    assert folded[0].label == "blocks.0 .. blocks.3 (x4)"
    assert [n.name for n in graph.nodes] == ["input", "stem", "blocks.0", "head"]
    export_graph(trace, tmp_path / "f.svg")
    nodes, edges = parse(tmp_path / "f.svg")
    assert [n["data-count"] for n in nodes] == ["1", "1", "4", "1"] and len(edges) == 3


def test_png_and_pdf(tmp_path: Path) -> None:
    trace = capture(TinyResNet(), torch.rand(1, 3, 16, 16))
    export_graph(trace, tmp_path / "g.png")
    export_graph(trace, tmp_path / "g.pdf")
    with Image.open(tmp_path / "g.png") as im:
        assert im.format == "PNG" and im.size[1] > im.size[0]
    assert (tmp_path / "g.pdf").read_bytes().startswith(b"%PDF")
    with pytest.raises(Viz3dError, match=r"\.svg, \.png or \.pdf"):
        export_graph(trace, tmp_path / "g.jpg")


def test_cli_graph_folds_big_models(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.svg"
    assert main(["graph", "tests.models:make_default", "--input", "random", "--out", str(out)]) == 0
    assert "wrote" in capsys.readouterr().err
    assert main(["graph", "--out", str(tmp_path / "x.gif")]) == 2
    code = main(["graph", "tests.models:make_default", "--input", "random", "--max-nodes", "5", "--out", str(out)])
    assert code == 0 and "folded to group depth" in capsys.readouterr().err
