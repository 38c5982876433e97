"""Slices as ops of their own: which parent indices each output of ``y[:, 4:]``, ``split`` or ``unbind`` holds.

A slice is recorded as a ``SpatialOp("slice")`` (see :class:`~viz3d.capture.spatial.SpatialOp`):
for every per-sample dim of the parent, the parent indices taken, and for
every output dim, the parent dim it runs along. Both capture paths build it
from the op's arguments, then check it against the output torch computed
(shape and values); anything it cannot state exactly (several index
tensors, a sliced batch dim) stays ``UNKNOWN``, so receptive fields through
it are marked approximate instead of being wrong in silence.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from viz3d.capture.spatial import UNKNOWN, SpatialOp

# Single-output ops that only pick indices of their first argument.
SLICE_FUNCTIONS = frozenset({"getitem", "narrow", "select", "index_select"})
# Ops returning consecutive pieces along one dim, with the position of their ``dim`` argument.
MULTI_SLICE_FUNCTIONS: dict[str, int] = {"split": 2, "chunk": 2, "tensor_split": 2, "split_with_sizes": 2, "unbind": 1}

Picks = list[tuple[int, ...]]


def _arg(args: Sequence[Any], kwargs: Mapping[str, Any], i: int, key: str, default: Any) -> Any:
    if key in kwargs:
        return kwargs[key]
    return args[i] if len(args) > i else default


def _as_int(value: Any) -> int | None:
    """A Python or 0-d integer tensor index as an int; None for anything else (bools included)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, torch.Tensor):
        integral = not value.dtype.is_floating_point and not value.dtype.is_complex and value.dtype != torch.bool
        return int(value) if value.dim() == 0 and integral else None
    try:
        return operator.index(value)
    except TypeError:
        return None


def _index_list(value: Any, size: int) -> tuple[int, ...] | None:
    """A 1-D integer list/tensor or boolean mask as the parent indices it picks; None otherwise."""
    t = value if isinstance(value, torch.Tensor) else None
    if t is None and isinstance(value, (list, tuple)) and all(isinstance(v, (int, bool)) for v in value):
        t = torch.tensor(value) if value else torch.zeros(0, dtype=torch.long)
    if t is None or t.dim() != 1 or t.dtype.is_floating_point:
        return None
    if t.dtype == torch.bool:
        if t.numel() != size:
            return None
        t = torch.nonzero(t).flatten()
    picked = [int(v) + size if int(v) < 0 else int(v) for v in t.tolist()]
    return tuple(picked) if all(0 <= v < size for v in picked) else None


def _getitem(shape: tuple[int, ...], index: Any) -> tuple[list[int], Picks] | None:
    """Output dims (parent dim each, -1 for a new axis) and parent picks of ``tensor[index]``."""
    items = list(index) if isinstance(index, tuple) else [index]
    widths = [0 if it is None or it is Ellipsis else 1 for it in items]
    if sum(1 for it in items if it is Ellipsis) > 1 or sum(widths) > len(shape):
        return None
    fill = [slice(None)] * (len(shape) - sum(widths))
    if any(it is Ellipsis for it in items):
        at = next(i for i, it in enumerate(items) if it is Ellipsis)
        items = items[:at] + fill + items[at + 1 :]
    else:
        items += fill
    out: list[int] = []
    picks: Picks = []
    advanced: list[int] = []  # positions in ``items`` of index lists and, alongside one, of integers
    first_list: int | None = None
    for pos, it in enumerate(items):
        if it is None:
            out.append(-1)
            continue
        d, size = len(picks), shape[len(picks)]
        i = _as_int(it)
        if i is not None:
            if not -size <= i < size:
                return None
            picks.append((i % size,))
            advanced.append(pos)
        elif isinstance(it, slice):
            picks.append(tuple(range(size)[it]))
            out.append(d)
        else:
            listed = _index_list(it, size)
            if listed is None or first_list is not None:
                return None  # several index tensors pair up elementwise: not one pick per dim
            picks.append(listed)
            out.append(d)
            first_list = pos
            advanced.append(pos)
    if first_list is not None and advanced != list(range(advanced[0], advanced[-1] + 1)):
        return None  # torch moves the indexed dim to the front when index lists and integers are apart
    return out, picks


