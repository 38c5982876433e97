"""What the network looked at, drawn on its own slabs: gradient, attribution and Grad-CAM views (GL-free).

Each function turns an :class:`~viz3d.capture.gradients.Explanation` (one
forward and one backward pass) into the trace the slabs show:

- **gradients**: d target / d activation on every slab, diverging colours
  centred at zero, one symmetric range per layer;
- **attribution**: activation × gradient on every slab (the per-layer
  attribution), the same colours; the input slab shows gradient × input
  summed over colour channels, overlaid on the input picture;
- **Grad-CAM**: every layer with a spatial map shows one map, ReLU(Σ_c α_c A_c)
  with α_c the spatial mean of channel c's gradient; the input slab shows the
  map of the focused layer (the selected one, else the last spatial map)
  overlaid on the input picture.

Overlays blend as :func:`overlay` documents, so tests can recompute pixels.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import torch
import torch.nn.functional as F

from viz3d.capture.gradients import Explanation
from viz3d.capture.trace import Node, Trace
from viz3d.preprocess import Preprocess
from viz3d.scene.colormaps import colormap_lut, lut_index
from viz3d.session.input_picture import is_picture

DIVERGING_MAP = "coolwarm"
CAM_MAP = "inferno"
OVERLAY_ALPHA = 0.6  # how strongly the strongest evidence tints the picture
SIGNED_PERCENTILE = 0.99  # signed overlays saturate at this quantile of |heat|


def gradient_trace(explanation: Explanation, preprocess: Preprocess) -> Trace:
    """Every slab shows the gradient of the target with respect to its activation.

    Image inputs show the input gradient summed over colour channels, on the picture.
    """
    trace = _signed(explanation, lambda node, grad: grad, "d/d activation")
    return _on_pictures(trace, explanation, preprocess, lambda x, g: g.sum(0), "gradient on the picture")


def attribution_trace(explanation: Explanation, preprocess: Preprocess) -> Trace:
    """Every slab shows activation × gradient; image inputs show gradient × input on the picture."""
    trace = _signed(explanation, lambda node, grad: _shown(node) * grad, "activation x gradient")
    return _on_pictures(trace, explanation, preprocess, lambda x, g: (x * g).sum(0), "gradient x input on the picture")


def _on_pictures(
    trace: Trace,
    explanation: Explanation,
    preprocess: Preprocess,
    heat: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    note: str,
) -> Trace:
    """``trace`` with each image input drawn as its picture tinted by ``heat(input, gradient)`` (signed)."""
    nodes = list(trace.nodes)
    for i, node in enumerate(explanation.trace.nodes):
        grad = explanation.gradients.get(node.id)
        if grad is not None and is_picture(node):
            assert node.display is not None
            x = node.display.detach().float()
            picture = preprocess.undo(x).clamp(0, 1)
            nodes[i] = _overlaid(node, picture, heat(x, grad.float()), signed=True, note=note)
    return trace.with_nodes(nodes)


def gradcam_trace(explanation: Explanation, preprocess: Preprocess, focus: int | None = None) -> Trace:
    """Every spatial layer shows its Grad-CAM map; image inputs show the focused layer's map on the picture.

    ``focus`` is the node whose map is overlaid (the selected one); when it has
    no spatial map, the last spatial map's is (see :func:`overlay_layer`).
    Layers without a spatial map (vectors, the classifier) show activation × gradient.
    """
    cams: dict[int, torch.Tensor] = {}

    def shown(node: Node, grad: torch.Tensor) -> Node:
        if not has_map(node):
            return _signed_node(node, _shown(node) * grad, "activation x gradient (no spatial map)")
        cams[node.id] = grad_cam(_shown(node), grad)
        with_map = replace(node, display=cams[node.id][None], display_colormap=CAM_MAP, display_norm="layer")
        return replace(with_map, display_note="Grad-CAM")

    nodes = list(_per_node(explanation, shown).nodes)
    chosen = overlay_layer(explanation.trace, cams, focus)
    if chosen is not None:
        for i, node in enumerate(explanation.trace.nodes):
            if is_picture(node) and node.display is not None:
                picture = preprocess.undo(node.display.detach().float()).clamp(0, 1)
                note = f"Grad-CAM of {explanation.trace.nodes[chosen].name} on the picture"
                nodes[i] = _overlaid(node, picture, cams[chosen], signed=False, note=note)
    return explanation.trace.with_nodes(nodes)


def _per_node(explanation: Explanation, shown: Callable[[Node, torch.Tensor], Node]) -> Trace:
    """``shown(node, its gradient)`` for every slab with a gradient; zeros (said so) for a slab without one."""
    nodes = []
    for node in explanation.trace.nodes:
        grad = explanation.gradients.get(node.id)
        if node.display is None:
            nodes.append(node)
        elif grad is None:
            nodes.append(_no_gradient(node))
        else:
            nodes.append(shown(node, grad))
    return explanation.trace.with_nodes(nodes)


def has_map(node: Node) -> bool:
    """A node with a spatial map to weigh (not the input, not a vector shown as cells)."""
    d = node.display
    return (
        d is not None
        and node.kind != "input"
        and d.dim() == 3
        and min(int(d.shape[1]), int(d.shape[2])) > 1
        and len(node.shape) != 2  # (N, K) vectors are shown as a grid of cells, not a map
    )


def grad_cam(activation: torch.Tensor, gradient: torch.Tensor) -> torch.Tensor:
    """ReLU(Σ_c α_c A_c) with α_c the spatial mean of channel c's gradient: an (H, W) map."""
    a = activation.detach().float()
    weights = gradient.detach().float().mean(dim=(1, 2))
    return torch.relu((weights[:, None, None] * a).sum(0))


