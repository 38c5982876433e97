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
    is_inplace,
    module_kind,
    param_count,
)
from viz3d.capture.spatial import UNKNOWN, spec_for_function, spec_for_module
from viz3d.errors import Viz3dError


class _GranularityTracer(fx.Tracer):
    """Treats modules at ``group_depth`` (dotted-name depth) as leaves."""

    def __init__(self, group_depth: int | None) -> None:
        super().__init__()
        self.group_depth = group_depth

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        depth = module_qualified_name.count(".") + 1 if module_qualified_name else 0
        if self.group_depth is not None and depth >= self.group_depth:
            return True
        if super().is_leaf_module(m, module_qualified_name):
            return True
        # Any module without children is a unit, user-defined ones included.
        return not any(True for _ in m.children())


def trace_graph(model: nn.Module, group_depth: int | None) -> fx.GraphModule:
    """Symbolically trace ``model``; raises whatever fx raises on failure."""
    tracer = _GranularityTracer(group_depth)
    graph = tracer.trace(model)
    return fx.GraphModule(tracer.root, graph)


class _Recorder(fx.Interpreter):
    def __init__(self, gm: fx.GraphModule, model: nn.Module, x: Any, progress: ProgressCallback | None) -> None:
        super().__init__(gm, garbage_collect_values=False)
        self.progress = progress
        self.total = len(gm.graph.nodes)
        self.model = model
        self.x = x
        self.values: dict[fx.Node, Any] = {}
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
        if self.progress is not None:
            self.progress(len(self.values), self.total)
        return out

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
                # Keep a private copy for the record; the op may now mutate the original.
                self.values[src] = value.detach().clone()


def capture_fx(
    model: nn.Module, x: Any, group_depth: int | None, progress: ProgressCallback | None = None
) -> tuple[list[RawNode], list[tuple[int, int]]]:
    """Run ``model`` on ``x`` through fx; returns raw nodes and (src, dst) pairs."""
    gm = trace_graph(model, group_depth)
    recorder = _Recorder(gm, model, x, progress)
    args = x if isinstance(x, tuple) else (x,)
    try:
        with torch.no_grad():
            recorder.run(*args)
    except Exception:
        if recorder.failure is not None:
            raise Viz3dError(recorder.failure) from None
        raise
    values = recorder.values

    raw: list[RawNode] = []
    index: dict[fx.Node, int] = {}
    seen_names: dict[str, int] = {}
    for n in gm.graph.nodes:
        if n.op in ("output", "get_attr") or n not in values:
            continue
        value = values[n]
        if not flatten_tensors(value):
            continue  # shape arithmetic (x.size(0)) and other non-tensor values
        # getitem on a multi-output node is the same data: alias, no new slab.
        if n.op == "call_function" and n.target is operator.getitem:
            src = n.args[0]
            if isinstance(src, fx.Node) and src in index:
                index[n] = index[src]
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
        count = seen_names.get(name, 0)
        seen_names[name] = count + 1
        if count:
            name = f"{name}#{count + 1}"  # a module called more than once
        inputs = [index[a] for a in n.all_input_nodes if a in index]
        index[n] = len(raw)
        raw.append(
            RawNode(name=name, op=op, kind=kind, params=params, output=value, inputs=inputs, spec=spec, module=module)
        )
    pairs = [(s, d) for d, r in enumerate(raw) for s in dict.fromkeys(r.inputs)]
    return raw, pairs