def _single(
    name: str, args: Sequence[Any], kwargs: Mapping[str, Any], shape: tuple[int, ...]
) -> tuple[list[int], Picks] | None:
    """(output dims, picks) of a single-output slice op, or None."""
    full: Picks = [tuple(range(s)) for s in shape]
    if name == "getitem":
        return _getitem(shape, args[1]) if len(args) > 1 else None
    dim = _as_int(_arg(args, kwargs, 1, "dim", None))
    if dim is None or not -len(shape) <= dim < len(shape):
        return None
    dim %= len(shape)
    kept = [d for d in range(len(shape)) if d != dim]
    if name == "narrow":
        start, length = _as_int(_arg(args, kwargs, 2, "start", None)), _as_int(_arg(args, kwargs, 3, "length", None))
        if start is None or length is None:
            return None
        start %= max(shape[dim], 1)
        full[dim] = tuple(range(start, start + length))
        return list(range(len(shape))), full
    if name == "select":
        i = _as_int(_arg(args, kwargs, 2, "index", None))
        if i is None:
            return None
        full[dim] = (i % max(shape[dim], 1),)
        return kept, full
    listed = _index_list(_arg(args, kwargs, 2, "index", None), shape[dim])  # index_select
    if listed is None:
        return None
    full[dim] = listed
    return list(range(len(shape))), full


def _finish(out_dims: list[int], picks: Picks, parent: torch.Tensor, out: Any) -> SpatialOp:
    """Drop the batch dim, then keep the spec only if it reproduces torch's output exactly."""
    n = parent.shape[0] if parent.dim() else 0
    if not out_dims or out_dims[0] != 0 or picks[0] != tuple(range(n)):
        return UNKNOWN  # the batch dim itself is sliced or moved: no per-sample mapping
    spec = SpatialOp(
        "slice",
        slice_dims=tuple(d - 1 if d > 0 else -1 for d in out_dims[1:]),
        slice_index=tuple(picks[1:]),
    )
    try:
        matches = isinstance(out, torch.Tensor) and same_values(apply_slice(spec, parent), out)
    except (RuntimeError, NotImplementedError):
        matches = False  # values that cannot be compared (meta tensors): no claim of exactness
    return spec if matches else UNKNOWN


def slice_spec(name: str, args: Sequence[Any], kwargs: Mapping[str, Any], out: Any) -> SpatialOp:
    """The slice mapping of a single-output slice op applied to ``args[0]``; UNKNOWN if not exact."""
    parent = args[0] if args else None
    if name not in SLICE_FUNCTIONS or not isinstance(parent, torch.Tensor) or parent.dim() < 2:
        return UNKNOWN
    try:
        found = _single(name, args, kwargs, tuple(parent.shape))
    except (TypeError, ValueError, IndexError, RuntimeError):
        found = None  # an index form this module does not read: keep the op, unmapped
    return UNKNOWN if found is None else _finish(found[0], found[1], parent, out)


def item_specs(name: str, args: Sequence[Any], kwargs: Mapping[str, Any], outs: Sequence[Any]) -> list[SpatialOp]:
    """The slice mapping of each output of ``split``, ``chunk``, ``tensor_split`` or ``unbind``."""
    parent = args[0] if args else None
    if name not in MULTI_SLICE_FUNCTIONS or not isinstance(parent, torch.Tensor) or parent.dim() < 2:
        return [UNKNOWN] * len(outs)
    dim = _as_int(_arg(args, kwargs, MULTI_SLICE_FUNCTIONS[name], "dim", 0))
    shape = tuple(parent.shape)
    if dim is None or not -len(shape) <= dim < len(shape):
        return [UNKNOWN] * len(outs)
    dim %= len(shape)
    specs, start = [], 0
    for out in outs:
        # The pieces are consecutive along ``dim``: each starts where the previous one ended.
        picks: Picks = [tuple(range(s)) for s in shape]
        size = 1 if name == "unbind" else (int(out.shape[dim]) if isinstance(out, torch.Tensor) else 0)
        picks[dim] = tuple(range(start, start + size))
        out_dims = [d for d in range(len(shape)) if name != "unbind" or d != dim]
        specs.append(_finish(out_dims, picks, parent, out))
        start += size
    return specs


