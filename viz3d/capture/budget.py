"""Memory guard for capture (torch only).

Capture keeps every unit's output, so a wide layer on a large input can ask
for more memory than the machine has, and the run would end in a
MemoryError traceback after minutes of swapping. Two guards, neither of
which costs a second run of the model:

- a watch on the run itself: after each recorded unit, the memory the
  capture has taken since it started (process resident memory for the CPU,
  torch's allocated bytes for a GPU) is compared with what was free at the
  start; past :data:`SAFETY` of it, capture stops with one line naming the
  size so far, the unit it reached and what lowers it;
- an allocation that fails outright (one layer larger than what is left) is
  turned into the same kind of line.

(A shape-only run on the meta device would predict the size up front, but
its first use costs 1.5–2.5 s of kernel set-up in torch 2.13 on 2 cores,
more than many whole captures.)
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import torch

from viz3d.errors import Viz3dError

SAFETY = 0.8  # share of the memory free at the start that a capture may take
OOM_MARKERS = ("out of memory", "can't allocate memory", "not enough memory", "DefaultCPUAllocator")


def size_text(n: float) -> str:
    return f"{n / 2**30:.1f} GB" if n >= 2**29 else f"{n / 2**20:.0f} MB"


def available_bytes(device: torch.device | None = None) -> int | None:
    """Free memory where tensors of ``device`` live (MemAvailable for the CPU, the default), or None when unknown."""
    if device is not None and device.type == "cuda" and torch.cuda.is_available():
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _used_bytes(device: torch.device) -> int:
    if device.type == "cuda":
        return int(torch.cuda.memory_allocated(device))
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _first(x: Any) -> torch.Tensor:
    return x[0] if isinstance(x, tuple) else x


def memory_watch(
    x: Any, progress: Callable[[int, int], None] | None, limit: int | None = None
) -> Callable[[int, int], None] | None:
    """A progress callback that also stops the capture once it has taken too much memory.

    ``limit`` (bytes the capture may take) overrides the free memory found
    at the start (tests use it). Returns ``progress`` itself when the free
    memory cannot be read.
    """
    device = _first(x).device
    free = limit if limit is not None else available_bytes(device)
    if free is None:
        return progress
    budget = SAFETY * free if limit is None else free
    start = _used_bytes(device)

    def watch(done: int, total: int) -> None:
        taken = _used_bytes(device) - start
        if taken > budget:
            where = "GPU memory" if device.type == "cuda" else "memory"
            raise Viz3dError(
                f"capturing this model on an input of shape {tuple(_first(x).shape)} took {size_text(taken)} by unit "
                f"{done} of {total}, more than the {size_text(budget)} of {where} it may use: use a smaller input or "
                "batch, or fold blocks with group_depth / --group-depth"
            )
        if progress is not None:
            progress(done, total)

    return watch


def out_of_memory(exc: BaseException, x: Any) -> Viz3dError | None:
    """The one-line error for an out-of-memory failure during the run, or None for other errors."""
    text = str(exc)
    if not (isinstance(exc, MemoryError) or any(m in text for m in OOM_MARKERS)):
        return None
    detail = text.strip().splitlines()[0][:160] if text.strip() else type(exc).__name__
    return Viz3dError(
        f"ran out of memory capturing the model on an input of shape {tuple(_first(x).shape)} ({detail}): "
        "use a smaller input or batch, or fold blocks with group_depth / --group-depth"
    )
