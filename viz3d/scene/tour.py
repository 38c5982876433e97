"""Camera tours: stops with captions, a smooth path through them, JSON files (numpy only).

A tour is a list of stops. Each stop has a camera, the seconds the flight
to it takes (``fly``), the seconds the camera holds there (``hold``), a
caption and optional view settings applied when the tour heads for it
(colormap, normalization, the view shown, connection kinds, the selected
unit, the cutaway layer).

The path is a cubic Hermite spline in time over the camera's target, the
log of its distance (zooming in and out feel equally fast), its azimuth
(unwrapped the short way round), its elevation, field of view and log
orthographic height. Tangents are Catmull-Rom's, in units per second,
so the velocity is continuous through a stop the camera passes (hold 0);
at a stop with a hold, and at both ends, the tangent is zero, so the camera
slows into the stop and speeds out of it (still continuous: it stands still
while holding).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from viz3d.errors import Viz3dError
from viz3d.files import atomic_write_bytes
from viz3d.scene.camera import OrbitCamera
from viz3d.scene.colormaps import COLORMAPS
from viz3d.scene.normalization import NORMALIZATIONS

TOUR_FORMAT = 1
DEFAULT_FLY = 2.0
DEFAULT_HOLD = 1.5
# View settings a stop may carry, and the JSON type each takes.
VIEW_KEYS: dict[str, type | tuple[type, ...]] = {
    "colormap": str,
    "normalization": str,
    "show": str,
    "connections": list,
    "select": (str, type(None)),
    "cut": (str, type(None)),
}


@dataclass
class TourStop:
    """One stop: where the camera goes, how long it takes and stays, what the caption says, how it looks."""

    camera: OrbitCamera
    fly: float = DEFAULT_FLY
    hold: float = DEFAULT_HOLD
    caption: str = ""
    view: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"camera": self.camera.to_dict(), "fly": self.fly, "hold": self.hold}
        if self.caption:
            out["caption"] = self.caption
        if self.view:
            out["view"] = dict(self.view)
        return out


def _check_view(view: Any) -> dict[str, Any]:
    """A stop's view settings, checked for names and types (the session checks layer and kind names)."""
    if not isinstance(view, dict):
        raise ValueError(f"view must be an object of settings, got {type(view).__name__}")
    unknown = sorted(set(view) - set(VIEW_KEYS))
    if unknown:
        raise ValueError(f"unknown view settings {unknown}; known: {', '.join(VIEW_KEYS)}")
    for key, value in view.items():
        if not isinstance(value, VIEW_KEYS[key]):
            raise ValueError(f"view setting {key!r} has the wrong type ({type(value).__name__})")
    if "colormap" in view and view["colormap"] not in COLORMAPS:
        raise ValueError(f"unknown colormap {view['colormap']!r}; choose one of {', '.join(COLORMAPS)}")
    if "normalization" in view and view["normalization"] not in NORMALIZATIONS:
        raise ValueError(f"unknown normalization {view['normalization']!r}; choose one of {', '.join(NORMALIZATIONS)}")
    if not all(isinstance(k, str) for k in view.get("connections", [])):
        raise ValueError("connections must be a list of kind names")
    return dict(view)


