"""Capture: run a model once and record its dataflow graph and activations.

torch only: nothing here imports GL, vispy, glfw or cupy.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

from viz3d.capture.budget import memory_watch, out_of_memory
from viz3d.capture.common import (
    ProgressCallback,
    RawNode,
    classify_edges,
    make_node,
    signal_layouts,
)
from viz3d.capture.folding import Folding
from viz3d.capture.fx_capture import capture_fx
from viz3d.capture.guard import check_real_tensors, model_untouched
from viz3d.capture.hook_capture import capture_hooks
from viz3d.capture.trace import CaptureMethod, Edge, Node, Trace
from viz3d.errors import Viz3dError, warn_once

__all__ = ["Edge", "Node", "Trace", "capture"]


def capture(
    model: nn.Module,
    x: torch.Tensor | tuple[torch.Tensor, ...],
    *,
    batch_index: int = 0,
    group_depth: int | None = None,
    method: CaptureMethod | None = None,
    progress: ProgressCallback | None = None,
    train: bool = False,
    memory_limit: int | None = None,
    open_blocks: Iterable[str] = (),
) -> Trace:
    """Run ``model`` on ``x`` and record every unit's output and the edges between them.

    Parameters
    ----------
    model
        Any ``nn.Module``; it is run once under ``torch.no_grad()``, in eval
        mode, and left exactly as it was found (training flags, buffers such
        as BatchNorm statistics, hooks, autograd mode, RNG state), also when
        the capture fails or is interrupted.
    x
        The input batch (or a tuple of inputs), on the model's device.
    batch_index
        Which sample of the batch is shown.
    group_depth
        ``None`` shows leaf modules; ``k`` folds everything below dotted-name
        depth ``k`` into one unit (``1``: a ResNet stage, ``2``: a block).
    method
        ``"fx"`` or ``"hooks"`` to force a path; by default fx is tried and
        hooks are used (with a warning) when the model cannot be traced.
    progress
        Called as ``progress(done, total)`` while the model runs (for
        progress bars on big models).
    train
        Record train-mode activations (batch statistics, active dropout)
        instead of inference ones; the model is restored all the same.
    memory_limit
        Bytes the capture may take (default: most of the memory free when it
        starts); past it, capture stops with a one-line error.
    open_blocks
        Dotted names of folded modules shown opened (their own modules as
        units), their neighbours staying folded at ``group_depth``.

    Returns
    -------
    Trace
        Nodes in execution order with detached activations left on their device.

    Examples
    --------
    >>> import torch, viz3d
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU())
    >>> trace = viz3d.trace(net, torch.rand(1, 3, 16, 16))
    >>> [n.name for n in trace]
    ['input', '0', '1']
    """
    batch_size = checked_call(model, x, batch_index, group_depth)
    folding = Folding.of(group_depth, open_blocks)
    with model_untouched(model, train):
        raw, pairs, used, notes = run_checked(model, x, folding, method, memory_watch(x, progress, memory_limit))
    return build_trace(raw, pairs, used, notes, batch_index, batch_size, group_depth)


def checked_call(
    model: nn.Module, x: torch.Tensor | tuple[torch.Tensor, ...], batch_index: int, group_depth: int | None
) -> int:
    """Check what a capture is given (one-line errors); returns the batch size."""
    if not isinstance(model, nn.Module):
        raise Viz3dError(f"capture needs a torch.nn.Module, got {type(model).__name__}")
    if group_depth is not None and group_depth < 1:
        raise Viz3dError(f"group_depth must be 1 or more (or None for leaf modules), got {group_depth}")
    first = x[0] if isinstance(x, tuple) else x
    if not isinstance(first, torch.Tensor):
        raise Viz3dError(f"the input must be a torch.Tensor (or a tuple of them), got {type(first).__name__}")
    batch_size = int(first.shape[0]) if first.dim() > 0 else 1
    if batch_size == 0:
        raise Viz3dError(f"the input batch is empty (shape {tuple(first.shape)}): pass at least one sample")
    check_real_tensors(model, x)
    if not 0 <= batch_index < max(batch_size, 1):
        raise Viz3dError(f"batch_index {batch_index} is out of range for a batch of {batch_size}")
    return batch_size


def build_trace(
    raw: list[RawNode],
    pairs: list[tuple[int, int]],
    used: CaptureMethod,
    notes: list[str],
    batch_index: int,
    batch_size: int,
    group_depth: int | None,
) -> Trace:
    """The trace of a recorded run: detached nodes with their display volumes, and classified edges."""
    signals = signal_layouts(raw)
    nodes = [make_node(i, r, batch_index, batch_size, signals[i]) for i, r in enumerate(raw)]
    trace = Trace(
        nodes=nodes,
        edges=classify_edges(pairs),
        method=used,
        batch_index=batch_index,
        group_depth=group_depth,
        notes=notes,
    )
    _report_bad_values(trace)
    return trace


def run_checked(
    model: nn.Module,
    x: torch.Tensor | tuple[torch.Tensor, ...],
    group_depth: Folding | int | None,
    method: CaptureMethod | None,
    progress: ProgressCallback | None,
    grad: bool = False,
) -> tuple[list[RawNode], list[tuple[int, int]], CaptureMethod, list[str]]:
    """Record the run with fx, falling back to hooks (saying so once) when fx cannot trace the model.

    What it raises becomes one line: fx's appended details go, running out of memory is said so.
    """
    try:
        return _record(model, x, group_depth, method, progress, grad)
    except Viz3dError as exc:
        line = str(exc).split("\n", 1)[0]  # torch.fx appends "While executing ..." to what passes through
        if line == str(exc):
            raise
        raise Viz3dError(line) from exc
    except (MemoryError, RuntimeError) as exc:
        oom = out_of_memory(exc, x)
        if oom is None:
            raise
        raise oom from exc


def _record(
    model: nn.Module, x: Any, folding: Folding | int | None, method: CaptureMethod | None, progress: Any, grad: bool
) -> tuple[list[RawNode], list[tuple[int, int]], CaptureMethod, list[str]]:
    raw: list[RawNode]
    used: CaptureMethod
    notes: list[str] = []
    if method in (None, "fx"):
        try:
            raw, pairs = capture_fx(model, x, folding, progress, grad)
            used = "fx"
        except Viz3dError:
            raise
        except Exception as exc:
            if method == "fx":
                raise Viz3dError(f"torch.fx cannot trace this model: {_first_line(exc)} (use method='hooks')") from exc
            note = (
                f"torch.fx cannot trace {type(model).__name__} ({_first_line(exc)}); "
                "captured with forward hooks instead"
            )
            warn_once(note)
            notes.append(note)
            raw, pairs = capture_hooks(model, x, folding, progress, grad)
            used = "hooks"
    elif method == "hooks":
        raw, pairs = capture_hooks(model, x, folding, progress, grad)
        used = "hooks"
    else:
        raise Viz3dError(f"unknown capture method {method!r}: use 'fx' or 'hooks'")
    return raw, pairs, used, notes


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:160] if text else type(exc).__name__


def _report_bad_values(trace: Trace) -> None:
    """Count NaN/Inf across shown activations; warn once with the total."""
    bad: list[tuple[str, int]] = []
    for node in trace:
        if node.display is None or not node.display.dtype.is_floating_point:
            continue
        count = int((~torch.isfinite(node.display)).sum())
        if count:
            bad.append((node.name, count))
    if bad:
        total = sum(c for _, c in bad)
        where = ", ".join(f"{n} ({c})" for n, c in bad[:3]) + (" ..." if len(bad) > 3 else "")
        note = f"{total} NaN/Inf activation values in {len(bad)} layers: {where}; drawn in the NaN colour"
        trace.notes.append(note)
        warn_once(note)


def synthetic_trace(shapes: list[tuple[int, int, int]], seed: int = 0, skip_every: int = 0) -> Trace:
    """A chain of random activations of the given (C, H, W) shapes, for benchmarks and tests.

    ``skip_every=k`` adds a skip edge over every k layers, like residual blocks.
    """
    g = torch.Generator().manual_seed(seed)
    nodes = []
    for i, (c, h, w) in enumerate(shapes):
        t = torch.randn((1, c, h, w), generator=g).relu_()
        nodes.append(
            Node(
                id=i,
                name=f"layer{i}",
                op="Conv2d",
                kind="conv",
                shape=tuple(t.shape),
                dtype="float32",
                params=0,
                tensor=t,
                display=t[0],
            )
        )
    pairs = [(i, i + 1) for i in range(len(shapes) - 1)]
    if skip_every > 1:
        pairs += [(i, i + skip_every) for i in range(0, len(shapes) - skip_every, skip_every)]
    return Trace(nodes=nodes, edges=classify_edges(pairs), method="synthetic")


def resnet50_shapes() -> list[tuple[int, int, int]]:
    """(C, H, W) of every convolution output of ResNet-50 on a 224×224 image.

    53 layers (downsample convolutions included), 26,560 feature maps and
    10.6M values: the ResNet-50-sized scene the design's targets are stated for.
    """
    out = [(64, 112, 112)]
    for width, blocks, side in ((64, 3, 56), (128, 4, 28), (256, 6, 14), (512, 3, 7)):
        for b in range(blocks):
            out += [(width, side, side), (width, side, side), (width * 4, side, side)]
            if b == 0:
                out.append((width * 4, side, side))  # the downsample branch
    return out