def apply_slice(spec: SpatialOp, parent: torch.Tensor) -> torch.Tensor:
    """``parent`` (batch dim first) sliced as ``spec`` says: what the recorded op must have produced."""
    t = parent
    for d, idx in enumerate(spec.slice_index):
        size = t.shape[d + 1]
        if idx == tuple(range(size)):
            continue
        if idx and idx == tuple(range(idx[0], idx[0] + len(idx))):
            t = t.narrow(d + 1, idx[0], len(idx))  # a view: checking a plain slice copies nothing big
        else:
            t = t.index_select(d + 1, torch.tensor(idx, dtype=torch.long, device=t.device))
    kept = [d for d in spec.slice_dims if d >= 0]
    dropped = [d + 1 for d in range(len(spec.slice_index)) if d not in kept]
    if dropped:
        t = t.squeeze(tuple(dropped))
    order = sorted(kept)
    t = t.permute(0, *(order.index(d) + 1 for d in kept))
    for pos, d in enumerate(spec.slice_dims):
        if d < 0:
            t = t.unsqueeze(pos + 1)
    return t


def same_values(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Equal shapes and values, NaN equal to NaN."""
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if torch.equal(a, b):
        return True
    return a.is_floating_point() and bool(torch.isclose(a, b, rtol=0, atol=0, equal_nan=True).all())


def _describe_dim(idx: tuple[int, ...], size: int) -> str:
    if not idx:
        return "[]"
    if idx == tuple(range(size)):
        return ":"
    step = idx[1] - idx[0] if len(idx) > 1 else 1
    if step > 0 and idx == tuple(range(idx[0], idx[-1] + 1, step)):
        stop = "" if idx[-1] + step >= size else str(idx[-1] + step)
        return f"{idx[0] or ''}:{stop}" + (f":{step}" if step > 1 else "")
    shown = ", ".join(str(v) for v in idx[:4])
    return f"[{shown}{', ...' if len(idx) > 4 else ''}]"


def describe(spec: SpatialOp, parent_shape: Sequence[int]) -> str:
    """``spec`` in indexing notation, for labels: ``[:, 4:]``, ``[:, 2]``, ``[:, :, 2:6, 1:]``."""
    sizes = list(parent_shape)[1:]
    parts, done = [":"], 0
    for d in (*spec.slice_dims, len(sizes)):
        if d < 0:
            parts.append("None")
            continue
        while done <= min(d, len(sizes) - 1):
            idx = spec.slice_index[done]
            parts.append(str(idx[0]) if done not in spec.slice_dims else _describe_dim(idx, sizes[done]))
            done += 1
    while len(parts) > 1 and parts[-1] == ":":
        parts.pop()
    return "[" + ", ".join(parts) + "]"


def slice_display(spec: SpatialOp) -> str | None:
    """How a 2-D (per sample) slice output is shown: ``"image"`` when it is one (H, W) map of an
    image (``y[:, 2]``, ``unbind`` over channels), ``"signal"`` when it keeps the channels of an
    image (``y[:, :, 3]``: C rows of W); None when it is no such slice."""
    if spec.kind != "slice" or len(spec.slice_index) != 3 or len(spec.slice_dims) != 2:
        return None
    if spec.slice_dims == (1, 2):
        return "image"
    return "signal" if spec.slice_dims[0] == 0 else None
