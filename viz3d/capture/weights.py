"""Which inputs a unit listens to most, read from the learned weights (torch only)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from viz3d.capture.trace import Trace


@dataclass(frozen=True)
class WeightLink:
    """Input channel (conv) or feature (linear) ``source`` of the node's first input.

    ``strength`` is the L1 norm of the kernel (conv) or |weight| (linear);
    ``sign`` the sign of the kernel's sum (or of the weight).
    """

    source: int
    strength: float
    sign: int


def top_weight_links(trace: Trace, node_id: int, output: int, k: int = 16) -> list[WeightLink]:
    """The ``k`` strongest weights into output channel/feature ``output`` of a conv or linear node."""
    node = trace.nodes[node_id]
    module = node.module
    if isinstance(module, nn.Conv2d):
        w = module.weight.detach()[output].float()  # (Cin / groups, kh, kw)
        norms = w.abs().sum(dim=(1, 2))
        sums = w.sum(dim=(1, 2))
        group = output // (module.out_channels // module.groups)
        offset = group * (module.in_channels // module.groups)
    elif isinstance(module, nn.Linear):
        w = module.weight.detach()[output].float()
        norms, sums, offset = w.abs(), w, 0
    else:
        return []
    top = torch.topk(norms, min(k, norms.numel()))
    idx = top.indices.cpu().tolist()
    strengths = top.values.cpu().tolist()
    signs = torch.sign(sums[top.indices]).cpu().tolist()
    return [WeightLink(offset + int(i), float(s), int(g) or 1) for i, s, g in zip(idx, strengths, signs, strict=True)]


def mean_abs_activation(trace: Trace) -> dict[int, float]:
    """Mean |activation| of every shown node: how much signal flows out along its edges."""
    out = {}
    for node in trace.nodes:
        if node.display is not None:
            out[node.id] = float(node.display.detach().float().abs().nan_to_num(0.0).mean())
    return out