def overlay_layer(trace: Trace, cams: dict[int, torch.Tensor], focus: int | None) -> int | None:
    """The node whose map goes on the picture: ``focus`` when it has one, else the last spatial map run.

    The last spatial map is Grad-CAM's usual choice (a ResNet's last block output, ``layer4[-1]``), and it
    is there whether the network is shown unit by unit or folded into blocks.
    """
    if focus is not None and focus in cams:
        return focus
    return max(cams) if cams else None


def overlay(picture: torch.Tensor, heat: torch.Tensor, signed: bool, alpha: float = OVERLAY_ALPHA) -> torch.Tensor:
    """A (3, H, W) picture in [0, 1] tinted by an (h, w) heat map.

    The heat is resized to the picture (bilinear, ``align_corners=False``) and
    normalised: ``t = heat / s`` clipped to [-1, 1], with ``s`` the maximum of
    an unsigned map and the 99th percentile of ``|heat|`` of a signed one
    (gradients are spiky: a few pixels would otherwise wash the rest out to
    nothing). Unsigned maps take colours of
    ``inferno`` at ``t``; signed ones of ``coolwarm`` at ``(1 + t) / 2`` (red
    for evidence for the target, blue against). Each pixel is then
    ``picture · (1 − α·|t|) + colour · α·|t|``: where the heat is zero the
    picture shows unchanged.
    """
    h, w = int(picture.shape[1]), int(picture.shape[2])
    resized = F.interpolate(heat.detach().float()[None, None], size=(h, w), mode="bilinear", align_corners=False)[0, 0]
    magnitude = resized.abs().flatten()
    peak = float(torch.quantile(magnitude, SIGNED_PERCENTILE)) if signed else float(magnitude.max())
    peak = peak if peak > 0 else float(magnitude.max())
    t = (resized / peak).clamp(-1, 1) if peak > 0 else torch.zeros_like(resized)
    table = colormap_lut(DIVERGING_MAP if signed else CAM_MAP)
    position = ((1 + t) / 2 if signed else t).clamp(0, 1).cpu().numpy()
    colour = torch.from_numpy(table[lut_index(position)].astype(np.float32) / 255).permute(2, 0, 1)
    weight = alpha * t.abs().cpu()
    return picture.cpu() * (1 - weight) + colour * weight


def _signed(explanation: Explanation, value: Callable[[Node, torch.Tensor], torch.Tensor], note: str) -> Trace:
    return _per_node(explanation, lambda node, grad: _signed_node(node, value(node, grad), note))


def _shown(node: Node) -> torch.Tensor:
    assert node.display is not None  # only nodes with a gradient get here, and those have a display
    return node.display


def _no_gradient(node: Node) -> Node:
    """A slab the target has no gradient for (an integer output, a value cut off from autograd): zeros, said so."""
    assert node.display is not None
    return _signed_node(node, torch.zeros_like(node.display, dtype=torch.float32), "no gradient (not differentiable)")


def _signed_node(node: Node, values: torch.Tensor, note: str) -> Node:
    return replace(
        node,
        display=values.detach().float(),
        display_colormap=DIVERGING_MAP,
        display_norm="layer",
        display_centred=True,
        display_rgb=False,
        display_range=None,
        display_note=note,
    )


def _overlaid(node: Node, picture: torch.Tensor, heat: torch.Tensor, signed: bool, note: str) -> Node:
    image = overlay(picture, heat, signed)
    return replace(
        node,
        display=image.to(picture.device),
        display_rgb=True,
        display_range=(0.0, 1.0),
        display_colormap=None,
        display_centred=False,
        display_note=f"{'x'.join(str(int(v)) for v in image.shape)} {note}",
    )
