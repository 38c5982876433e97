"""Orbit camera and named presets (numpy only).

Matrices use the column-vector convention (``clip = P @ V @ p``); the
renderer transposes them when handing them to GLSL.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

from viz3d.errors import Viz3dError

CameraPreset = Literal["overview", "front", "side"]
CameraMode = Literal["orbit", "fly"]
PRESETS: dict[str, tuple[float, float]] = {
    # name: (azimuth, elevation) in degrees. Azimuth 0 looks down -z from +z.
    "overview": (-52.0, 22.0),
    "front": (0.0, 0.0),
    "side": (-90.0, 8.0),
}
# The overview of a network wrapped in rows (viz3d.layout.rows): nearly from the front, whose
# faces all look down +z, turned a little so the slabs' thickness and the arcs read as 3D.
ROWS_OVERVIEW: tuple[float, float] = (-8.0, 8.0)
FIT_MARGIN = 0.92  # fraction of the viewport the framed scene may fill


def look_at(eye: np.ndarray, target: np.ndarray, up: np.ndarray) -> np.ndarray:
    """4×4 view matrix looking from ``eye`` at ``target``."""
    f = target - eye
    f = f / np.linalg.norm(f)
    r = np.cross(f, up)
    if np.linalg.norm(r) < 1e-9:  # looking straight up or down
        r = np.cross(f, np.array([0.0, 0.0, -1.0]))
    r = r / np.linalg.norm(r)
    u = np.cross(r, f)
    m = np.eye(4)
    m[0, :3], m[1, :3], m[2, :3] = r, u, -f
    m[:3, 3] = -m[:3, :3] @ eye
    return m


def perspective(fov_y_deg: float, aspect: float, near: float, far: float) -> np.ndarray:
    """OpenGL-style perspective projection."""
    f = 1.0 / math.tan(math.radians(fov_y_deg) / 2)
    m = np.zeros((4, 4))
    m[0, 0], m[1, 1] = f / aspect, f
    m[2, 2] = (far + near) / (near - far)
    m[2, 3] = 2 * far * near / (near - far)
    m[3, 2] = -1.0
    return m


def orthographic(height: float, aspect: float, near: float, far: float) -> np.ndarray:
    """OpenGL-style orthographic projection showing ``height`` world units vertically."""
    m = np.eye(4)
    m[0, 0] = 2.0 / (height * aspect)
    m[1, 1] = 2.0 / height
    m[2, 2] = -2.0 / (far - near)
    m[2, 3] = -(far + near) / (far - near)
    return m


@dataclass
class OrbitCamera:
    """A camera circling ``target`` at ``distance``.

    ``fov`` is the vertical field of view in degrees; ``fov=0`` makes the
    camera orthographic, showing ``ortho_height`` world units vertically.
    """

    target: np.ndarray = field(default_factory=lambda: np.zeros(3))
    distance: float = 100.0
    azimuth: float = 0.0
    elevation: float = 0.0
    fov: float = 40.0
    ortho_height: float = 100.0
    scene_radius: float = 100.0
    scene_center: np.ndarray = field(default_factory=lambda: np.zeros(3))
    mode: CameraMode = "orbit"

    @property
    def forward(self) -> np.ndarray:
        """Unit vector from the eye towards the target."""
        az, el = math.radians(self.azimuth), math.radians(self.elevation)
        return np.array([math.sin(az) * math.cos(el), -math.sin(el), -math.cos(az) * math.cos(el)])

    @property
    def eye(self) -> np.ndarray:
        return np.asarray(self.target, float) - self.forward * self.distance

    def view_matrix(self) -> np.ndarray:
        return look_at(self.eye, np.asarray(self.target, float), np.array([0.0, 1.0, 0.0]))

    @property
    def right(self) -> np.ndarray:
        """Unit vector to the right of the view."""
        return self.view_matrix()[0, :3]

    @property
    def up(self) -> np.ndarray:
        """Unit vector up in the view."""
        return self.view_matrix()[1, :3]

    def clip_range(self) -> tuple[float, float]:
        """Near and far planes bracketing the scene's bounding sphere as seen from the eye."""
        to_center = float(np.linalg.norm(self.eye - np.asarray(self.scene_center, float)))
        far = to_center + 1.1 * self.scene_radius + 1.0
        # As far out as the scene allows: depth precision depends on near most.
        near = max(to_center - 1.1 * self.scene_radius, far * 2e-4, 1e-3)
        return near, far

    def projection_matrix(self, aspect: float) -> np.ndarray:
        near, far = self.clip_range()
        if self.fov <= 0:
            return orthographic(self.ortho_height, aspect, 0.0, far + self.distance)
        return perspective(self.fov, aspect, near, far)

    def view_projection(self, aspect: float) -> np.ndarray:
        return self.projection_matrix(aspect) @ self.view_matrix()

    # --- interaction (used by the window) -----------------------------
    def orbit(self, d_azimuth: float, d_elevation: float) -> None:
        """Rotate around the target by the given angles in degrees."""
        self.azimuth = (self.azimuth + d_azimuth) % 360.0
        self.elevation = float(np.clip(self.elevation + d_elevation, -89.0, 89.0))

    def zoom(self, factor: float) -> None:
        """Move towards (factor < 1) or away from the target."""
        self.distance = float(np.clip(self.distance * factor, 1e-3, 1e7))
        self.ortho_height = float(np.clip(self.ortho_height * factor, 1e-3, 1e7))

    def pan(self, dx: float, dy: float) -> None:
        """Move the target in the view plane by fractions of the view height."""
        view = self.view_matrix()
        right, up = view[0, :3], view[1, :3]
        span = self.ortho_height if self.fov <= 0 else 2 * self.distance * math.tan(math.radians(self.fov) / 2)
        self.target = np.asarray(self.target, float) + (-dx * right + dy * up) * span

    def half_extent(self, aspect: float) -> tuple[float, float]:
        """Half width and height of the view at the target's depth, in world units."""
        half_h = self.ortho_height / 2 if self.fov <= 0 else self.distance * math.tan(math.radians(self.fov) / 2)
        return half_h * aspect, half_h

    def zoom_toward(self, ndc_x: float, ndc_y: float, factor: float, aspect: float) -> None:
        """Zoom by ``factor`` keeping the point under the cursor (at the target's depth) fixed on screen."""
        hw, hh = self.half_extent(aspect)
        anchor = np.asarray(self.target, float) + self.right * ndc_x * hw + self.up * ndc_y * hh
        factor = float(np.clip(factor, 1e-3 / max(self.distance, 1e-9), 1e7 / max(self.distance, 1e-9)))
        self.target = anchor + (np.asarray(self.target, float) - anchor) * factor
        self.zoom(factor)

    def look(self, d_azimuth: float, d_elevation: float) -> None:
        """Turn the view about the eye (fly mode's mouse look), in degrees."""
        eye = self.eye
        self.orbit(d_azimuth, d_elevation)
        self.target = eye + self.forward * self.distance

    def move(self, right: float, up: float, forward: float) -> None:
        """Translate eye and target together along the view's right, world up and view forward."""
        delta = self.right * right + np.array([0.0, 1.0, 0.0]) * up + self.forward * forward
        self.target = np.asarray(self.target, float) + delta

    def copy(self) -> OrbitCamera:
        return replace(self, target=np.array(self.target, float), scene_center=np.array(self.scene_center, float))

    def to_dict(self) -> dict[str, object]:
        """JSON-ready camera state."""
        return {
            "mode": self.mode,
            "target": [float(v) for v in self.target],
            "distance": self.distance,
            "azimuth": self.azimuth,
            "elevation": self.elevation,
            "fov": self.fov,
            "ortho_height": self.ortho_height,
        }

    def apply_dict(self, state: dict[str, object]) -> None:
        """Restore a state written by :meth:`to_dict` (scene extent is kept)."""
        try:
            target = np.array(state["target"], float).reshape(3)
            mode = str(state.get("mode", "orbit"))
            if mode not in ("orbit", "fly"):
                raise ValueError(f"mode {mode!r}")
            values = {k: float(state[k]) for k in ("distance", "azimuth", "elevation")}  # type: ignore[arg-type]
            fov = float(state.get("fov", self.fov))  # type: ignore[arg-type]
            ortho = float(state.get("ortho_height", self.ortho_height))  # type: ignore[arg-type]
            _check_camera_values(target, values, fov, ortho)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a viz3d camera state: {exc}") from exc
        self.target, self.mode, self.fov, self.ortho_height = target, mode, fov, ortho  # type: ignore[assignment]
        self.distance, self.azimuth, self.elevation = values["distance"], values["azimuth"], values["elevation"]


