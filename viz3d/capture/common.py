"""Pieces shared by the fx and hook capture paths."""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from viz3d.capture.display import to_display
from viz3d.capture.slicing import MULTI_SLICE_FUNCTIONS, SLICE_FUNCTIONS, slice_display
from viz3d.capture.spatial import UNKNOWN, SpatialOp
from viz3d.capture.trace import Edge, EdgeKind, Node
from viz3d.errors import Viz3dError

ProgressCallback = Callable[[int, int], None]


_KIND_BY_MODULE: tuple[tuple[tuple[type[nn.Module], ...], str], ...] = (
    ((nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d), "conv"),
    (
        (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.LayerNorm, nn.GroupNorm, nn.InstanceNorm2d),
        "norm",
    ),
    (
        (nn.ReLU, nn.ReLU6, nn.GELU, nn.SiLU, nn.Sigmoid, nn.Tanh, nn.LeakyReLU, nn.ELU, nn.Hardswish, nn.Softmax),
        "activation",
    ),
    (
        (
            nn.MaxPool1d,
            nn.MaxPool2d,
            nn.MaxPool3d,
            nn.AvgPool1d,
            nn.AvgPool2d,
            nn.AvgPool3d,
            nn.AdaptiveAvgPool2d,
            nn.AdaptiveMaxPool2d,
            nn.AdaptiveAvgPool1d,
        ),
        "pool",
    ),
    ((nn.Linear, nn.Bilinear), "linear"),
    ((nn.Flatten, nn.Unflatten), "reshape"),
    ((nn.Dropout, nn.Identity), "identity"),
)

_KIND_BY_FUNCTION: dict[str, str] = {
    "add": "merge",
    "__add__": "merge",
    "__iadd__": "merge",
    "add_": "merge",
    "cat": "merge",
    "concat": "merge",
    "stack": "merge",
    "mul": "merge",
    "__mul__": "merge",
    "relu": "activation",
    "relu_": "activation",
    "gelu": "activation",
    "sigmoid": "activation",
    "silu": "activation",
    "softmax": "activation",
    "tanh": "activation",
    "flatten": "reshape",
    "view": "reshape",
    "reshape": "reshape",
    "permute": "reshape",
    "transpose": "reshape",
    "max_pool2d": "pool",
    "avg_pool2d": "pool",
    "adaptive_avg_pool2d": "pool",
    "mean": "pool",
    "conv2d": "conv",
    "linear": "linear",
    **dict.fromkeys(SLICE_FUNCTIONS | MULTI_SLICE_FUNCTIONS.keys(), "slice"),
}


def module_kind(module: nn.Module) -> str:
    """Category of a module for colouring and grouping."""
    for types, kind in _KIND_BY_MODULE:
        if isinstance(module, types):
            return kind
    if any(True for _ in module.children()):
        return "block"
    return "other"


def function_kind(name: str) -> str:
    """Category of a functional op by name."""
    return _KIND_BY_FUNCTION.get(name, "other")


def function_name(target: Any) -> str:
    """Readable name of an fx call_function target or a torch function."""
    if target is operator.getitem:
        return "getitem"
    name = getattr(target, "__name__", None) or str(target)
    name = name.replace("<built-in method ", "").split(" ")[0]
    return "getitem" if name == "__getitem__" else name  # Tensor.__getitem__ seen by the hook path


def is_inplace(name: str, module: nn.Module | None, kwargs: Mapping[str, Any] | None) -> bool:
    """Whether an op overwrites its input (ReLU(inplace=True), add_, x += y)."""
    if module is not None and bool(getattr(module, "inplace", False)):
        return True
    if kwargs and kwargs.get("inplace") is True:
        return True
    return (name.endswith("_") and not name.endswith("__")) or name.startswith("__i")


