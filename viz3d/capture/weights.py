"""Which inputs a unit listens to most, read from the learned weights (torch only)."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

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
    """Mean |activation| of every shown node: how much signal flows out along its edges.

    Non-finite values count as NaN → 0 and ±Inf → the largest float32.
    """
    shown = [(node.id, node.display.detach()) for node in trace.nodes if node.display is not None]
    if not shown:
        return {}
    # One pass, no temporary: the L1 norm in float32 (NaN or Inf in the data make it non-finite).
    sums = [torch.linalg.vector_norm(d.reshape(-1), ord=1, dtype=torch.float32) for _, d in shown]
    device = sums[0].device
    totals = torch.stack([v.to(device) for v in sums]).tolist()  # one transfer, not one per layer
    out = {}
    for (node_id, display), total in zip(shown, totals, strict=True):
        if not math.isfinite(total):  # rare: redo this layer with the non-finite values replaced
            total = float(display.float().abs().nan_to_num(0.0).sum())
        out[node_id] = total / max(display.numel(), 1)
    return out


def weights_trace(trace: Trace, shared_normalization: bool = False) -> Trace:
    """The same network with each conv and linear layer showing its weights.

    - a conv reading 3 channels (the first layer): one colour image per filter,
      normalized per filter (or over the layer with ``shared_normalization``);
    - other convs: an out×in grid of grayscale kernels, one range for the
      layer, centred on zero (mid grey = 0);
    - linear layers: the weight matrix (out rows × in columns) in a diverging
      colormap centred on zero.

    Layers without weights become plain boxes. Weights stay on their device.
    """
    nodes = []
    for node in trace.nodes:
        w = getattr(node.module, "weight", None) if node.module is not None else None
        new = replace(node, display=None, display_note="no weights")
        if isinstance(node.module, nn.Conv2d) and isinstance(w, torch.Tensor):
            o, i, kh, kw = w.shape
            data = w.detach().float()
            if i == 3:
                new = replace(
                    node,
                    display=data.reshape(o * 3, kh, kw),
                    display_rgb=True,
                    display_norm="layer" if shared_normalization else "channel",
                    display_note=f"{o} filters {kh}x{kw}, RGB",
                )
            else:
                new = replace(
                    node,
                    display=data.reshape(o * i, kh, kw),
                    grid_cols=i,
                    display_colormap="gray",
                    display_norm="layer",
                    display_centred=True,
                    display_note=f"{o}x{i} kernels {kh}x{kw}",
                )
        elif isinstance(node.module, nn.Linear) and isinstance(w, torch.Tensor):
            new = replace(
                node,
                display=w.detach().float()[None],
                display_colormap="coolwarm",
                display_norm="layer",
                display_centred=True,
                display_note=f"weight matrix {w.shape[0]}x{w.shape[1]}",
            )
        nodes.append(new)
    return trace.with_nodes(nodes)
