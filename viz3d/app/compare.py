"""Colour ranges of the inset's maps, one function for the colorbar and the HUD, and the pinned maps' picture.

The HUD's hover line and the inset's colorbar read their range here, so they
always name the same one: a tile's display range (the view's normalization),
or, for a pinned map with shared ranges, the range all pinned maps share.
"""

from __future__ import annotations

from viz3d.app.pin_panel import PinnedMap
from viz3d.renderer.layer_textures import layer_display_range
from viz3d.renderer.scene_renderer import SceneRenderer
from viz3d.session.session import Session


def map_range(session: Session, renderer: SceneRenderer, node_id: int, channel: int) -> tuple[float, float]:
    """The (lo, hi) one single-channel map's tile is coloured with (the renderer's own normalization)."""
    node, layer = session.trace.nodes[node_id], renderer.layer_for(node_id)
    assert layer is not None, f"{node.name} has no textures"
    o = session.options
    lo, hi = layer_display_range(node, layer.stats, renderer.textures.global_range(), o.colormap, o.normalization)
    return float(lo[channel]), float(hi[channel])


def pinned_ranges(session: Session, renderer: SceneRenderer) -> list[tuple[float, float]]:
    """The range each pinned map is drawn with in the inset, in pin order."""
    own = [map_range(session, renderer, n, c) for n, c in session.pins]
    if session.options.pin_ranges == "each" or not own:
        return own
    shared = (min(lo for lo, _ in own), max(hi for _, hi in own))  # every pinned map on one scale
    return [shared] * len(own)


def inset_range(session: Session, renderer: SceneRenderer, node_id: int, channel: int) -> tuple[float, float]:
    """The range the inset shows for a map: its pinned range when pinned, else its tile's."""
    pin = (node_id, channel)
    if pin in session.pins:
        return pinned_ranges(session, renderer)[session.pins.index(pin)]
    return map_range(session, renderer, node_id, channel)


def pinned_maps(session: Session, renderer: SceneRenderer) -> list[PinnedMap]:
    """The pinned maps with their values, ranges and titles, in pin order."""
    out = []
    for (node_id, channel), (lo, hi) in zip(session.pins, pinned_ranges(session, renderer), strict=True):
        node = session.trace.nodes[node_id]
        assert node.display is not None
        values = node.display[channel].detach().float().cpu().numpy()
        out.append(PinnedMap(values, lo, hi, f"{node.name} ch {channel}"))
    return out
