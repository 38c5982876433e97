"""How each op maps output positions to input positions: what receptive fields are computed from.

Recorded at capture time for every node (torch only, plain data after).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from torch import nn

SpatialKind = Literal[
    "window", "adaptive", "elementwise", "concat", "stack", "slice", "flatten", "dense", "global_pool", "unknown"
]

ELEMENTWISE_FUNCTIONS = frozenset(
    {
        "add", "__add__", "__iadd__", "add_", "__radd__", "sub", "__sub__", "__rsub__", "mul", "__mul__",
        "__rmul__", "__imul__", "mul_", "div", "__truediv__", "truediv", "relu", "relu_", "gelu", "sigmoid",
        "tanh", "silu", "leaky_relu", "hardswish", "dropout", "batch_norm", "layer_norm", "clamp", "neg",
        "exp", "abs", "contiguous", "clone", "identity", "hardtanh", "elu", "softplus", "mish",
    }
)  # fmt: skip
ELEMENTWISE_MODULES: tuple[type[nn.Module], ...] = (
    nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.GroupNorm, nn.InstanceNorm2d, nn.ReLU, nn.ReLU6, nn.GELU,
    nn.SiLU, nn.Sigmoid, nn.Tanh, nn.LeakyReLU, nn.ELU, nn.Hardswish, nn.Identity, nn.Dropout, nn.Dropout2d,
    nn.Hardtanh, nn.Mish, nn.Softplus, nn.PReLU,
)  # fmt: skip


@dataclass(frozen=True)
class SpatialOp:
    """The position mapping of one op.

    ``window``: conv/pool, output (y, x) reads rows ``y·s - p .. y·s - p + (k-1)·d``;
    ``adaptive``: adaptive pooling to ``out_size``; ``elementwise``: same
    positions and channels; ``concat``: inputs stacked along channels;
    ``stack``: (H, W) inputs stacked as one channel each; ``slice``: a
    view that picks indices (``y[:, 4:]``, ``split``, ``narrow``, ``unbind``):
    output dim ``k`` indexes parent dim ``slice_dims[k]`` (-1: a new size-1
    dim) at the parent indices ``slice_index[slice_dims[k]]``, and a parent
    dim missing from ``slice_dims`` is fixed at its one index (dims are per
    sample: the batch dim is never sliced); ``flatten``: (C, H, W) → C·H·W features; ``dense``: every input feature;
    ``global_pool``: (C, H, W) → C features; ``unknown``: everything (drawn
    as an approximation).
    """

    kind: SpatialKind = "unknown"
    kernel: tuple[int, int] = (1, 1)
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1
    mixes_channels: bool = False
    out_size: tuple[int, int] | None = None
    slice_dims: tuple[int, ...] = ()
    slice_index: tuple[tuple[int, ...], ...] = ()


UNKNOWN = SpatialOp()
ELEMENTWISE = SpatialOp("elementwise")


def _pair(v: Any, default: int = 1) -> tuple[int, int]:
    if v is None:
        return (default, default)
    if isinstance(v, int):
        return (v, v)
    if isinstance(v, str):  # padding="same"/"valid" is resolved by the caller
        return (default, default)
    seq = tuple(int(x) for x in v)
    return (seq[-2], seq[-1]) if len(seq) >= 2 else (seq[0], seq[0])


def _same_padding(kernel: tuple[int, int], dilation: tuple[int, int]) -> tuple[int, int]:
    return tuple(d * (k - 1) // 2 for k, d in zip(kernel, dilation, strict=True))  # type: ignore[return-value]


def spec_for_module(module: nn.Module) -> SpatialOp:
    """The spatial mapping of a module (``unknown`` for blocks and unfamiliar modules)."""
    if isinstance(module, nn.Conv2d):
        kernel, dilation = _pair(module.kernel_size), _pair(module.dilation)
        padding = (
            _same_padding(kernel, dilation)
            if module.padding == "same"
            else (0, 0)
            if module.padding == "valid"
            else _pair(module.padding, 0)
        )
        return SpatialOp("window", kernel, _pair(module.stride), padding, dilation, module.groups, mixes_channels=True)
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
        kernel = _pair(module.kernel_size)
        stride = _pair(module.stride) if module.stride is not None else kernel
        dilation = _pair(getattr(module, "dilation", 1))
        return SpatialOp("window", kernel, stride, _pair(module.padding, 0), dilation)
    if isinstance(module, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
        return SpatialOp("adaptive", out_size=_pair(module.output_size))
    if isinstance(module, ELEMENTWISE_MODULES):
        return ELEMENTWISE
    if isinstance(module, nn.Flatten):
        return SpatialOp("flatten") if module.start_dim == 1 else UNKNOWN
    if isinstance(module, nn.Linear):
        return SpatialOp("dense", mixes_channels=True)
    return UNKNOWN


def spec_for_function(name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> SpatialOp:
    """The spatial mapping of a functional op, from its name and arguments."""

    def arg(i: int, key: str, default: Any) -> Any:
        if key in kwargs:
            return kwargs[key]
        return args[i] if len(args) > i else default

    if name in ELEMENTWISE_FUNCTIONS:
        return ELEMENTWISE
    if name == "conv2d":
        weight = arg(1, "weight", None)
        kernel = _pair(tuple(weight.shape[-2:])) if weight is not None else (1, 1)
        dilation = _pair(arg(5, "dilation", 1))
        padding = arg(4, "padding", 0)
        pad = _same_padding(kernel, dilation) if padding == "same" else _pair(padding, 0)
        return SpatialOp("window", kernel, _pair(arg(3, "stride", 1)), pad, dilation, int(arg(6, "groups", 1)), True)
    if name in ("max_pool2d", "avg_pool2d"):
        kernel = _pair(arg(1, "kernel_size", 1))
        stride = arg(2, "stride", None)
        dilation = _pair(arg(4, "dilation", 1)) if name == "max_pool2d" else (1, 1)
        return SpatialOp(
            "window", kernel, _pair(stride) if stride else kernel, _pair(arg(3, "padding", 0), 0), dilation
        )
    if name in ("adaptive_avg_pool2d", "adaptive_max_pool2d"):
        return SpatialOp("adaptive", out_size=_pair(arg(1, "output_size", 1)))
    if name in ("cat", "concat", "concatenate"):
        dim = arg(1, "dim", 0)
        return SpatialOp("concat") if dim in (1, -3) else UNKNOWN
    if name == "stack":
        tensors = arg(0, "tensors", ())
        rank = tensors[0].dim() if tensors and hasattr(tensors[0], "dim") else 0
        # (N, H, W) maps stacked at dim 1 become the channels of one (N, K, H, W) image.
        return SpatialOp("stack") if rank == 3 and arg(1, "dim", 0) % 4 == 1 else UNKNOWN
    if name == "flatten":
        return SpatialOp("flatten") if arg(1, "start_dim", 0) == 1 else UNKNOWN
    if name == "linear":
        return SpatialOp("dense", mixes_channels=True)
    if name == "mean":
        dims = arg(1, "dim", None)
        dims = (dims,) if isinstance(dims, int) else tuple(dims or ())
        keep = arg(2, "keepdim", False)
        return SpatialOp("global_pool") if sorted(d % 4 for d in dims) == [2, 3] and not keep else UNKNOWN
    return UNKNOWN


def window_rows(lo: int, hi: int, kernel: int, stride: int, padding: int, dilation: int, size: int) -> tuple[int, int]:
    """Input rows (inclusive) read by output rows ``lo..hi`` of a window op, clipped to the input."""
    a = lo * stride - padding
    b = hi * stride - padding + (kernel - 1) * dilation
    return max(a, 0), min(b, size - 1)


def adaptive_rows(lo: int, hi: int, out: int, size: int) -> tuple[int, int]:
    """Input rows pooled into output bins ``lo..hi`` of adaptive pooling (PyTorch's bin edges)."""
    return (lo * size) // out, math.ceil((hi + 1) * size / out) - 1
