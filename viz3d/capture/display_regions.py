"""Between the positions of a 2-D (per sample) output and the (C, H, W) display it is drawn as.

Receptive-field regions of 2-D outputs are sets of flat per-sample indices
(``i * cols + j`` of the (rows, cols) sample), so they stay exact through
slices, whatever the display. :func:`display_feature` turns a picked display
unit into that index; :func:`display_region` turns a region into the
channels and box to outline on the slab. The layouts are those of
:func:`~viz3d.capture.display.to_display`: signals (C, L) as C maps of 1×L,
one map (H, W) or a sequence (L, D) as one map, and tokens (L, D) as D maps
of √L×√L (after a class token, if L - 1 is the square).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from viz3d.capture.trace import Node

if TYPE_CHECKING:
    from viz3d.capture.receptive_field import Region


def _layout(node: Node) -> tuple[str, int]:
    """``("signals" | "map" | "tokens", class tokens)`` of a node with a 2-D sample, else ``("", 0)``."""
    s = tuple(node.shape[1:])
    if len(s) != 2 or node.display is None:
        return "", 0
    shown = tuple(int(v) for v in node.display.shape)
    if shown == (s[0], 1, s[1]):
        return "signals", 0
    if shown == (1, s[0], s[1]):
        return "map", 0
    if shown[0] == s[1] and shown[1] == shown[2] and s[0] - shown[1] * shown[2] in (0, 1):
        return "tokens", s[0] - shown[1] * shown[2]
    return "", 0


def display_feature(node: Node, channel: int, y: int, x: int) -> int | None:
    """The flat per-sample index of display unit (channel, y, x) of a 2-D output; None if not 2-D."""
    kind, cls = _layout(node)
    cols = int(node.shape[-1])
    if kind == "signals":
        return channel * cols + x
    if kind == "map":
        return y * cols + x
    if kind == "tokens" and node.display is not None:
        return (cls + y * int(node.display.shape[2]) + x) * cols + channel
    return None


def display_region(node: Node, region: Region) -> Region:
    """``region`` of a 2-D output as the channels and box of its display (other regions as they are)."""
    kind, cls = _layout(node)
    if not kind or node.display is None:
        return region
    c, h, w = (int(v) for v in node.display.shape)
    if region.features is None:
        return replace(region, channels=None, y0=0, y1=h - 1, x0=0, x1=w - 1, features=None)
    rows, cols = np.divmod(np.array(sorted(region.features)), int(node.shape[-1]))
    if kind == "signals":
        chans, ys, xs = rows, np.zeros_like(cols), cols
    elif kind == "map":
        chans, ys, xs = np.zeros_like(rows), rows, cols
    else:
        keep = rows >= cls  # the class token has no cell
        if not keep.any():
            return replace(region, channels=frozenset(), features=None)
        ys, xs = np.divmod(rows[keep] - cls, w)
        chans = cols[keep]
    channels = frozenset(int(v) for v in np.unique(chans))
    return replace(
        region,
        channels=None if len(channels) == c else channels,
        y0=int(ys.min()),
        y1=int(ys.max()),
        x0=int(xs.min()),
        x1=int(xs.max()),
        features=None,
    )
