"""The input as a picture: a 3-channel image input shown in true colour on its slab (torch only).

The captured input of an image network is three feature maps (R, G, B), and
as heatmaps it reads as three grey pictures. Here the input node's display
becomes one colour tile (``display_rgb``) with the normalization the input
went through undone, drawn over the fixed range [0, 1], so the slab shows the
image as the viewer knows it. Values that still fall outside [0, 1] (an input
normalized some other way) are drawn over their own range instead, and the
label says so: never a clipped picture in silence.
"""

from __future__ import annotations

from dataclasses import replace

from viz3d.capture.trace import Node, Trace
from viz3d.preprocess import Preprocess

# How far past [0, 1] values may stray (float rounding of undone normalization) and still count as an image.
TOLERANCE = 1e-3


def is_picture(node: Node) -> bool:
    """A network input with three channels of at least 2×2 pixels (not signed values: a difference is no picture)."""
    d = node.display
    return (
        node.kind == "input"
        and not node.display_centred
        and d is not None
        and d.dim() == 3
        and d.shape[0] == 3
        and min(d.shape[1:]) > 1
    )


def input_picture(trace: Trace, preprocess: Preprocess) -> Trace:
    """``trace`` with every 3-channel image input shown as one colour tile (others unchanged)."""
    if not any(is_picture(n) for n in trace.nodes):
        return trace
    return trace.with_nodes([_picture(n, preprocess) if is_picture(n) else n for n in trace.nodes])


def _picture(node: Node, preprocess: Preprocess) -> Node:
    assert node.display is not None
    image = preprocess.undo(node.display.detach().float())
    finite = image[image.isfinite()]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.numel() else (0.0, 1.0)
    shape = "x".join(str(int(v)) for v in image.shape)
    undone = ", normalization undone" if preprocess.normalizes else ""
    if lo >= -TOLERANCE and hi <= 1 + TOLERANCE:
        value_range, note = (0.0, 1.0), f"{shape} RGB picture{undone}"
    else:
        value_range, note = (lo, hi), f"{shape} RGB picture{undone}, values {lo:.3g}..{hi:.3g} scaled to colours"
    return replace(node, display=image, display_rgb=True, display_range=value_range, display_note=note)