def _seconds(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a number of seconds >= 0, got {value!r}")
    return float(value)


def stop_from_dict(data: Any, base: OrbitCamera | None = None) -> TourStop:
    """A stop from its JSON object; ``base`` gives the scene extent (clip planes) of the camera."""
    if not isinstance(data, dict):
        raise ValueError(f"a stop must be an object, got {type(data).__name__}")
    unknown = sorted(set(data) - {"camera", "fly", "hold", "caption", "view"})
    if unknown:
        raise ValueError(f"unknown keys {unknown}")
    if "camera" not in data or not isinstance(data["camera"], dict):
        raise ValueError("a stop needs a camera object (as saved with K or T in the viewer)")
    camera = base.copy() if base is not None else OrbitCamera()
    camera.apply_dict(data["camera"])
    caption = data.get("caption", "")
    if not isinstance(caption, str):
        raise ValueError("caption must be text")
    return TourStop(
        camera,
        _seconds(data.get("fly", DEFAULT_FLY), "fly"),
        _seconds(data.get("hold", DEFAULT_HOLD), "hold"),
        caption,
        _check_view(data.get("view", {})),
    )


def _hermite(p0: np.ndarray, p1: np.ndarray, m0: np.ndarray, m1: np.ndarray, h: float, u: float) -> np.ndarray:
    """Cubic Hermite between ``p0`` and ``p1`` with tangents per second ``m0``, ``m1`` over ``h`` seconds."""
    u2, u3 = u * u, u * u * u
    return (2 * u3 - 3 * u2 + 1) * p0 + (u3 - 2 * u2 + u) * h * m0 + (-2 * u3 + 3 * u2) * p1 + (u3 - u2) * h * m1


class Tour:
    """Stops and the smooth camera path through them; times in seconds from the tour's start.

    The camera starts at stop 0 (its ``fly`` is not used), holds there, flies
    ``stops[1].fly`` seconds to stop 1, holds there, and so on; the tour ends
    when the last stop's hold ends.
    """

    def __init__(self, stops: list[TourStop] | None = None) -> None:
        self.stops: list[TourStop] = list(stops or [])

    def __len__(self) -> int:
        return len(self.stops)

    # --- timing ---------------------------------------------------------------------
    def arrivals(self) -> list[float]:
        """The time the camera reaches each stop."""
        out, t = [], 0.0
        for i, stop in enumerate(self.stops):
            t += stop.fly if i else 0.0
            out.append(t)
            t += stop.hold
        return out

    @property
    def duration(self) -> float:
        """Seconds from the first stop to the end of the last stop's hold."""
        if not self.stops:
            return 0.0
        return self.arrivals()[-1] + self.stops[-1].hold

    def stop_at(self, t: float) -> int:
        """The stop the camera is flying to or holding at, at time ``t`` (its caption and view apply)."""
        if not self.stops:
            raise Viz3dError("the tour has no stops: add one with T in the viewer")
        for i, (arrive, stop) in enumerate(zip(self.arrivals(), self.stops, strict=True)):
            if t <= arrive + stop.hold:
                return i
        return len(self.stops) - 1

    # --- the path ---------------------------------------------------------------------
    def _keys(self) -> np.ndarray:
        """One row per stop: target x, y, z, log distance, azimuth (unwrapped), elevation, fov, log ortho height."""
        rows, azimuth = [], 0.0
        for i, stop in enumerate(self.stops):
            c = stop.camera
            a = float(c.azimuth)
            azimuth = a if i == 0 else azimuth + (a - azimuth + 180.0) % 360.0 - 180.0  # the short way round
            rows.append(
                [
                    *np.asarray(c.target, float),
                    math.log(c.distance),
                    azimuth,
                    c.elevation,
                    c.fov,
                    math.log(c.ortho_height),
                ]
            )
        return np.array(rows, float).reshape(len(self.stops), 8)

    def _tangents(self, keys: np.ndarray, arrivals: list[float]) -> np.ndarray:
        """Catmull-Rom tangents per second; zero at both ends and where the camera holds."""
        m = np.zeros_like(keys)
        for i in range(1, len(keys) - 1):
            if self.stops[i].hold > 0:
                continue
            # The stop is passed through: the neighbours' times are when the camera leaves and reaches them.
            before = arrivals[i - 1] + self.stops[i - 1].hold
            after = arrivals[i + 1]
            if after > before:
                m[i] = (keys[i + 1] - keys[i - 1]) / (after - before)
        return m

    def camera_at(self, t: float) -> OrbitCamera:
        """The camera at time ``t`` (clamped to the tour), on the smooth path through the stops."""
        if not self.stops:
            raise Viz3dError("the tour has no stops: add one with T in the viewer")
        keys, arrivals = self._keys(), self.arrivals()
        i = self.stop_at(t)
        start = arrivals[i - 1] + self.stops[i - 1].hold if i else 0.0
        if i == 0 or t >= arrivals[i]:
            k = keys[i]  # holding at the stop (or before the tour)
        else:
            m = self._tangents(keys, arrivals)
            h = arrivals[i] - start
            k = _hermite(keys[i - 1], keys[i], m[i - 1], m[i], h, (t - start) / h)
        cam = self.stops[i].camera.copy()
        cam.target = k[:3].copy()
        cam.distance = math.exp(k[3])
        cam.azimuth = float(k[4] % 360.0)
        cam.elevation = float(np.clip(k[5], -89.0, 89.0))
        cam.fov = float(max(k[6], 0.0))
        cam.ortho_height = math.exp(k[7])
        return cam

    # --- files --------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"viz3d_tour": TOUR_FORMAT, "stops": [s.to_dict() for s in self.stops]}

    @classmethod
    def from_dict(cls, data: Any, base: OrbitCamera | None = None) -> Tour:
        """A tour from its JSON object (``ValueError`` naming the stop when something is wrong)."""
        if not isinstance(data, dict) or not isinstance(data.get("stops"), list):
            raise ValueError('expected an object with a "stops" list')
        if data.get("viz3d_tour", TOUR_FORMAT) != TOUR_FORMAT:
            raise ValueError(f"tour format {data.get('viz3d_tour')!r}; this viz3d reads format {TOUR_FORMAT}")
        if not data["stops"]:
            raise ValueError("the tour has no stops")
        stops = []
        for i, item in enumerate(data["stops"]):
            try:
                stops.append(stop_from_dict(item, base))
            except ValueError as exc:
                raise ValueError(f"stop {i}: {exc}") from None
        return cls(stops)

    def save(self, path: str | Path) -> Path:
        """Write the tour as JSON (atomically)."""
        return atomic_write_bytes(path, (json.dumps(self.to_dict(), indent=2) + "\n").encode())


def load_tour(path: str | Path, base: OrbitCamera | None = None) -> Tour:
    """Read a tour file; any problem is a one-line :class:`Viz3dError` naming the file and the stop."""
    p = Path(path)
    try:
        return Tour.from_dict(json.loads(p.read_text()), base)
    except FileNotFoundError:
        raise Viz3dError(f"tour file not found: {p} (save one with Ctrl-S in the viewer)") from None
    except IsADirectoryError:
        raise Viz3dError(f"tour file {p} is a folder, not a JSON file") from None
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError) as exc:
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise Viz3dError(f"cannot read tour file {p}: {text}") from None
