"""Staging of packed activations for the CUDA path: dtypes, byte sizes and the buffer fill (torch, numpy or cupy).

Pure array work with no CUDA or GL calls, so it is tested on the CPU with
numpy standing in for cupy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from viz3d.gpu.pixel_buffer import GL_FLOAT, GL_HALF_FLOAT

COPY_STRATEGIES = ("batched", "layers", "torch")


def staging_dtype(texture_format: str) -> torch.dtype:
    """The element type the PBO holds: what the texture stores, so GL converts nothing."""
    return torch.float16 if texture_format == "r16f" else torch.float32


def gl_type(texture_format: str) -> int:
    """The ``type`` argument of ``glTexSubImage3D`` for a PBO of :func:`staging_dtype`."""
    return GL_HALF_FLOAT if texture_format == "r16f" else GL_FLOAT


def pbo_bytes(shape: tuple[int, int, int], texture_format: str) -> int:
    """Bytes of a PBO holding a (depth, height, width) texture."""
    d, h, w = shape
    return d * h * w * staging_dtype(texture_format).itemsize


def prepare_source(packed: torch.Tensor) -> torch.Tensor:
    """The tensor cupy reads through DLPack: the input itself, except bfloat16.

    DLPack consumers such as cupy have no bfloat16, so it goes through
    float32; every other dtype and any strides are read as they are, and the
    copy into the pixel buffer casts to the staging dtype (:func:`staging_dtype`).
    """
    t = packed.detach()
    return t.float() if t.dtype == torch.bfloat16 else t


def fill_slices(xp: Any, whole: Any, sources: Sequence[Any], offsets: Sequence[int], copy: str) -> None:
    """Copy each source array into its slice of ``whole``, casting to ``whole``'s dtype.

    ``whole`` is the 1-D staging buffer (cupy over the mapped PBO in use; any
    array module with numpy's semantics works, which is how it is tested),
    ``offsets`` are byte offsets of back-to-back slices.
    """
    itemsize = whole.dtype.itemsize
    if copy == "batched" and sum(a.size for a in sources) * itemsize == whole.nbytes:
        xp.concatenate([a.reshape(-1) for a in sources], out=whole)
        return
    for a, offset in zip(sources, offsets, strict=True):
        start = offset // itemsize
        whole[start : start + a.size].reshape(a.shape)[...] = a


def fill_with_torch(whole: torch.Tensor, sources: Sequence[torch.Tensor]) -> None:
    """The ``torch`` strategy: one ``torch.cat`` of every source into the buffer seen as a tensor.

    No DLPack view per layer (one for the whole buffer), so the fewest Python
    calls per layer; ``cat`` casts into the buffer's dtype.
    """
    torch.cat([t.reshape(-1) for t in sources], out=whole)