def flatten_tensors(value: Any) -> list[torch.Tensor]:
    """All tensors inside a (nested) tuple, list, dict or named tuple, in order."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, Mapping):
        return [t for v in value.values() for t in flatten_tensors(v)]
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in flatten_tensors(v)]
    return []


def reads_shown_output(output: Any, tensor: torch.Tensor) -> bool:
    """Whether ``tensor`` is the output a node shows (its first), so a slice of it maps onto that node.

    A single output of the same shape counts too: capture may hold a private
    copy of it (taken before an in-place op).
    """
    tensors = flatten_tensors(output)
    if not tensors:
        return False
    return tensors[0] is tensor or (len(tensors) == 1 and tensors[0].shape == tensor.shape)


def param_count(module: nn.Module | None) -> int:
    """Number of parameters of a module, its children included."""
    if module is None:
        return 0
    return sum(p.numel() for p in module.parameters())


@dataclass
class RawNode:
    """What a capture path records before the Trace is finalized."""

    name: str
    op: str
    kind: str
    params: int
    output: Any
    inputs: list[int]
    spec: SpatialOp = UNKNOWN
    module: nn.Module | None = None
    grad_edge: Any = None  # with gradients on: where autograd takes d/d(this output as it was made)


def gradient_edge(t: torch.Tensor) -> Any:
    """The autograd edge of ``t`` as it is now (None when nothing it depends on asks for a gradient).

    A gradient asked for through the edge is that of this value, even after
    later in-place ops change the tensor (ReLU(inplace=True) after a conv).
    """
    return torch.autograd.graph.get_gradient_edge(t) if t.requires_grad else None


ONE_D_MODULES = (nn.Conv1d, nn.ConvTranspose1d, nn.BatchNorm1d, nn.MaxPool1d, nn.AvgPool1d, nn.AdaptiveAvgPool1d)


def signal_layouts(raw: list[RawNode]) -> list[bool]:
    """Which (N, C, L) outputs are channels-first signals rather than (N, L, D) token sequences.

    1-D convolutions, their pooling and normalization produce signals,
    elementwise ops (ReLU, additions) keep the layout of a same-shaped input,
    and slices keep it too (or make rows of an image's channels: ``y[:, :, 3]``).
    """
    out: list[bool] = []
    for r in raw:
        tensors = flatten_tensors(r.output)
        shape = tuple(tensors[0].shape) if tensors else ()
        signal = len(shape) == 3 and isinstance(r.module, ONE_D_MODULES)
        if not signal and len(shape) == 3 and r.spec.kind == "slice":
            # y[:, :, 3] holds the channels of an image, each a row; a slice of signals keeping both dims is signals.
            keeps_signals = r.spec.slice_dims == (0, 1) and bool(r.inputs) and out[r.inputs[0]]
            signal = slice_display(r.spec) == "signal" or keeps_signals
        elif not signal and len(shape) == 3 and r.spec.kind == "elementwise":
            signal = any(
                out[p] and tuple(flatten_tensors(raw[p].output)[0].shape) == shape for p in r.inputs if p < len(out)
            )
        out.append(signal)
    return out


def make_node(node_id: int, raw: RawNode, batch_index: int, batch_size: int, channels_first: bool = False) -> Node:
    """Detach the activation, select the sample and build its display volume."""
    tensors = flatten_tensors(raw.output)
    tensor = tensors[0].detach() if tensors else None
    node = Node(
        id=node_id,
        name=raw.name,
        op=raw.op,
        kind=raw.kind,
        shape=tuple(tensor.shape) if tensor is not None else (),
        dtype=str(tensor.dtype).replace("torch.", "") if tensor is not None else "none",
        params=raw.params,
        tensor=tensor,
        spec=raw.spec,
        inputs=tuple(raw.inputs),
        module=raw.module,
    )
    if tensor is None:
        node.display_note = "no tensor output"
        return node
    if tensor.is_complex():
        node.display_note = "complex output not shown"
        return node
    node.display, note = sample_display(tensor, raw.spec, batch_index, batch_size, channels_first)
    notes = [note] if note else []
    if len(tensors) > 1:
        notes.append(f"{len(tensors)} outputs, showing the first")
    node.display_note = "; ".join(notes)
    return node


def sample_display(
    tensor: torch.Tensor, spec: SpatialOp, batch_index: int, batch_size: int, channels_first: bool = False
) -> tuple[torch.Tensor, str]:
    """One sample of a recorded output as its (C, H, W) display volume, and the note saying how it was read.

    Differentiable (indexing and reshapes only): gradients use it too.
    """
    sample = tensor[batch_index] if tensor.dim() >= 1 and tensor.shape[0] == batch_size else tensor
    if sample.dim() == 2 and slice_display(spec) == "image":
        sample = sample.unsqueeze(0)  # one map of an image (y[:, 2], unbind over channels)
    return to_display(sample, channels_first)


def classify_edges(pairs: Iterable[tuple[int, int]]) -> list[Edge]:
    """Label each (src, dst) pair sequential, skip or merge.

    An edge is a *skip* when another input of ``dst`` descends from ``src``
    (the edge bypasses layers that also lead to ``dst``: ResNet's identity,
    DenseNet's concatenated inputs). Other edges into a node with several
    inputs are *merges* (Inception's branches meeting at a concat).
    """
    unique = list(dict.fromkeys(pairs))
    parents: dict[int, list[int]] = {}
    for s, d in unique:
        parents.setdefault(d, []).append(s)
    ancestors: dict[int, set[int]] = {}

    def ancestors_of(n: int) -> set[int]:
        # Iterative, memoised: graphs of deep networks are thousands of nodes.
        if n in ancestors:
            return ancestors[n]
        stack = [n]
        while stack:
            cur = stack[-1]
            pending = [p for p in parents.get(cur, []) if p not in ancestors]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            acc: set[int] = set()
            for p in parents.get(cur, []):
                acc.add(p)
                acc |= ancestors[p]
            ancestors[cur] = acc
        return ancestors[n]

    edges = []
    for s, d in unique:
        others = [p for p in parents[d] if p != s]
        kind: EdgeKind = "sequential"
        if others:
            kind = "skip" if any(s in ancestors_of(o) for o in others) else "merge"
        edges.append(Edge(s, d, kind))
    return edges


def shape_matches(actual: tuple[int, ...], expected: tuple[int | str, ...]) -> bool:
    """Whether ``actual`` fits ``expected``, where strings are wildcards."""
    if len(actual) != len(expected):
        return False
    return all(isinstance(e, str) or e == a for a, e in zip(actual, expected, strict=True))


def expected_input_shape(model: nn.Module) -> tuple[int | str, ...] | None:
    """Best guess of the input shape ``model`` wants, for error messages.

    Uses a declared ``input_shape`` attribute, else the first conv or linear
    layer's input channel count.
    """
    declared = getattr(model, "input_shape", None)
    if declared is not None:
        return tuple(declared)
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            return ("N", module.in_channels, "H", "W")
        if isinstance(module, nn.Conv1d):
            return ("N", module.in_channels, "L")
        if isinstance(module, nn.Conv3d):
            return ("N", module.in_channels, "D", "H", "W")
        if isinstance(module, nn.Linear):
            return ("N", module.in_features)
    return None


def forward_error(layer: str, op: str, exc: BaseException, model: nn.Module, x: Any) -> Viz3dError:
    """The one-line error for a model that raised in forward."""
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    msg = f"the model failed in layer '{layer}' ({op}): {type(exc).__name__}: {first}"
    expected = expected_input_shape(model)
    if isinstance(x, torch.Tensor) and expected is not None and not shape_matches(tuple(x.shape), expected):
        shown = "(" + ", ".join(str(e) for e in expected) + ")"
        msg += f"; the input has shape {tuple(x.shape)} but the model expects {shown}"
    return Viz3dError(msg)
