"""Where the answer panel stands: after the last slab, upright, turned to the overview camera (numpy only).

The panel is a flat rectangle in the scene, so it is seen in perspective
with the network and read from the overview as from close by. It is sized
by the network's largest face (a ResNet and the small default network both
get a panel in proportion), stands one gap past the last slab along the flow
(-z), to the camera's right so the last slabs do not hide it (in rows: after
the end of the last row, in line with the classifier), and is turned about the
vertical axis to face the overview camera, whose line of sight crosses the
stack at an angle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from viz3d.layout.slabs import RANK_GAP, Layout

HEIGHT_FRACTION = 0.8  # panel height as a fraction of the tallest face: read from the overview, far away
MIN_HEIGHT = 12.0  # world units: a tiny network still gets a readable panel
ASPECT = 1.6  # width / height (the panel image has the same aspect)
SHIFT = 0.4  # how far the panel stands to the camera's right of the last slab, in panel widths


@dataclass(frozen=True)
class PanelQuad:
    """A rectangle in space: centre, unit right and up vectors, width and height."""

    center: np.ndarray
    right: np.ndarray
    up: np.ndarray
    width: float
    height: float

    def corners(self) -> np.ndarray:
        """(4, 3): bottom-left, bottom-right, top-left, top-right (a triangle strip)."""
        r, u = self.right * self.width / 2, self.up * self.height / 2
        c = self.center
        return np.stack([c - r - u, c + r - u, c - r + u, c + r + u])

    @property
    def normal(self) -> np.ndarray:
        return np.cross(self.right, self.up)


def place_panel(layout: Layout, node_id: int, azimuth: float) -> PanelQuad | None:
    """The panel after the classifier's slab (``node_id``), facing a camera at ``azimuth`` degrees."""
    if not layout.slabs:
        return None
    height = max(MIN_HEIGHT, HEIGHT_FRACTION * max(float(s.size[1]) for s in layout.slabs))
    width = ASPECT * height
    # Facing the camera: the normal points from the panel back along the camera's horizontal line of sight.
    az = math.radians(azimuth)
    normal = np.array([-math.sin(az), 0.0, math.cos(az)])
    up = np.array([0.0, 1.0, 0.0])
    right = np.cross(up, normal)
    if layout.arrangement == "rows":  # after the last row's end, in line with the classifier, facing the camera
        last = layout.slab(node_id)
        row = [s for s in layout.slabs if s.lo[1] <= last.center[1] <= s.hi[1]]
        x = max(float(s.hi[0]) for s in row) + RANK_GAP + width / 2
        return PanelQuad(np.array([x, float(last.center[1]), 0.0]), right, up, width, height)
    end_z = min(float(s.lo[2]) for s in layout.slabs)
    depth = abs(float(right[2])) * width / 2  # how far the turned panel reaches along z from its centre
    x = float(layout.slab(node_id).center[0])
    # To the camera's right: seen from the overview, the last slabs stand beside it, not in front.
    center = np.array([x, 0.0, end_z - RANK_GAP - depth]) + right * width * SHIFT
    return PanelQuad(center, right, up, width, height)
