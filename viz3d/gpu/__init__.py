"""The only place tensors move into GL: texture planning, statistics and upload paths."""

from __future__ import annotations

from viz3d.gpu.plan import TexturePlan, pack_for_texture, plan_texture
from viz3d.gpu.stats import channel_stats
from viz3d.gpu.upload import ActivationUploader, HostUploader, select_uploader

__all__ = [
    "ActivationUploader",
    "HostUploader",
    "TexturePlan",
    "channel_stats",
    "pack_for_texture",
    "plan_texture",
    "select_uploader",
]
