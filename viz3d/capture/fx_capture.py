"""Capture through torch.fx: the true graph, functional ops included.

A custom tracer stops at the chosen granularity (leaf modules, or whole
modules at ``group_depth``); an Interpreter then runs the graph on the real
input and records every node's output.
"""

from __future__ import annotations

import operator
from typing import Any

import torch
from torch import fx, nn

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


class _GranularityTracer(fx.Tracer):
    """Treats folded modules (at ``group_depth``, unless opened) as leaves."""

    def __init__(self, group_depth: Folding | int | None) -> None:
        super().__init__()
        self.folding = Folding.of(group_depth)

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        if self.folding.folds(module_qualified_name):
            return True
        if super().is_leaf_module(m, module_qualified_name):
            return True
        # Any module without children is a unit, user-defined ones included.
        return not any(True for _ in m.children())


def trace_graph(model: nn.Module, group_depth: Folding | int | None) -> fx.GraphModule:
    """Symbolically trace ``model``; raises whatever fx raises on failure."""
    tracer = _GranularityTracer(group_depth)
    graph = tracer.trace(model)
    return fx.GraphModule(tracer.root, graph)


class _Recorder(fx.Interpreter):
    def __init__(
        self, gm: fx.GraphModule, model: nn.Module, x: Any, progress: ProgressCallback | None, grad: bool = False
    ) -> None:
        super().__init__(gm, garbage_collect_values=False)
        self.progress = progress
        self.grad = grad
        self.total = len(gm.graph.nodes)
        self.model = model
        self.x = x
        self.values: dict[fx.Node, Any] = {}
        self.slices: dict[fx.Node, SpatialOp | list[SpatialOp]] = {}
        self.edges: dict[fx.Node, list[Any]] = {}  # with gradients on: each output's gradient edge
        self.failure: str | None = None

    def run_node(self, n: fx.Node) -> Any:
        if n.op in ("call_module", "call_function", "call_method"):
            self._protect_inplace_input(n)
        try:
            out = super().run_node(n)
        except Exception as exc:
            label = str(n.target) if n.op == "call_module" else n.name
            op = type(self.module.get_submodule(str(n.target))).__name__ if n.op == "call_module" else str(n.op)
            # Interpreter.run appends fx details to whatever propagates; keep
            # our one-line error aside and re-raise it untouched in capture_fx.
            self.failure = str(forward_error(label, op, exc, self.model, self.x))
            raise Viz3dError(self.failure) from exc
        self.values[n] = out
        if self.grad:
            self.edges[n] = [gradient_edge(t) for t in flatten_tensors(out)]
        if n.op in ("call_function", "call_method"):
            self._record_slice(n, out)
        if self.progress is not None:
            self.progress(len(self.values), self.total)
        return out

    def _record_slice(self, n: fx.Node, out: Any) -> None:
        """Map a slice's outputs to its input now, before later in-place ops can change either."""
        name = str(n.target) if n.op == "call_method" else function_name(n.target)
        if name not in SLICE_FUNCTIONS and name not in MULTI_SLICE_FUNCTIONS:
            return
        args, kwargs = self.fetch_args_kwargs_from_env(n)
        if name in SLICE_FUNCTIONS and isinstance(out, torch.Tensor):
            self.slices[n] = slice_spec(name, args, kwargs, out)
        elif name in MULTI_SLICE_FUNCTIONS and isinstance(out, (tuple, list)):
            self.slices[n] = item_specs(name, args, kwargs, out)

    def _protect_inplace_input(self, n: fx.Node) -> None:
        """Clone the recorded input of an in-place op so the record stays true."""
        module = self.module.get_submodule(str(n.target)) if n.op == "call_module" else None
        name = str(n.target) if n.op == "call_method" else function_name(n.target)
        if not is_inplace(name if module is None else "", module, n.kwargs):
            return
        if n.args and isinstance(n.args[0], fx.Node) and n.args[0] in self.values:
            src = n.args[0]
            value = self.values[src]
            if isinstance(value, torch.Tensor):
                # Keep a private copy for the record; the op may now mutate the original. (With gradients
                # on, the gradient edge taken when the value was made still names the unmutated output.)
                self.values[src] = value.detach().clone()


