"""Camera actions of a session: orbit, pan, zoom, fly, flights to layers and tiles, stepping (GL-free).

Mixed into :class:`~viz3d.session.session.Session`, so every camera action
is a method of the session and emits ``camera`` (and ``cut`` when the
cutaway moves). Flights are eased over :data:`~viz3d.scene.flight.FLIGHT_SECONDS`
of the session's clock; front ends call :meth:`Navigation.advance` once per
frame while :attr:`Navigation.animating`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from viz3d.capture.trace import Trace
from viz3d.errors import Viz3dError
from viz3d.files import atomic_write_bytes
from viz3d.layout.slabs import RANK_GAP, RANK_GAP_FRACTION, Layout, SlabLayout
from viz3d.scene.camera import OrbitCamera, box_corners, frame_scene, load_camera_file
from viz3d.scene.flight import FLIGHT_SECONDS, CameraFlight, focus_camera
from viz3d.session.events import SessionEvents

FLY_SPEED_PER_RADIUS = 0.3  # scene radii per second: a 3-layer net and ResNet-152 both feel right
FAST_FACTOR = 4.0
SPEED_PER_WHEEL_STEP = 1.25
NO_CUT = float("inf")
ROWS_FOCUS = (18.0, 8.0)  # azimuth, elevation of a flight to a slab in rows: from its left, the next ones in view


def checked_size(size: Any) -> tuple[int, int]:
    """A (width, height) of two positive whole numbers, or a one-line error."""
    ok = isinstance(size, tuple | list) and len(size) == 2
    ok = ok and all(isinstance(v, int | np.integer) and not isinstance(v, bool) and v > 0 for v in size)
    if not ok:
        raise Viz3dError(f"size must be two positive whole numbers (width, height), got {size!r}")
    return int(size[0]), int(size[1])


class Navigation:
    """Camera state and motion; needs ``layout``, ``trace``, ``events``, ``clock``, ``size`` and ``say``."""

    layout: Layout
    trace: Trace
    events: SessionEvents
    clock: Callable[[], float]
    size: tuple[int, int]
    camera: OrbitCamera
    say: Callable[[str], None]

    def _init_navigation(self) -> None:
        self.flight: CameraFlight | None = None
        self.flight_started = 0.0
        self.cut_z = NO_CUT  # hide everything with a larger z (nearer the input)
        self.focus_index = -1  # the layer PageDown/PageUp stepped to
        self.speed_scale = 1.0

    # --- geometry -----------------------------------------------------------
    @property
    def aspect(self) -> float:
        return self.size[0] / max(self.size[1], 1)

    def resize(self, size: tuple[int, int]) -> None:
        """The front end's view size in pixels (framing and zoom use its aspect)."""
        self.size = checked_size(size)

    def view_projection(self, aspect: float | None = None) -> np.ndarray:
        return self.camera.view_projection(aspect or self.aspect)

    def home_camera(self) -> OrbitCamera:
        """The overview camera framing the whole network (keeps orbit/fly mode)."""
        cam = frame_scene(self.layout, "overview", self.aspect)
        cam.mode = self.camera.mode
        return cam

    def focus_on_slab(self, slab: SlabLayout) -> OrbitCamera:
        """The camera framing one slab (in rows, from upstream: the flow goes on to the right)."""
        if self.layout.arrangement == "rows":
            return focus_camera(box_corners(slab.lo, slab.hi), self.camera, self.aspect, *ROWS_FOCUS)
        return focus_camera(box_corners(slab.lo, slab.hi), self.camera, self.aspect)

    def focus_on_tile(self, slab: SlabLayout, channel: int) -> OrbitCamera:
        """The camera framing one feature map's tile."""
        x0, y0, x1, y1 = slab.tile_rects()[channel]
        corners = np.array([[x, y, slab.front_z] for x in (x0, x1) for y in (y0, y1)])
        return focus_camera(corners, self.camera, self.aspect, azimuth=-12.0, elevation=6.0)

    def camera_node(self) -> int | None:
        """The slab the camera looks at: nearest to its pivot."""
        slabs = self.layout.slabs
        if not slabs:
            return None
        cached = getattr(self, "_centres", None)
        if cached is None or cached[0] is not self.layout:  # asked every frame by the minimap: one array op
            cached = self._centres = (self.layout, np.array([s.center for s in slabs], float))
        distances = np.linalg.norm(cached[1] - np.asarray(self.camera.target, float), axis=1)
        return slabs[int(np.argmin(distances))].node_id

    # --- direct manipulation (stops any flight) ---------------------------------
    def _moved(self) -> None:
        self.flight = None
        self.events.camera.emit()

    def set_camera(self, camera: OrbitCamera) -> None:
        """Jump to ``camera`` (a copy is kept)."""
        self.camera = camera.copy()
        self._moved()

    def orbit(self, d_azimuth: float, d_elevation: float) -> None:
        self.camera.orbit(d_azimuth, d_elevation)
        self._moved()

    def look(self, d_azimuth: float, d_elevation: float) -> None:
        self.camera.look(d_azimuth, d_elevation)
        self._moved()

    def pan(self, dx: float, dy: float) -> None:
        """Pan by fractions of the view height."""
        self.camera.pan(dx, dy)
        self._moved()

    def zoom_toward(self, ndc_x: float, ndc_y: float, factor: float) -> None:
        """Zoom by ``factor`` keeping the point under normalized device coordinates (x, y) fixed."""
        self.camera.zoom_toward(ndc_x, ndc_y, factor, self.aspect)
        self._moved()

    def move(self, right: float, up: float, forward: float) -> None:
        """Move eye and pivot together (fly mode), in world units."""
        self.camera.move(right, up, forward)
        self._moved()

    def fly_speed(self, fast: bool = False) -> float:
        """World units per second in fly mode."""
        return FLY_SPEED_PER_RADIUS * self.camera.scene_radius * self.speed_scale * (FAST_FACTOR if fast else 1.0)

    def scale_fly_speed(self, wheel_steps: float) -> None:
        self.speed_scale = float(np.clip(self.speed_scale * SPEED_PER_WHEEL_STEP**wheel_steps, 1e-3, 1e3))
        self.say(f"fly speed x{self.speed_scale:.2g}")

    def toggle_camera_mode(self) -> None:
        """Switch orbit and fly camera."""
        self.camera.mode = "fly" if self.camera.mode == "orbit" else "orbit"
        self.events.camera.emit()
        self.say(f"{self.camera.mode} camera")

    # --- flights --------------------------------------------------------------
    def set_cut(self, slab: SlabLayout | None) -> None:
        """Hide the layers in front of ``slab`` (a cutaway), or show all with None."""
        if slab is None or self.layout.arrangement == "rows":  # in rows no layer stands in front of another
            cut = NO_CUT
        else:
            cut = slab.front_z + slab.size[2] + 0.5 * (RANK_GAP + RANK_GAP_FRACTION * max(slab.size[:2]))
        if cut != self.cut_z:
            self.cut_z = cut
            self.events.cut.emit()

    def fly_to(self, camera: OrbitCamera, cut_at: SlabLayout | None = None, duration: float = FLIGHT_SECONDS) -> None:
        """Fly smoothly (eased, interruptible) to ``camera``; ``cut_at`` hides the layers in front of that slab."""
        self.set_cut(cut_at)
        mode = self.camera.mode
        self.flight = CameraFlight(self.camera.copy(), camera, duration)
        self.flight.end.mode = mode
        self.flight_started = self.clock()
        self.events.camera.emit()

    @property
    def animating(self) -> bool:
        """Whether a flight is under way (front ends then call :meth:`advance` every frame)."""
        return self.flight is not None

    def advance(self) -> bool:
        """Move the camera along the flight to the clock's time; True while still flying."""
        if self.flight is None:
            return False
        elapsed = self.clock() - self.flight_started
        mode = self.camera.mode
        self.camera = self.flight.at(elapsed)
        self.camera.mode = mode
        if self.flight.finished(elapsed):
            self.flight = None
        self.events.camera.emit()
        return self.flight is not None

    def fly_to_node(self, node_id: int, channel: int | None = None) -> None:
        """Fly to a layer (or, in tile mode, to one of its tiles) and cut away what is in front."""
        slab = self.layout.slab(node_id)
        self.focus_index = [s.node_id for s in self.layout.slabs].index(node_id)
        if channel is not None and self.layout.mode == "tile" and not slab.is_generic:
            self.fly_to(self.focus_on_tile(slab, channel), cut_at=slab)
        else:
            self.fly_to(self.focus_on_slab(slab), cut_at=slab)

    def focus_layer(self, name: str, frame: bool = True) -> None:
        """Jump to the layer called ``name``: the layers in front cut away, and with ``frame`` the camera on it."""
        try:
            node = self.trace.node(name)
        except KeyError:
            names = ", ".join(n.name for n in self.trace.nodes[:12])
            raise Viz3dError(f"no layer named {name!r} to focus on; layers are: {names}...") from None
        slab = self.layout.slab(node.id)
        self.focus_index = [s.node_id for s in self.layout.slabs].index(node.id)
        self.set_cut(slab)
        if frame:
            self.set_camera(self.focus_on_slab(slab))

    def home(self) -> None:
        """Fly back to the overview; stepping starts again from the first layer."""
        self.focus_index = -1
        self.fly_to(self.home_camera())

    def _step_layer(self, delta: int) -> None:
        n = len(self.layout.slabs)
        if n == 0:
            return
        index = int(np.clip(self.focus_index + delta, 0, n - 1))
        slab = self.layout.slabs[index]
        self.fly_to_node(slab.node_id)
        self.say(f"layer {index + 1}/{n}: {self.trace.nodes[slab.node_id].name}")

    def next_layer(self) -> None:
        """Fly to the next layer (a presentation clicker's PageDown)."""
        self._step_layer(+1)

    def previous_layer(self) -> None:
        """Fly to the previous layer."""
        self._step_layer(-1)

    # --- camera files -------------------------------------------------------------
    def save_camera(self, path: str | Path) -> Path:
        """Write the camera as JSON (``--camera FILE`` starts from it)."""
        import json

        out = atomic_write_bytes(path, json.dumps(self.camera.to_dict(), indent=2).encode())
        self.say(f"camera saved to {out}")
        return out

    def load_camera(self, path: str | Path) -> None:
        """Restore a camera saved with :meth:`save_camera` (K in the viewer)."""
        load_camera_file(self.camera, path)
        self._moved()
