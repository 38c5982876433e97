"""The difference of two traces of one network: what changed between two steps or two checkpoints (torch only).

Each shown map becomes ``b - a`` drawn with the diverging ``coolwarm``
colormap centred on zero, over ONE symmetric range per layer, ``±max|b - a|``
over the layer's finite values: a layer that barely moved looks pale however
small its numbers, and red and blue compare across its channels. A layer that
did not change at all is drawn over ``±1``, so it is the neutral centre colour
(a zero range would put it at the blue end).

The two traces must have the same structure (node names and shown shapes),
which two captures of one architecture on one probe input always have. Weights
come in as a trace too (:func:`viz3d.capture.weights.weights_trace`, or
:func:`state_weights_trace` for a state dict that is not loaded in any module).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace

import torch

from viz3d.capture.trace import Node, Trace
from viz3d.capture.weights import weights_trace
from viz3d.errors import Viz3dError

DIFFERENCE_COLORMAP = "coolwarm"
UNCHANGED_RANGE = (-1.0, 1.0)  # a layer with no change: zero at the centre of the colormap


def _shape(node: Node) -> tuple[int, ...] | None:
    return None if node.display is None else tuple(int(v) for v in node.display.shape)


def check_same_structure(a: Trace, b: Trace, what: str = "the two traces") -> None:
    """Raise a one-line :class:`Viz3dError` naming the first node where ``a`` and ``b`` differ."""
    if len(a.nodes) != len(b.nodes):
        raise Viz3dError(
            f"{what} have different structures ({len(a.nodes)} vs {len(b.nodes)} layers): "
            "compare two captures of one architecture on one input shape"
        )
    for x, y in zip(a.nodes, b.nodes, strict=True):
        if x.name != y.name or _shape(x) != _shape(y):
            raise Viz3dError(
                f"{what} have different structures: layer {x.name} {_shape(x)} vs {y.name} {_shape(y)}; "
                "compare two captures of one architecture on one input shape"
            )


def max_abs(t: torch.Tensor) -> float:
    """max |t| over the finite values (0 when there are none)."""
    finite = t[t.isfinite()]
    return float(finite.abs().max()) if finite.numel() else 0.0


def _difference_node(a: Node, b: Node) -> Node:
    if a.display is None or b.display is None:
        return replace(b, tensor=None, display=None, display_note=a.display_note or b.display_note)
    delta = b.display.detach().float() - a.display.detach().to(b.display.device).float()
    m = max_abs(delta)
    note = f"b - a, max |b - a| = {m:.3g}" if m > 0 else "b - a: unchanged"
    return replace(
        b,
        tensor=None,  # b's own output: statistics or an answer panel read from it would not be of b - a
        display=delta,
        display_rgb=False,  # colour filters become their three channels' signed changes
        display_colormap=DIFFERENCE_COLORMAP,
        display_norm="layer",
        display_centred=True,
        display_range=(-m, m) if m > 0 and math.isfinite(m) else UNCHANGED_RANGE,
        grid_cols=3 if b.display_rgb else b.grid_cols,  # a colour filter's R, G, B side by side
        display_note=note,
    )


def difference_trace(a: Trace, b: Trace) -> Trace:
    """``b - a`` for every shown map (the structure of ``b``), coolwarm with one symmetric range per layer.

    Raises a one-line :class:`Viz3dError` when the structures differ.
    """
    check_same_structure(a, b)
    return b.with_nodes([_difference_node(x, y) for x, y in zip(a.nodes, b.nodes, strict=True)])


def trace_with_activations(structure: Trace, activations: Mapping[str, torch.Tensor]) -> Trace:
    """``structure``'s nodes showing ``activations`` (node name → shown (C, H, W) values, e.g. a snapshot's)."""
    nodes = []
    for node in structure.nodes:
        value = activations.get(node.name)
        if (node.display is None) != (value is None) or (value is not None and _shape(node) != tuple(value.shape)):
            have = None if value is None else tuple(value.shape)
            raise Viz3dError(
                f"activations do not fit the network: layer {node.name} shows {_shape(node)}, given {have}; "
                "compare snapshots of one architecture and probe"
            )
        nodes.append(node if value is None else replace(node, display=value))
    return structure.with_nodes(nodes)


def state_weights_trace(structure: Trace, state: Mapping[str, torch.Tensor]) -> Trace:
    """The weights view of ``structure`` with each layer's weight read from ``state`` (a state dict) instead.

    A node's weight is ``state[NODE_NAME + ".weight"]`` (capture names nodes after
    their modules), laid out exactly as :func:`weights_trace` lays out the module's own.
    """
    shown = weights_trace(structure)
    nodes = []
    for node in shown.nodes:
        if node.display is None:
            nodes.append(node)
            continue
        key = f"{node.name}.weight"
        w = state.get(key)
        module_w = getattr(node.module, "weight", None)
        if w is None or not isinstance(module_w, torch.Tensor) or tuple(w.shape) != tuple(module_w.shape):
            have = None if w is None else tuple(w.shape)
            want = None if not isinstance(module_w, torch.Tensor) else tuple(module_w.shape)
            raise Viz3dError(f"weights do not fit the network: {key} is {have} in the state dict, {want} in the model")
        nodes.append(replace(node, display=w.detach().float().reshape(node.display.shape)))
    return shown.with_nodes(nodes)
