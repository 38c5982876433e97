"""Turn any activation into the (C, H, W) volume that is shown on a slab.

- (C, H, W) images stay as they are;
- (C,) vectors become one map of cells in a near-square grid (zero padded);
- (L, D) token sequences whose L (or L - 1, with a class token) is a square
  number become D-channel images of side √L (the class token is dropped and
  noted); other sequences are shown as one L×D map; (C, L) outputs of 1-D
  convolutions are C maps of 1×L;
- (C, D, H, W) volumes fold D into channels; scalars become one cell.
"""

from __future__ import annotations

import math

import torch


def _square_side(n: int) -> int | None:
    side = math.isqrt(n)
    return side if side * side == n and side > 1 else None


def vector_grid_shape(n: int) -> tuple[int, int]:
    """Rows and columns of the near-square grid that holds ``n`` cells."""
    cols = max(1, math.ceil(math.sqrt(n)))
    rows = max(1, math.ceil(n / cols))
    return rows, cols


def to_display(sample: torch.Tensor, channels_first: bool = False) -> tuple[torch.Tensor, str]:
    """Reshape one sample's activation (batch dimension removed) to (C, H, W).

    ``channels_first`` marks a 2-D sample as (C, L) signals (Conv1d and its
    pooling/normalization), shown as C maps of 1×L, rather than a token sequence.
    Returns the display tensor (same device; a view where possible) and a
    note describing any reinterpretation, empty when none.
    """
    t = sample
    if not t.dtype.is_floating_point:
        t = t.float()
    if channels_first and t.dim() == 2:
        return t.unsqueeze(1), f"{t.shape[0]} signals of length {t.shape[1]}"
    if t.dim() == 0:
        return t.reshape(1, 1, 1), "scalar"
    if t.dim() == 1:
        n = t.shape[0]
        rows, cols = vector_grid_shape(n)
        pad = rows * cols - n
        if pad:
            # NaN padding would be counted as bad values; zero padding is drawn
            # but outside the vector, so note it.
            t = torch.cat([t, t.new_zeros(pad)])
        return t.reshape(1, rows, cols), f"vector of {n} as {rows}x{cols} cells"
    if t.dim() == 2:
        length, dim = t.shape
        side = _square_side(length)
        if side:
            return t.transpose(0, 1).reshape(dim, side, side), f"{length} tokens as {side}x{side} grid"
        side = _square_side(length - 1)
        if side:
            return (
                t[1:].transpose(0, 1).reshape(dim, side, side),
                f"{length} tokens: class token dropped, {side}x{side} grid",
            )
        return t.reshape(1, length, dim), f"sequence {length}x{dim} as one map"
    if t.dim() == 3:
        return t, ""
    c = t.shape[0]
    folded = t.reshape(c * int(math.prod(t.shape[1:-2])), t.shape[-2], t.shape[-1])
    return folded, f"{t.dim()}-d activation folded to {tuple(folded.shape)}"
