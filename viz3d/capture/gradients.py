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

from collections.abc import Iterable
from dataclasses import dataclass, replace

import torch
from torch import nn

from viz3d.capture import build_trace, checked_call, run_checked
from viz3d.capture.budget import memory_watch
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
) -> Explanation:
    """Capture ``model`` on ``x`` and the gradient of ``target`` with respect to every unit's output.

    Parameters are as :func:`~viz3d.capture.capture`'s; ``target`` defaults to
    the predicted class. One forward pass (autograd on, eval mode) and one
    backward pass; the model is restored after, also on failure.

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
    # Leaf copies of the inputs that ask for a gradient: the input's own is the attribution's.
    leaves = tuple(_leaf(t) for t in (x if isinstance(x, tuple) else (x,)))
    given = leaves if isinstance(x, tuple) else leaves[0]
    with model_untouched(model):
        watch = memory_watch(given, progress, memory_limit)
        folding = Folding.of(group_depth, open_blocks)
        raw, pairs, used, notes = run_checked(model, given, folding, method, watch, grad=True)
        signals = signal_layouts(raw)
        score, resolved = _target_score(raw, signals, target, batch_index, batch_size)
        wanted = [(i, t) for i, t in _first_tensors(raw) if t.requires_grad]
        if not wanted:
            raise Viz3dError("no unit of this model depends on a trainable value: there is no gradient to show")
        grads = torch.autograd.grad(score, [t for _, t in wanted], allow_unused=True)
    trace = build_trace(raw, pairs, used, notes, batch_index, batch_size, group_depth)
    gradients: dict[int, torch.Tensor] = {}
    for (i, t), g in zip(wanted, grads, strict=True):
        g = torch.zeros_like(t) if g is None else g
        display, _ = sample_display(g.detach(), raw[i].spec, batch_index, batch_size, signals[i])
        shown = trace.nodes[i].display
        if shown is not None and display.shape == shown.shape:
            gradients[i] = display
    return Explanation(trace=trace, gradients=gradients, target=resolved, score=float(score.detach()))


def _leaf(t: torch.Tensor) -> torch.Tensor:
    if not isinstance(t, torch.Tensor) or not t.is_floating_point():
        return t
    return t.detach().clone().requires_grad_(True)


def _first_tensors(raw: list[RawNode]) -> list[tuple[int, torch.Tensor]]:
    out = []
    for i, r in enumerate(raw):
        tensors = flatten_tensors(r.output)
        if tensors and tensors[0].is_floating_point():
            out.append((i, tensors[0]))
    return out


def _target_score(
    raw: list[RawNode], signals: list[bool], target: Target, batch_index: int, batch_size: int
) -> tuple[torch.Tensor, Target]:
    """The scalar the gradients are of, still in the graph, and the target with a predicted class filled in."""
    if target.unit is None:
        logits = _classifier_output(raw)
        if logits is None:
            raise Viz3dError(
                "a class target needs a classifier output (an (N, K) tensor, K >= 2): pick a unit as the target instead"
            )
        row = logits[batch_index] if logits.shape[0] == batch_size else logits[0]
        index = int(row.detach().argmax()) if target.class_index is None else target.class_index
        if not 0 <= index < row.shape[0]:
            raise Viz3dError(f"target class {index} is out of range: the classifier has classes 0..{row.shape[0] - 1}")
        return row[index], replace(target, class_index=index)
    found = [i for i, r in enumerate(raw) if r.name == target.unit]
    if not found:
        raise Viz3dError(f"no layer named {target.unit!r} to take as the target: use a name the viewer shows")
    i = found[0]
    tensors = flatten_tensors(raw[i].output)
    if not tensors or not tensors[0].is_floating_point():
        raise Viz3dError(f"layer {target.unit!r} has no floating-point output to take a gradient of")
    display, _ = sample_display(tensors[0], raw[i].spec, batch_index, batch_size, signals[i])
    if not 0 <= target.channel < display.shape[0]:
        last = display.shape[0] - 1
        raise Viz3dError(f"channel {target.channel} is out of range: {target.unit} has channels 0..{last}")
    fmap = display[target.channel]
    if target.position is None:
        return fmap.mean(), target
    r, c = target.position
    if not (0 <= r < fmap.shape[0] and 0 <= c < fmap.shape[1]):
        raise Viz3dError(f"position {target.position} is outside {target.unit}'s {tuple(fmap.shape)} map")
    return fmap[r, c], target


def _classifier_output(raw: list[RawNode]) -> torch.Tensor | None:
    """The network's classifier output: the last recorded (N, K) floating-point tensor, K >= 2."""
    for r in reversed(raw):
        tensors = flatten_tensors(r.output)
        if tensors and tensors[0].dim() == 2 and tensors[0].shape[1] >= 2 and tensors[0].is_floating_point():
            return tensors[0]
    return None
