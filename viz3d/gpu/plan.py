"""How a (C, H, W) activation is laid into one 3D texture within the GL size limits.

Normally the texture is (depth=C, height=H, width=W): the tensor's own memory
order, so an upload is a straight copy. When C exceeds the 3D texture limit,
``pack`` channels sit side by side along x (depth ceil(C/pack), width W·pack).
When H or W exceeds it, the map is average-pooled by ``downsample`` (with a
warning). Limits are arguments so tests can force both paths.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from viz3d.errors import Viz3dError


@dataclass(frozen=True)
class TexturePlan:
    """Texture shape for one layer and how the activation is packed into it."""

    channels: int
    height: int  # after downsampling
    width: int  # one tile's width, after downsampling
    pack: int
    downsample: int

    @property
    def depth(self) -> int:
        return math.ceil(self.channels / self.pack)

    @property
    def texture_shape(self) -> tuple[int, int, int]:
        """(depth, height, width) of the GL texture."""
        return self.depth, self.height, self.width * self.pack

    @property
    def texel_count(self) -> int:
        d, h, w = self.texture_shape
        return d * h * w


def plan_texture(channels: int, height: int, width: int, max_3d: int, min_downsample: int = 1) -> TexturePlan:
    """Fit a (C, H, W) activation into a 3D texture whose sides are at most ``max_3d``.

    ``min_downsample`` shrinks the maps at least that much (a texture memory budget asks for it).
    """
    downsample = max(1, min_downsample, math.ceil(max(height, width) / max_3d))
    h, w = math.ceil(height / downsample), math.ceil(width / downsample)
    pack = max(1, math.ceil(channels / max_3d))
    if w * pack > max_3d:
        # Too many channels to pack beside each other at this width: shrink the maps further.
        downsample = math.ceil(max(height, width) * pack / max_3d)
        h, w = math.ceil(height / downsample), math.ceil(width / downsample)
        pack = max(1, math.ceil(channels / max_3d))
        if w * pack > max_3d:
            raise Viz3dError(f"activation of {channels} channels cannot fit a texture of side {max_3d}")
    return TexturePlan(channels=channels, height=h, width=w, pack=pack, downsample=downsample)


def pack_for_texture(display: torch.Tensor, plan: TexturePlan) -> torch.Tensor:
    """The (depth, height, width·pack) float32 tensor to copy into the texture, on the input's device."""
    t = display.detach().float()
    if plan.downsample > 1:
        s = plan.downsample
        t = F.avg_pool2d(t[None], kernel_size=s, stride=s, ceil_mode=True)[0]
    if plan.pack > 1:
        c, h, w = t.shape
        d, k = plan.depth, plan.pack
        if d * k > c:
            t = torch.cat([t, t.new_zeros((d * k - c, h, w))])
        t = t.reshape(d, k, h, w).permute(0, 2, 1, 3).reshape(d, h, k * w)
    return t.contiguous()
