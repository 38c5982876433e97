"""The network's answer in words: softmax over a classifier's logits, the top classes named (torch only).

A classifier output is the last node whose output is (N, K) with K ≥ 2: the
logits of one sample. Its K values are shown on the slab as 1×rows×cols
cells (a vector grid), so class k is the unit (node, 0, k // cols, k % cols):
clicking a bar of the panel selects that unit, and the existing weights and
receptive-field connections then show what that logit listens to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from viz3d.capture.trace import Node, Trace

TOP_K = 5


@dataclass(frozen=True)
class ClassScore:
    """One class of the answer: its index, name, softmax probability and logit."""

    index: int
    name: str
    probability: float
    logit: float


@dataclass(frozen=True)
class Prediction:
    """The top classes of a classifier node (most probable first) and the unit each is drawn as."""

    node_id: int
    node_name: str
    classes: int
    top: tuple[ClassScore, ...]
    grid_cols: int  # columns of the node's cell grid: class k sits at (k // cols, k % cols)
    total: float  # sum of every class's probability (1 up to rounding)

    def unit(self, index: int) -> tuple[int, int, int, int]:
        """The (node, channel, y, x) unit showing class ``index``'s logit."""
        return (self.node_id, 0, index // self.grid_cols, index % self.grid_cols)

    def class_of(self, unit: Sequence[int] | None) -> int | None:
        """The class a selected unit stands for, when it is one of this classifier's cells."""
        if unit is None or unit[0] != self.node_id:
            return None
        index = int(unit[2]) * self.grid_cols + int(unit[3])
        return index if index < self.classes else None

    def headline(self) -> str:
        """One line for the HUD: ``prediction: star 97.1% | circle 1.2% | ...``."""
        return "prediction: " + " | ".join(f"{s.name} {percent(s.probability)}" for s in self.top)


def percent(probability: float) -> str:
    """``97.1%``; below 0.1 % two significant digits (``0.012%``), so a small chance never reads as zero."""
    value = 100 * probability
    return f"{value:.1f}%" if value >= 0.1 or value == 0 else f"{value:.2g}%"


def classifier_node(trace: Trace) -> Node | None:
    """The last node with an (N, K) output, K ≥ 2, shown as a cell grid; None when there is none."""
    for node in reversed(trace.nodes):
        if len(node.shape) == 2 and node.shape[1] >= 2 and node.tensor is not None and node.display is not None:
            return node
    return None


def predict(trace: Trace, node: Node, names: Sequence[str], k: int = TOP_K) -> Prediction:
    """Softmax of ``node``'s logits for the shown sample, its ``k`` most probable classes named by ``names``."""
    assert node.tensor is not None and node.display is not None
    logits = node.tensor[trace.batch_index].detach().float().cpu()
    probabilities = torch.softmax(logits, dim=0)
    top = torch.topk(probabilities, min(k, logits.numel()))
    scores = tuple(
        ClassScore(int(i), names[int(i)], float(p), float(logits[int(i)]))
        for p, i in zip(top.values.tolist(), top.indices.tolist(), strict=True)
    )
    cols = int(node.display.shape[-1])
    return Prediction(node.id, node.name, int(logits.numel()), scores, cols, float(probabilities.sum()))
