"""Gradients of a target with respect to every unit's output, from one forward and one backward pass (torch only).

:func:`explain` records the run like :func:`~viz3d.capture.capture` (either
path: fx or hooks), but with autograd on and every recorded output kept in
the graph, then asks autograd once for the gradient of the target with
respect to all of them. The target is a class logit (the predicted class by
default) or a unit: one channel of a layer, its mean or one position. The
model is left exactly as it was found, its parameters' ``.grad`` included:
the gradients are taken with :func:`torch.autograd.grad`, which accumulates
nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

import torch
from torch import nn

from viz3d.capture import build_trace, checked_call, run_checked
from viz3d.capture.budget import memory_watch, out_of_memory
from viz3d.capture.common import ProgressCallback, RawNode, flatten_tensors, sample_display, signal_layouts
from viz3d.capture.folding import Folding
from viz3d.capture.guard import model_untouched
from viz3d.capture.trace import CaptureMethod, Trace
from viz3d.errors import Viz3dError


@dataclass(frozen=True)
class Target:
    """What the gradients are of.

    ``unit=None``: the logit of class ``class_index`` of the classifier output
    (the network's last (N, K) output; ``None``: the predicted class).
    ``unit="layer name"``: channel ``channel`` of that layer's display volume,
    its mean over the map, or its value at ``position`` (row, column).
    """

    class_index: int | None = None
    unit: str | None = None
    channel: int = 0
    position: tuple[int, int] | None = None

    def describe(self) -> str:
        """Words for the HUD: ``class 3`` or ``layer1.conv2 channel 5 (mean)``."""
        if self.unit is None:
            return "predicted class" if self.class_index is None else f"class {self.class_index}"
        where = "mean" if self.position is None else f"at row {self.position[0]}, column {self.position[1]}"
        return f"{self.unit} channel {self.channel} ({where})"


@dataclass
class Explanation:
    """A captured run with the gradient of one target at every unit.

    ``trace`` is the activations, exactly as :func:`~viz3d.capture.capture`
    records them. ``gradients[node_id]`` is d target / d (that node's display
    volume), the same (C, H, W) shape as the node's ``display``, detached;
    nodes the target does not depend on have zeros, nodes without a
    differentiable output have none. ``target`` is resolved (a predicted
    class is filled in) and ``score`` is the target's value.
    """

    trace: Trace
    gradients: dict[int, torch.Tensor]
    target: Target
    score: float

    @property
    def label(self) -> str:
        """What the gradients are of, in words."""
        return f"d({self.target.describe()}) = {self.score:.4g}"


def explain(
    model: nn.Module,
    x: torch.Tensor | tuple[torch.Tensor, ...],
    target: Target | None = None,
    *,
    batch_index: int = 0,
    group_depth: int | None = None,
    method: CaptureMethod | None = None,
    progress: ProgressCallback | None = None,
    memory_limit: int | None = None,
    open_blocks: Iterable[str] = (),
    weights: Mapping[str, torch.Tensor] | None = None,
) -> Explanation:
    """Capture ``model`` on ``x`` and the gradient of ``target`` with respect to every unit's output.

    Parameters are as :func:`~viz3d.capture.capture`'s; ``target`` defaults to
    the predicted class. ``weights`` (a state dict's float tensors, e.g. a
    training snapshot's) are used in place of the model's own for this run
    only. One forward pass (autograd on, eval mode) and one backward pass;
    the model is restored after, also on failure.

    Each unit's gradient is taken through the autograd edge its output had
    when it was made, so an output later changed in place (a convolution
    before ``ReLU(inplace=True)``) gets the gradient of its own values.

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3))
    >>> e = explain(net, torch.ones(1, 4), Target(class_index=2))
    >>> bool(torch.equal(e.gradients[0].flatten(), net[1].weight[2].detach()))
    True
    """
    target = target or Target()
    batch_size = checked_call(model, x, batch_index, group_depth)
    # The inputs ask for a gradient (the attribution on the picture); the model gets a copy it may change in place.
    given = tuple(_asking(t) for t in (x if isinstance(x, tuple) else (x,)))
    run_on = given if isinstance(x, tuple) else given[0]
    with model_untouched(model):
        if weights is not None:
            _use_weights(model, weights)
        watch = memory_watch(run_on, progress, memory_limit)
        folding = Folding.of(group_depth, open_blocks)
        raw, pairs, used, notes = run_checked(model, run_on, folding, method, watch, grad=True)
        signals = signal_layouts(raw)
        at, weight, score, resolved = _target(raw, signals, target, batch_index, batch_size)
        wanted = [i for i, r in enumerate(raw) if r.grad_edge is not None]
        try:
            grads = torch.autograd.grad(
                [raw[at].grad_edge], [raw[i].grad_edge for i in wanted], grad_outputs=[weight], allow_unused=True
            )
        except (MemoryError, RuntimeError) as exc:
            oom = out_of_memory(exc, x)
            if oom is None:
                raise
            raise oom from exc
    trace = build_trace(raw, pairs, used, notes, batch_index, batch_size, group_depth)
    gradients: dict[int, torch.Tensor] = {}
    for i, g in zip(wanted, grads, strict=True):
        tensor = flatten_tensors(raw[i].output)[0]
        g = torch.zeros_like(tensor) if g is None else g
        display, _ = sample_display(g.detach(), raw[i].spec, batch_index, batch_size, signals[i])
        shown = trace.nodes[i].display
        if shown is not None and display.shape == shown.shape:
            gradients[i] = display
    return Explanation(trace=trace, gradients=gradients, target=resolved, score=score)


def _asking(t: torch.Tensor) -> torch.Tensor:
    """A floating-point input as a copy in the autograd graph (a leaf the model may not change in place)."""
    if not isinstance(t, torch.Tensor) or not t.is_floating_point():
        return t
    return t.detach().requires_grad_(True).clone()


def _use_weights(model: nn.Module, weights: Mapping[str, torch.Tensor]) -> None:
    """Put ``weights`` in the model's slots (``model_untouched`` puts the model's own tensors back)."""
    for name, value in weights.items():
        owner, _, attr = name.rpartition(".")
        try:
            module = model.get_submodule(owner)
        except AttributeError:
            raise Viz3dError(f"weights name {name!r} is not in this model: pass the model they belong to") from None
        if module._parameters.get(attr) is not None:
            old = module._parameters[attr]
            assert old is not None
            if tuple(old.shape) != tuple(value.shape):
                raise Viz3dError(f"weights {name!r} are {tuple(value.shape)}, the model's {tuple(old.shape)}")
            module._parameters[attr] = nn.Parameter(value.detach().to(old.device, old.dtype), old.requires_grad)
        elif module._buffers.get(attr) is not None:
            old_buffer = module._buffers[attr]
            assert old_buffer is not None
            module._buffers[attr] = value.detach().to(old_buffer.device, old_buffer.dtype).clone()
        else:
            raise Viz3dError(f"weights name {name!r} is not in this model: pass the model the weights belong to")


def _target(
    raw: list[RawNode], signals: list[bool], target: Target, batch_index: int, batch_size: int
) -> tuple[int, torch.Tensor, float, Target]:
    """The raw node the target reads, d target / d (its output), the target's value, and the target resolved.

    The backward starts at that node's gradient edge with this weight: one
    path for a class logit and for a unit, in-place changes or not.
    """
    if target.unit is None:
        at = _classifier_node(raw)
        if at is None:
            raise Viz3dError(
                "a class target needs a classifier output (an (N, K) tensor, K >= 2): pick a unit as the target instead"
            )
        logits = flatten_tensors(raw[at].output)[0].detach()
        b = batch_index if logits.shape[0] == batch_size else 0
        index = int(logits[b].argmax()) if target.class_index is None else target.class_index
        if not 0 <= index < logits.shape[1]:
            last = logits.shape[1] - 1
            raise Viz3dError(f"target class {index} is out of range: the classifier has classes 0..{last}")
        weight = torch.zeros_like(logits)
        weight[b, index] = 1.0
        resolved = replace(target, class_index=index)
    else:
        found = [i for i, r in enumerate(raw) if r.name == target.unit]
        if not found:
            raise Viz3dError(f"no layer named {target.unit!r} to take as the target: use a name the viewer shows")
        at = found[0]
        tensors = flatten_tensors(raw[at].output)
        if not tensors or not tensors[0].is_floating_point():
            raise Viz3dError(f"layer {target.unit!r} has no floating-point output to take a gradient of")
        weight = _unit_weight(tensors[0].detach(), raw[at], signals[at], target, batch_index, batch_size)
        resolved = target
    if raw[at].grad_edge is None:
        raise Viz3dError(f"the target ({resolved.describe()}) depends on nothing that has a gradient")
    value = flatten_tensors(raw[at].output)[0].detach()
    return at, weight, float((weight * value).sum()), resolved


def _unit_weight(
    value: torch.Tensor, node: RawNode, signal: bool, target: Target, batch_index: int, batch_size: int
) -> torch.Tensor:
    """d (the unit's channel mean, or its value at a position) / d (the node's output), through the display reshape."""
    probe = torch.zeros_like(value, requires_grad=True)
    with torch.enable_grad():
        display, _ = sample_display(probe, node.spec, batch_index, batch_size, signal)
        if not 0 <= target.channel < display.shape[0]:
            last = display.shape[0] - 1
            raise Viz3dError(f"channel {target.channel} is out of range: {target.unit} has channels 0..{last}")
        fmap = display[target.channel]
        if target.position is None:
            picked = fmap.mean()
        else:
            r, c = target.position
            if not (0 <= r < fmap.shape[0] and 0 <= c < fmap.shape[1]):
                raise Viz3dError(f"position {target.position} is outside {target.unit}'s {tuple(fmap.shape)} map")
            picked = fmap[r, c]
        (weight,) = torch.autograd.grad(picked, probe)
    return weight


def _classifier_node(raw: list[RawNode]) -> int | None:
    """The network's classifier output: the last recorded (N, K) floating-point tensor, K >= 2."""
    for i in range(len(raw) - 1, -1, -1):
        tensors = flatten_tensors(raw[i].output)
        if tensors and tensors[0].dim() == 2 and tensors[0].shape[1] >= 2 and tensors[0].is_floating_point():
            return i
    return None
