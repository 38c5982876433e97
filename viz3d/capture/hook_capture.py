"""Capture through forward hooks, for models torch.fx cannot trace.

Forward hooks on the unit modules record their outputs; a TorchFunctionMode
records the functional ops that run between units (residual ``+``,
``torch.cat``, ``flatten``, slices such as ``y[:, 4:]`` and each output of
``split``/``chunk``/``unbind``). Edges come from tensor identity: each op's
input tensors are looked up among the outputs recorded so far.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from viz3d.capture.common import (
    ProgressCallback,
    RawNode,
    flatten_tensors,
    forward_error,
    function_kind,
    function_name,
    gradient_edge,
    is_inplace,
    module_kind,
    param_count,
    reads_shown_output,
)
from viz3d.capture.folding import Folding
from viz3d.capture.slicing import MULTI_SLICE_FUNCTIONS, SLICE_FUNCTIONS, describe, item_specs, slice_spec
from viz3d.capture.spatial import UNKNOWN, SpatialOp, spec_for_function, spec_for_module
from viz3d.errors import Viz3dError

# Ops that only read metadata or are free views of no interest as units.
_IGNORED_FUNCTIONS = {"__get__", "size", "dim", "numel", "detach", "clone", "contiguous", "to"}


def unit_modules(model: nn.Module, group_depth: Folding | int | None) -> dict[nn.Module, str]:
    """The modules shown as one unit each: leaves, or folded modules (at ``group_depth``, unless opened)."""
    units: dict[nn.Module, str] = {}
    folding = Folding.of(group_depth)

    def visit(module: nn.Module, prefix: str, depth: int) -> None:
        children = list(module.named_children())
        if prefix and (not children or folding.folds(prefix)):
            units.setdefault(module, prefix)
            return
        for name, child in children:
            visit(child, f"{prefix}.{name}" if prefix else name, depth + 1)

    visit(model, "", 0)
    if not units:
        units[model] = type(model).__name__
    return units


class _HookRecorder(TorchFunctionMode):
    def __init__(
        self,
        model: nn.Module,
        x: Any,
        units: dict[nn.Module, str],
        progress: ProgressCallback | None = None,
        grad: bool = False,
    ) -> None:
        super().__init__()
        self.progress = progress
        self.grad = grad
        self.done = 0
        self.model = model
        self.x = x
        self.units = units
        self.raw: list[RawNode] = []
        self.producer: dict[int, int] = {}  # id(tensor) -> raw index
        self.alive: list[torch.Tensor] = []  # keeps ids unique while capturing
        self.stack: list[str] = []
        self.calls: dict[str, int] = {}
        self.internal = False

    # --- bookkeeping --------------------------------------------------
    def _inputs(self, values: Any) -> list[int]:
        found = [self.producer[id(t)] for t in flatten_tensors(values) if id(t) in self.producer]
        return list(dict.fromkeys(found))

    def _protect(self, values: Any) -> None:
        """Before an in-place op: give the recorded producer a private copy."""
        self.internal = True
        try:
            for t in flatten_tensors(values)[:1]:
                idx = self.producer.get(id(t))
                if idx is not None and flatten_tensors(self.raw[idx].output)[0] is t:
                    self.raw[idx].output = t.detach().clone()
        finally:
            self.internal = False

    def record(
        self,
        name: str,
        op: str,
        kind: str,
        params: int,
        inputs: list[int],
        output: Any,
        spec: SpatialOp = UNKNOWN,
        module: nn.Module | None = None,
    ) -> None:
        tensors = flatten_tensors(output)
        if not tensors:
            return
        count = self.calls.get(name, 0)
        self.calls[name] = count + 1
        if count:
            name = f"{name}#{count + 1}"
        index = len(self.raw)
        edge = gradient_edge(tensors[0]) if self.grad else None
        self.raw.append(RawNode(name, op, kind, params, output, inputs, spec, module, grad_edge=edge))
        for t in tensors:
            self.producer[id(t)] = index
            self.alive.append(t)

    # --- hooks ----------------------------------------------------------
    def pre_hook(self, module: nn.Module, args: tuple[Any, ...]) -> None:
        if not self.stack and is_inplace("", module, None):
            self._protect(args)
        self.stack.append(self.units[module])

    def post_hook(self, module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
        self.stack.pop()
        if self.progress is not None:
            self.done += 1
            # Modules may run more than once, so the total is a lower bound.
            self.progress(self.done, max(self.done, len(self.units)))
        if self.stack:
            return  # a unit nested in another unit (cannot happen, but be safe)
        self.record(
            self.units[module],
            type(module).__name__,
            module_kind(module),
            param_count(module),
            self._inputs(args),
            output,
            spec_for_module(module),
            module,
        )

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        name = function_name(func)
        outside = not self.stack and not self.internal and name not in _IGNORED_FUNCTIONS
        if outside and is_inplace(name, None, kwargs):
            self._protect(args)
        out = func(*args, **kwargs)
        if outside:
            inputs = self._inputs((args, kwargs))
            if inputs and name in MULTI_SLICE_FUNCTIONS and isinstance(out, (tuple, list)):
                self._record_pieces(name, args, kwargs, inputs, out)
            elif inputs and name in SLICE_FUNCTIONS:
                spec = slice_spec(name, args, kwargs, out) if self._sliced(args) is not None else UNKNOWN
                described = describe(spec, tuple(args[0].shape)) if spec.kind == "slice" else ""
                self.record(name, name + described, "slice", 0, inputs, out, spec)
            elif inputs:
                spec = spec_for_function(name, args, kwargs)
                self.record(name, name, function_kind(name), 0, inputs, out, spec)
        return out

    def _sliced(self, args: Any) -> int | None:
        """The recorded node a slice cuts from, if it shows exactly the tensor cut (else no mapping)."""
        sliced = args[0] if args else None
        if not isinstance(sliced, torch.Tensor) or id(sliced) not in self.producer:
            return None
        parent = self.producer[id(sliced)]
        return parent if reads_shown_output(self.raw[parent].output, sliced) else None

    def _record_pieces(self, name: str, args: Any, kwargs: Any, inputs: list[int], outs: Any) -> None:
        """One slice node per output of a split/chunk/unbind; unused ones are pruned after the run."""
        specs = item_specs(name, args, kwargs, outs) if self._sliced(args) is not None else [UNKNOWN] * len(outs)
        count = self.calls.get(name, 0)
        self.calls[name] = count + 1
        base = f"{name}#{count + 1}" if count else name
        for i, (spec, piece) in enumerate(zip(specs, outs, strict=True)):
            described = describe(spec, tuple(args[0].shape)) if spec.kind == "slice" else ""
            self.record(f"{base}[{i}]", name + described, "slice", 0, inputs, piece, spec)


def capture_hooks(
    model: nn.Module,
    x: Any,
    group_depth: Folding | int | None,
    progress: ProgressCallback | None = None,
    grad: bool = False,
) -> tuple[list[RawNode], list[tuple[int, int]]]:
    """Run ``model`` on ``x`` with hooks; returns raw nodes and (src, dst) pairs.

    ``grad=True`` runs with autograd on and gives each raw node the gradient
    edge of its output as it was made (see :func:`~viz3d.capture.common.gradient_edge`).
    """
    units = unit_modules(model, group_depth)
    rec = _HookRecorder(model, x, units, progress, grad)
    args = x if isinstance(x, tuple) else (x,)
    for i, a in enumerate(args):
        rec.record("input" if len(args) == 1 else f"input_{i}", "input", "input", 0, [], a)
    handles = []
    for module in units:
        handles.append(module.register_forward_pre_hook(rec.pre_hook))
        handles.append(module.register_forward_hook(rec.post_hook))
    try:
        with torch.enable_grad() if grad else torch.no_grad(), rec:
            returned = model(*args)
    except Viz3dError:
        raise  # already one line (the memory watch)
    except Exception as exc:
        layer = rec.stack[-1] if rec.stack else "forward (outside any module)"
        op = next((type(m).__name__ for m, n in units.items() if n == layer), "function")
        raise forward_error(layer, op, exc, model, x) from exc
    finally:
        for h in handles:
            h.remove()
    return _prune_dead_functions(rec.raw, returned)


def _prune_dead_functions(raw: list[RawNode], returned: Any) -> tuple[list[RawNode], list[tuple[int, int]]]:
    """Drop functional ops whose result feeds nothing (``y.mean() > 0`` in an ``if``, the unused half of a split).

    They are control-flow tests, not dataflow; fx never sees them either. The
    last node, every node whose output the model returns, and every module's
    output are kept.
    """
    out_ids = {id(t) for t in flatten_tensors(returned)}
    alive = [True] * len(raw)
    changed = True
    while changed:
        changed = False
        used = {s for i, r in enumerate(raw) if alive[i] for s in r.inputs}
        for i, r in enumerate(raw[:-1]):
            functional = r.module is None and r.kind != "input"
            if (
                alive[i]
                and i not in used
                and functional
                and not any(id(t) in out_ids for t in flatten_tensors(r.output))
            ):
                alive[i] = False
                changed = True
    new_index = {old: new for new, old in enumerate(i for i in range(len(raw)) if alive[i])}
    kept = []
    for i, r in enumerate(raw):
        if alive[i]:
            r.inputs = [new_index[s] for s in r.inputs if s in new_index]
            kept.append(r)
    pairs = [(s, d) for d, r in enumerate(kept) for s in r.inputs]
    return kept, pairs
