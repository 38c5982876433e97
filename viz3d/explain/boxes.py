"""The input box a layer position reads: viz3d's receptive-field walk, to the first input (torch only).

The walk (:mod:`viz3d.capture.receptive_field`) follows the real graph
(kernels, strides, padding, dilation, pooling, branches, concatenations) and
clips every step to the tensor it reads, so a box near the border is already
cut to the image. One capture per input size gives the graph; boxes are
memoised per (y, x), and per channel too when the graph concatenates or
slices channels (branches of different kernel sizes give different channels
different fields).
"""

from __future__ import annotations

import torch
from torch import nn

from viz3d.capture import capture
from viz3d.capture.receptive_field import receptive_field
from viz3d.capture.trace import Trace
from viz3d.errors import Viz3dError

Box = tuple[int, int, int, int]  # y0, y1, x0, x1 (inclusive) in input pixels


class ReceptiveBoxes:
    """Input boxes of one layer's positions, for inputs shaped like ``example`` (1, C, H, W)."""

    def __init__(self, model: nn.Module, example: torch.Tensor, layer: str) -> None:
        self.trace = _trace_with(model, example, layer)
        self.node = self.trace.node(layer)
        inputs = [n for n in self.trace.nodes if n.kind == "input"]
        self.input_id = inputs[0].id
        self.size = (int(example.shape[-2]), int(example.shape[-1]))
        self.flat = len(self.node.shape) == 2  # (N, F): every feature reads the whole image
        self.exact = True
        self._memo: dict[tuple[int, int, int], Box] = {}
        # Channels pick different inputs only through concatenations and slices: elsewhere one walk per position.
        self._per_channel = any(
            n.spec.kind in ("concat", "slice", "stack") for n in self.trace.nodes[: self.node.id + 1]
        )

    def box(self, channel: int, y: int, x: int) -> Box:
        """The clipped input box of ``channel`` at output position (y, x)."""
        if self.flat:
            return (0, self.size[0] - 1, 0, self.size[1] - 1)
        key = (channel if self._per_channel else 0, y, x)
        if key not in self._memo:
            region = receptive_field(self.trace, self.node.id, key[0], y, x).get(self.input_id)
            if region is None:  # the unit reads no pixel (a constant): the whole image says so honestly
                self._memo[key] = (0, self.size[0] - 1, 0, self.size[1] - 1)
                self.exact = False
            else:
                self.exact &= region.exact
                self._memo[key] = (region.y0, region.y1, region.x0, region.x1)
        return self._memo[key]


def _trace_with(model: nn.Module, example: torch.Tensor, layer: str) -> Trace:
    """A shapes-and-specs capture in which ``layer`` is one node (blocks folded to its depth when needed)."""
    trace = capture(model, example)
    if any(n.name == layer for n in trace.nodes):
        return trace
    folded = capture(model, example, group_depth=layer.count(".") + 1)
    if any(n.name == layer for n in folded.nodes):
        return folded
    raise Viz3dError(f"layer {layer!r} is not a node of the captured graph: choose a module the forward calls")
