"""Smooth camera flights: fly to a layer or a tile, step along the network (numpy only)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from viz3d.scene.camera import OrbitCamera, frame_points_at

FLIGHT_SECONDS = 0.8
FOCUS_AZIMUTH = -28.0  # a three-quarter view: the face reads, the slab's depth shows
FOCUS_ELEVATION = 12.0
HOP_SPAN = 1.0  # a flight travelling further than its view distance hops back midway (a 40° view sees ±0.65 d)


def ease_in_out(u: float) -> float:
    """Cubic smoothstep: 0 → 1 with zero speed at both ends."""
    u = min(max(u, 0.0), 1.0)
    return u * u * (3.0 - 2.0 * u)


def _angle_lerp(a: float, b: float, t: float) -> float:
    delta = (b - a + 180.0) % 360.0 - 180.0  # the short way round
    return a + delta * t


@dataclass
class CameraFlight:
    """An eased interpolation from ``start`` to ``end`` over ``duration`` seconds."""

    start: OrbitCamera
    end: OrbitCamera
    duration: float = FLIGHT_SECONDS

    def at(self, elapsed: float) -> OrbitCamera:
        """The camera ``elapsed`` seconds into the flight (the end camera after it)."""
        t = ease_in_out(elapsed / self.duration if self.duration > 0 else 1.0)
        cam = self.end.copy()
        a, b = self.start, self.end
        cam.target = (1 - t) * np.asarray(a.target, float) + t * np.asarray(b.target, float)
        # Distance changes geometrically so zooming in and out feel equally fast.
        cam.distance = math.exp((1 - t) * math.log(a.distance) + t * math.log(b.distance))
        # A hop: a flight that travels further than it sees (a row's end to the next row's start, a
        # minimap jump) backs off midway until both ends fit, instead of sweeping past at close range.
        travel = float(np.linalg.norm(np.asarray(b.target, float) - np.asarray(a.target, float)))
        lift = max(1.0, travel / (HOP_SPAN * max(a.distance, b.distance)))
        cam.distance *= lift ** math.sin(math.pi * t)
        cam.azimuth = _angle_lerp(a.azimuth, b.azimuth, t) % 360.0
        cam.elevation = (1 - t) * a.elevation + t * b.elevation
        cam.fov = (1 - t) * a.fov + t * b.fov
        cam.ortho_height = (1 - t) * a.ortho_height + t * b.ortho_height
        return cam

    def finished(self, elapsed: float) -> bool:
        return elapsed >= self.duration


def focus_camera(
    points: np.ndarray,
    current: OrbitCamera,
    aspect: float,
    azimuth: float = FOCUS_AZIMUTH,
    elevation: float = FOCUS_ELEVATION,
) -> OrbitCamera:
    """A camera framing ``points`` (a slab's or tile's corners) from a three-quarter view."""
    cam = frame_points_at(
        points,
        azimuth,
        elevation,
        aspect,
        current.fov if current.fov > 0 else 40.0,
        scene=(current.scene_center, current.scene_radius),
    )
    cam.mode = current.mode
    return cam