def _check_camera_values(target: np.ndarray, values: dict[str, float], fov: float, ortho: float) -> None:
    """Reject states that would render nothing or garbage (NaN, infinities, a zero distance)."""
    if not np.isfinite(target).all():
        raise ValueError(f"target must be three finite numbers, got {target.tolist()}")
    for name, value in values.items():
        if not math.isfinite(value):
            raise ValueError(f"{name} must be a finite number, got {value}")
    if values["distance"] <= 0:
        raise ValueError(f"distance must be above 0, got {values['distance']}")
    if not -90.0 <= values["elevation"] <= 90.0:
        raise ValueError(f"elevation must be within -90..90 degrees, got {values['elevation']}")
    if not (math.isfinite(fov) and 0.0 <= fov < 180.0):
        raise ValueError(f"fov must be 0 (orthographic) or a field of view below 180 degrees, got {fov}")
    if not (math.isfinite(ortho) and ortho > 0):
        raise ValueError(f"ortho_height must be a finite number above 0, got {ortho}")


def box_corners(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The 8 corners of an axis-aligned box."""
    return np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])


def frame_points(
    points: np.ndarray, preset: CameraPreset | str = "overview", aspect: float = 16 / 9, fov: float = 40.0
) -> OrbitCamera:
    """A camera of the named preset that frames every point, centred in the view."""
    if preset not in PRESETS:
        raise ValueError(f"unknown camera preset {preset!r}; choose one of {', '.join(PRESETS)}")
    az, el = PRESETS[preset]
    return frame_points_at(points, az, el, aspect, fov)


def frame_points_at(
    points: np.ndarray,
    azimuth: float,
    elevation: float,
    aspect: float = 16 / 9,
    fov: float = 40.0,
    scene: tuple[np.ndarray, float] | None = None,
) -> OrbitCamera:
    """A camera looking from the given angles that frames every point, centred in the view.

    The distance is the smallest at which every point projects inside
    ``FIT_MARGIN`` of the viewport; the target is then shifted so the
    projection is centred, and the fit repeated (it converges in a few steps).
    ``scene`` (centre, radius) sets the clip planes when the points are only
    part of the scene.
    """
    pts = np.asarray(points, float).reshape(-1, 3)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    cam = OrbitCamera(target=(lo + hi) / 2, azimuth=azimuth, elevation=elevation, fov=fov, distance=1.0)
    cam.scene_center, cam.scene_radius = (lo + hi) / 2, float(np.linalg.norm(hi - lo) / 2) + 1e-6
    if scene is not None:
        cam.scene_center, cam.scene_radius = np.asarray(scene[0], float), float(scene[1])
    rot = cam.view_matrix()[:3, :3]  # depends on angles only
    if fov <= 0:
        rel = (pts - cam.target) @ rot.T
        mid = (rel.max(axis=0) + rel.min(axis=0)) / 2
        cam.target = cam.target + mid[0] * rot[0] + mid[1] * rot[1]
        rel = (pts - cam.target) @ rot.T
        half_h = max(np.abs(rel[:, 1]).max(), np.abs(rel[:, 0]).max() / aspect)
        cam.ortho_height = 2 * half_h / FIT_MARGIN
        cam.distance = cam.scene_radius * 2 + 1
        return cam
    ty = math.tan(math.radians(fov) / 2)
    tx = ty * aspect

    def fit_distance() -> np.ndarray:
        rel = (pts - cam.target) @ rot.T
        # A point at depth (d - rel_z) in front of the eye fits when |offset| <= depth * t * margin.
        need = np.maximum(np.abs(rel[:, 0]) / (tx * FIT_MARGIN), np.abs(rel[:, 1]) / (ty * FIT_MARGIN)) + rel[:, 2]
        cam.distance = float(max(need.max(), 1e-3))
        return rel

    for _ in range(12):
        rel = fit_distance()
        depth = cam.distance - rel[:, 2]
        ndc_x, ndc_y = rel[:, 0] / (depth * tx), rel[:, 1] / (depth * ty)
        shift_x = (ndc_x.max() + ndc_x.min()) / 2
        shift_y = (ndc_y.max() + ndc_y.min()) / 2
        if abs(shift_x) < 1e-3 and abs(shift_y) < 1e-3:
            break
        # Move the target by the off-centre amount measured at the target's depth.
        cam.target = cam.target + shift_x * cam.distance * tx * rot[0] + shift_y * cam.distance * ty * rot[1]
    fit_distance()  # the last move may have pushed a point out: fit again
    return cam


def frame_bounds(
    lo: np.ndarray, hi: np.ndarray, preset: CameraPreset | str = "overview", aspect: float = 16 / 9, fov: float = 40.0
) -> OrbitCamera:
    """A camera of the named preset that shows the whole box ``lo``..``hi``."""
    return frame_points(box_corners(np.asarray(lo, float), np.asarray(hi, float)), preset, aspect, fov)


class Framed(Protocol):
    """Anything with corner points to frame (a Layout)."""

    def corner_points(self) -> np.ndarray: ...


def overview_angles(scene: object) -> tuple[float, float]:
    """Azimuth and elevation of the overview of ``scene`` (a Layout): from the front when it is in rows."""
    return ROWS_OVERVIEW if getattr(scene, "arrangement", "line") == "rows" else PRESETS["overview"]


def frame_scene(scene: Framed, preset: str, aspect: float) -> OrbitCamera:
    """A camera of the named preset framing ``scene``; ``overview`` follows the scene's arrangement."""
    if preset == "overview":
        return frame_points_at(scene.corner_points(), *overview_angles(scene), aspect=aspect)
    return frame_points(scene.corner_points(), preset, aspect=aspect)


def camera_for(scene: Framed, camera: str | Path | OrbitCamera, size: tuple[int, int]) -> OrbitCamera:
    """The camera to start from: a copy of ``camera``, a named preset framing ``scene``, or a saved view.json."""
    if isinstance(camera, OrbitCamera):
        return camera.copy()
    aspect = size[0] / size[1]
    if str(camera).endswith(".json"):
        cam = frame_scene(scene, "overview", aspect)
        load_camera_file(cam, camera)
        return cam
    if camera not in PRESETS:
        raise Viz3dError(f"unknown camera {camera!r}; choose one of {', '.join(PRESETS)} or a saved view.json")
    return frame_scene(scene, str(camera), aspect)


def load_camera_file(camera: OrbitCamera, path: str | Path) -> None:
    """Apply a camera state saved as JSON (K in the viewer) to ``camera``."""
    p = Path(path)
    try:
        camera.apply_dict(json.loads(p.read_text()))
    except FileNotFoundError:
        raise Viz3dError(f"camera file not found: {p}") from None
    except (json.JSONDecodeError, ValueError, AttributeError, UnicodeDecodeError) as exc:
        raise Viz3dError(f"cannot read camera file {p}: {exc} (save one with K in the viewer)") from exc
