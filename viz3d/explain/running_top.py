"""The K strongest images per channel, kept while batches stream by (torch only).

Memory stays bounded by K, not by the number of images: each batch's
activation is reduced to one score per (image, channel), the maximum over
spatial positions, with the position it sits at; those are merged with the
K kept so far and the rest dropped. No activation outlives its batch.
"""

from __future__ import annotations

import torch

from viz3d.errors import Viz3dError


def spatial_maxima(activation: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, tuple[int, int]]:
    """(scores (N, C), flat positions (N, C), (H, W)) of an (N, C, H, W) or (N, F) activation.

    An (N, F) output (a linear layer) is F channels of one position each.
    NaN counts as the lowest score, so a broken image never takes a place.
    """
    a = activation.detach().float()
    if a.dim() == 2:
        a = a[:, :, None, None]
    if a.dim() != 4:
        raise Viz3dError(
            f"top patches need a layer with (N, C, H, W) or (N, F) output, this one is {tuple(activation.shape)}"
        )
    n, c, h, w = a.shape
    flat = torch.nan_to_num(a.reshape(n, c, h * w), nan=float("-inf"))
    scores, where = flat.max(dim=2)
    return scores, where, (h, w)


class RunningTopK:
    """Per channel: the ``k`` highest scores seen, the image each came from and its flat position."""

    def __init__(self, k: int) -> None:
        if k < 1:
            raise Viz3dError(f"k must be at least 1 (patches per channel), got {k}")
        self.k = k
        self.scores: torch.Tensor | None = None  # (C, <=k), best first
        self.images: torch.Tensor | None = None
        self.positions: torch.Tensor | None = None
        self.grid: tuple[int, int] = (1, 1)

    def add(self, activation: torch.Tensor, first_image: int) -> None:
        """Merge a batch's activation; its rows are images ``first_image``, ``first_image + 1``..."""
        scores, where, self.grid = spatial_maxima(activation)
        n, c = scores.shape
        images = torch.arange(first_image, first_image + n, device=scores.device)[None].expand(c, n)
        new = (scores.t(), images, where.t())
        if self.scores is None or self.images is None or self.positions is None:
            merged = new
        else:
            if self.scores.shape[0] != c:
                raise Viz3dError(f"the layer gave {c} channels for image {first_image}, {self.scores.shape[0]} before")
            merged = (
                torch.cat([self.scores, new[0]], 1),
                torch.cat([self.images, new[1]], 1),
                torch.cat([self.positions, new[2]], 1),
            )
        top = merged[0].topk(min(self.k, merged[0].shape[1]), dim=1)
        self.scores = top.values
        self.images = merged[1].gather(1, top.indices)
        self.positions = merged[2].gather(1, top.indices)
