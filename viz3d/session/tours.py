"""Ready-made tours of a session's network: ``flythrough`` (input to output) and ``orbit`` (GL-free).

A registry, like views and connection kinds: a new ready-made tour is one
function and one row in :data:`READY_TOURS`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from viz3d.layout.slabs import SlabLayout
from viz3d.scene.camera import OrbitCamera, box_corners
from viz3d.scene.flight import HOP_SPAN, focus_camera
from viz3d.scene.tour import Tour, TourStop
from viz3d.session.navigation import ROWS_FOCUS, Navigation

FLYTHROUGH_STOPS = 8  # at most this many layers, besides the overview at both ends
FLYTHROUGH_MIN_STOPS = 4  # a network without stages gets this many evenly chosen layers (or all)
FLY_SECONDS = 2.5
HOLD_SECONDS = 1.5
ORBIT_SECONDS = 16.0


def _spatial(nav: Navigation, slab: SlabLayout) -> tuple[int, ...] | None:
    """The shown (H, W) of a slab's layer: where it changes, a new stage starts."""
    display = nav.trace.nodes[slab.node_id].display
    return None if display is None else tuple(int(v) for v in display.shape[1:])


def _evenly(indices: list[int], count: int) -> list[int]:
    """``count`` of ``indices`` spread evenly, the first and the last always among them."""
    if len(indices) <= count:
        return indices
    picks = np.linspace(0, len(indices) - 1, count).round().astype(int)
    return [indices[i] for i in sorted(set(picks.tolist()))]


def stage_slabs(nav: Navigation, most: int = FLYTHROUGH_STOPS) -> list[SlabLayout]:
    """The slabs a flythrough stops at: the first, each where the spatial size changes, the last."""
    slabs = nav.layout.slabs
    if not slabs:
        return []
    changes = [i for i in range(len(slabs)) if i == 0 or _spatial(nav, slabs[i]) != _spatial(nav, slabs[i - 1])]
    chosen = sorted(set(changes) | {len(slabs) - 1})
    if len(chosen) < FLYTHROUGH_MIN_STOPS:
        chosen = _evenly(list(range(len(slabs))), min(len(slabs), FLYTHROUGH_MIN_STOPS + 2))
    return [slabs[i] for i in _evenly(chosen, most)]


def _slab_caption(nav: Navigation, slab: SlabLayout) -> str:
    node = nav.trace.nodes[slab.node_id]
    shape = "x".join(str(v) for v in node.shape[1:]) if len(node.shape) > 1 else ""
    return f"{node.name} ({node.op}) {shape}".strip()


def _hop(nav: Navigation, a: SlabLayout, b: SlabLayout, start: OrbitCamera, end: OrbitCamera) -> OrbitCamera | None:
    """In rows, a camera framing both slabs between two stops too far apart to see one from the other."""
    travel = float(np.linalg.norm(np.asarray(end.target, float) - np.asarray(start.target, float)))
    if nav.layout.arrangement != "rows" or travel <= HOP_SPAN * max(start.distance, end.distance):
        return None
    both = np.vstack([box_corners(a.lo, a.hi), box_corners(b.lo, b.hi)])
    return focus_camera(both, nav.camera, nav.aspect, *ROWS_FOCUS)


def flythrough(nav: Navigation, fly: float = FLY_SECONDS, hold: float = HOLD_SECONDS) -> Tour:
    """From the overview along the network, stopping at each stage boundary, and back to the overview.

    In rows, a leg between stops in different rows passes a view of both (half the leg's time each
    way, no hold), so the tour hops rather than sweeping along the rows at close range.
    """
    home = nav.home_camera()
    n = len(nav.layout.slabs)
    stops = [TourStop(home, 0.0, hold, f"{n} layers, input to output", {"cut": None})]
    previous: SlabLayout | None = None
    for slab in stage_slabs(nav):
        name = nav.trace.nodes[slab.node_id].name
        camera = nav.focus_on_slab(slab)
        hop = None if previous is None else _hop(nav, previous, slab, stops[-1].camera, camera)
        if hop is not None:
            stops.append(TourStop(hop, fly / 2, 0.0, _slab_caption(nav, slab)))
        stops.append(
            TourStop(camera, fly / 2 if hop is not None else fly, hold, _slab_caption(nav, slab), {"cut": name})
        )
        previous = slab
    stops.append(TourStop(home.copy(), fly, hold, "", {"cut": None}))
    return Tour(stops)


def orbit(nav: Navigation, seconds: float = ORBIT_SECONDS) -> Tour:
    """One full turn around the overview, at an even pace between a gentle start and stop."""
    home = nav.home_camera()
    stops = []
    for k in range(5):  # quarter turns: each leg is shorter than half a turn, so the path goes all the way round
        cam = home.copy()
        cam.azimuth = (home.azimuth + 90.0 * k) % 360.0
        stops.append(TourStop(cam, 0.0 if k == 0 else seconds / 4, 0.0, "", {"cut": None} if k == 0 else {}))
    return Tour(stops)


READY_TOURS: dict[str, Callable[[Navigation], Tour]] = {"flythrough": flythrough, "orbit": orbit}
