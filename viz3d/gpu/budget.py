"""Fitting every layer's texture into a memory budget: R32F, then R16F where safe, then smaller maps.

A deep network at a large input can hold more activation values than the GL
implementation has memory for (EfficientNet-B7 at 600² holds about 4 GB).
Within a budget of bytes the plan steps down in the order that loses the
least: every layer in R32F; then R16F for the layers that survive half
precision (:mod:`viz3d.gpu.half`); then the largest maps are box-filtered
by an integer factor (2, 4, ...), one layer at a time, largest map first,
until the textures fit. Only the textures shrink: the trace keeps the true
values, so picking, the hover line and the inset still report them.

The CUDA path stages every layer in one buffer of one type, so there
(``one_format``) R16F is taken for all layers or for none.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass

from viz3d.errors import Viz3dError
from viz3d.gpu.plan import TexturePlan, plan_texture


def bytes_text(n: float) -> str:
    """A byte count for people: GB, MB or KB."""
    if n >= 2**29:
        return f"{n / 2**30:.1f} GB"
    return f"{n / 2**20:.0f} MB" if n >= 2**20 else f"{n / 2**10:.0f} KB"


def texel_bytes(texture_format: str) -> int:
    """Bytes per texel of an activation texture format."""
    return 2 if texture_format == "r16f" else 4


@dataclass(frozen=True)
class BudgetFit:
    """Per-layer plans and formats within a budget, and what the budget changed."""

    plans: list[TexturePlan]
    formats: list[str]
    halved: int  # layers the budget put in R16F (beyond those asked for)
    downsampled: int  # layers whose maps the budget shrank
    full_bytes: int  # what the textures would take without the budget
    bytes: int  # what they take

    @property
    def changed(self) -> bool:
        return bool(self.halved or self.downsampled)


def _total(plans: Sequence[TexturePlan], formats: Sequence[str]) -> int:
    return sum(p.texel_count * texel_bytes(f) for p, f in zip(plans, formats, strict=True))


def fit_to_budget(
    shapes: Sequence[tuple[int, int, int]],
    max_3d: int,
    requested: str,
    half_safe: Sequence[bool],
    budget: int | None,
    one_format: bool = False,
) -> BudgetFit:
    """Plans and formats of (C, H, W) layers whose textures fit ``budget`` bytes (None: no budget).

    ``requested`` is the asked-for format (R16F is taken only where
    ``half_safe``); ``max_3d`` the GL limit on a 3D texture's side.
    """
    plans = [plan_texture(c, h, w, max_3d) for c, h, w in shapes]
    formats = ["r16f" if requested == "r16f" and safe else "r32f" for safe in half_safe]
    if one_format and len(set(formats)) > 1:
        formats = ["r32f"] * len(formats)
    full = _total(plans, formats)
    if budget is None or full <= budget:
        return BudgetFit(plans, formats, 0, 0, full, full)
    halved = 0
    if not one_format or all(half_safe):
        for i, safe in enumerate(half_safe):
            if safe and formats[i] == "r32f":
                formats[i], halved = "r16f", halved + 1
    total = _total(plans, formats)
    # Largest map first, one halving of its sides at a time; of equal maps, the one shrunk least so far
    # (the loss is spread), then the one with more bytes.
    heap = [
        (-p.height * p.width, p.downsample, -p.texel_count, i) for i, p in enumerate(plans) if p.height * p.width > 1
    ]
    heapq.heapify(heap)
    shrunk: set[int] = set()
    while total > budget and heap:
        i = heapq.heappop(heap)[-1]
        c, h, w = shapes[i]
        old = plans[i]
        new = plan_texture(c, h, w, max_3d, min_downsample=old.downsample * 2)
        size = texel_bytes(formats[i])
        total += (new.texel_count - old.texel_count) * size
        plans[i] = new
        shrunk.add(i)
        if new.height * new.width > 1:
            heapq.heappush(heap, (-new.height * new.width, new.downsample, -new.texel_count, i))
    if total > budget:
        raise Viz3dError(
            f"activation textures need {bytes_text(total)} even with every map shrunk to one texel, beyond the "
            f"texture budget of {bytes_text(budget)}; raise ViewOptions.texture_budget or fold the network"
        )
    return BudgetFit(plans, formats, halved, len(shrunk), full, total)