def capture_fx(
    model: nn.Module,
    x: Any,
    group_depth: Folding | int | None,
    progress: ProgressCallback | None = None,
    grad: bool = False,
) -> tuple[list[RawNode], list[tuple[int, int]]]:
    """Run ``model`` on ``x`` through fx; returns raw nodes and (src, dst) pairs.

    ``grad=True`` runs with autograd on and gives each raw node the gradient
    edge of its output as it was made (:func:`gradient_edge`), so gradients
    with respect to it can be taken after, later in-place ops or not.
    """
    gm = trace_graph(model, group_depth)
    recorder = _Recorder(gm, model, x, progress, grad)
    args = x if isinstance(x, tuple) else (x,)
    try:
        with torch.enable_grad() if grad else torch.no_grad():
            recorder.run(*args)
    except Exception:
        if recorder.failure is not None:
            raise Viz3dError(recorder.failure) from None
        raise
    values = recorder.values

    raw: list[RawNode] = []
    index: dict[fx.Node, list[int]] = {}  # the raw nodes an fx node's value stands for
    items: dict[fx.Node, list[int]] = {}  # each output of a split/chunk/unbind: its raw node (-1: unused)
    seen_names: dict[str, int] = {}
    for n in gm.graph.nodes:
        if n.op in ("output", "get_attr") or n not in values:
            continue
        value = values[n]
        if not flatten_tensors(value):
            continue  # shape arithmetic (x.size(0)) and other non-tensor values
        src = n.args[0] if n.args else None
        if n.op == "call_function" and n.target is operator.getitem and isinstance(src, fx.Node):
            if src in items:  # one piece of a split: the slice node made for it
                index[n] = [i for i in (items[src][p] for p in _picked(len(items[src]), n.args[1])) if i >= 0]
                continue
            if src in index and not isinstance(values.get(src), torch.Tensor):
                index[n] = index[src]  # an output of a multi-output module or op: the same data, no new slab
                continue
        specs = recorder.slices.get(n)
        if isinstance(specs, list):
            inputs = [i for a in n.all_input_nodes if a in index for i in index[a]]
            pieces = _add_pieces(raw, n, value, specs, inputs, _slice_parent(n, index, raw, values))
            for i, at in enumerate(pieces):
                if at >= 0 and i < len(recorder.edges.get(n, [])):
                    raw[at].grad_edge = recorder.edges[n][i]
            items[n] = pieces
            index[n] = [i for i in items[n] if i >= 0]
            continue
        module: nn.Module | None = None
        spec = UNKNOWN
        if n.op == "placeholder":
            name, op, kind, params = (n.name if len(args) > 1 else "input"), "input", "input", 0
        elif n.op == "call_module":
            module = gm.get_submodule(str(n.target))
            name, op, kind, params = str(n.target), type(module).__name__, module_kind(module), param_count(module)
            spec = spec_for_module(module)
        else:
            fname = str(n.target) if n.op == "call_method" else function_name(n.target)
            name, op, kind, params = n.name, fname, function_kind(fname), 0
            real_args = fx.node.map_arg(n.args, lambda a: values.get(a))
            real_kwargs = fx.node.map_arg(n.kwargs, lambda a: values.get(a))
            spec = spec_for_function(fname, real_args, real_kwargs)
            if isinstance(specs, SpatialOp):
                parent = _slice_parent(n, index, raw, values)
                spec = specs if parent is not None else UNKNOWN
                if parent is not None and spec.kind == "slice":
                    op = fname + describe(spec, tuple(flatten_tensors(raw[parent].output)[0].shape))
        count = seen_names.get(name, 0)
        seen_names[name] = count + 1
        if count:
            name = f"{name}#{count + 1}"  # a module called more than once
        inputs = [i for a in n.all_input_nodes if a in index for i in index[a]]
        index[n] = [len(raw)]
        edge = recorder.edges.get(n, [None])[0]
        raw.append(RawNode(name, op, kind, params, value, inputs, spec, module, grad_edge=edge))
    pairs = [(s, d) for d, r in enumerate(raw) for s in dict.fromkeys(r.inputs)]
    return raw, pairs


def _picked(count: int, key: Any) -> list[int]:
    """Which of ``count`` outputs ``outputs[key]`` takes (an int or a slice of the tuple)."""
    chosen = list(range(count))[key]
    return chosen if isinstance(chosen, list) else [chosen]


def _slice_parent(
    n: fx.Node, index: dict[fx.Node, list[int]], raw: list[RawNode], values: dict[fx.Node, Any]
) -> int | None:
    """The raw node a slice's first argument is, if that node shows exactly that tensor."""
    src = n.args[0] if n.args else None
    if not isinstance(src, fx.Node) or len(index.get(src, [])) != 1:
        return None
    parent = index[src][0]
    sliced = values.get(src)
    return parent if isinstance(sliced, torch.Tensor) and reads_shown_output(raw[parent].output, sliced) else None


def _add_pieces(
    raw: list[RawNode], n: fx.Node, value: Any, specs: list[SpatialOp], inputs: list[int], parent: int | None
) -> list[int]:
    """One slice node per used output of a split/chunk/unbind; returns each output's raw index (-1: unused).

    ``parent`` is the node the pieces are cut from, when it shows exactly the
    tensor cut; otherwise the pieces keep their edges but no exact mapping.
    """
    used: set[int] = set()
    for user in n.users:
        if user.op == "call_function" and user.target is operator.getitem and user.args[0] is n:
            if user.users:  # fx makes a getitem for every unpacked name, used or not
                used.update(_picked(len(specs), user.args[1]))
        else:
            used.update(range(len(specs)))  # the whole tuple goes on (torch.cat(y.chunk(4, 1)))
    fname = str(n.target) if n.op == "call_method" else function_name(n.target)
    parent_shape = tuple(flatten_tensors(raw[parent].output)[0].shape) if parent is not None else ()
    out = []
    for i, spec in enumerate(specs):
        if i not in used:
            out.append(-1)
            continue
        spec = spec if parent is not None else UNKNOWN
        op = fname + (describe(spec, parent_shape) if spec.kind == "slice" else "")
        out.append(len(raw))
        raw.append(RawNode(f"{n.name}[{i}]", op, "slice", 0, value[i], list(inputs), spec))
    return out
