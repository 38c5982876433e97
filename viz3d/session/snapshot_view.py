"""A snapshot as a trace to show: its activations, and its weights under the modules (torch only).

The weights view reads each node's ``module.weight``. A snapshot's trace
points at the live model's modules, whose weights the optimizer has moved on
since, so a scrubbed-back snapshot would show today's filters. Each module
with weights is therefore replaced by a shallow copy holding the snapshot's
tensors: the user's model is never touched. A snapshot loaded from a run
folder has no trace; its activations are put into a template trace of the
same model (captured once), matched by node name.
"""

from __future__ import annotations

import copy
from dataclasses import replace

import torch
from torch import nn

from viz3d.capture.trace import Node, Trace
from viz3d.errors import Viz3dError
from viz3d.session.timeline import Snapshot


def _module_names(model: nn.Module) -> dict[int, str]:
    return {id(m): name for name, m in model.named_modules()}


def _with_weights(module: nn.Module, prefix: str, weights: dict[str, torch.Tensor]) -> nn.Module:
    """A shallow copy of ``module`` whose own parameters are the snapshot's (the original keeps its own)."""
    own = {k: weights[prefix + k] for k in module._parameters if prefix + k in weights}
    if not own:
        return module
    clone = copy.copy(module)
    clone._parameters = dict(module._parameters)  # a new dict: the original module's is left alone
    for k, tensor in own.items():
        clone._parameters[k] = nn.Parameter(tensor, requires_grad=False)
    return clone


def with_weights(trace: Trace, model: nn.Module | None, weights: dict[str, torch.Tensor]) -> Trace:
    """``trace`` whose nodes' modules carry ``weights`` (state-dict names of ``model``); unchanged without a model."""
    if model is None or not weights:
        return trace
    names = _module_names(model)
    nodes = []
    for node in trace.nodes:
        name = names.get(id(node.module)) if node.module is not None else None
        if name is not None and node.module is not None:
            node = replace(node, module=_with_weights(node.module, f"{name}." if name else "", weights))
        nodes.append(node)
    return trace.with_nodes(nodes)


def _filled(node: Node, display: torch.Tensor) -> Node:
    """``node`` showing a saved activation; its batch tensor rebuilt from it where the sizes allow."""
    if node.display is not None and tuple(display.shape) != tuple(node.display.shape):
        raise Viz3dError(
            f"layer {node.name} was saved as {tuple(display.shape)} but the model shows {tuple(node.display.shape)}: "
            "replay the run with the model it was trained with (--model)"
        )
    tensor = None
    if node.tensor is not None and node.tensor.dim() > 0:
        sample = node.tensor[0]
        if display.numel() == sample.numel():
            tensor = display.reshape(sample.shape).unsqueeze(0)  # one sample: batch index 0
        elif sample.dim() == 1 and display.numel() > sample.numel():
            tensor = display.reshape(-1)[: sample.numel()].unsqueeze(0)  # a vector's cell grid, zero padded
    return replace(node, display=display, tensor=tensor)


def fill_template(template: Trace, activations: dict[str, torch.Tensor]) -> Trace:
    """``template`` (one capture of the model) showing ``activations`` (node name → shown values) instead."""
    nodes = []
    for node in template.nodes:
        if node.display is None:
            nodes.append(node)
            continue
        saved = activations.get(node.name)
        if saved is None:
            raise Viz3dError(
                f"the run holds no activation of layer {node.name}: replay it with the model it was trained with "
                "(--model) and the same --group-depth"
            )
        nodes.append(_filled(node, saved))
    return replace(template.with_nodes(nodes), batch_index=0)


def snapshot_trace(snapshot: Snapshot, model: nn.Module | None, template: Trace | None = None) -> Trace:
    """The trace that shows ``snapshot``: its own capture (or ``template`` filled with its activations), its weights."""
    if snapshot.trace is not None:
        trace = snapshot.trace
    elif template is not None:
        trace = fill_template(template, snapshot.activations)
    else:
        raise Viz3dError(f"snapshot of step {snapshot.step} has no trace: open the run with viz3d replay")
    return with_weights(trace, model, snapshot.weights)
