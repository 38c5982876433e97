"""The fly-through viewer: navigate, pick, inspect and present a captured network.

Two camera modes share one state (an orbit camera): in *orbit* mode dragging
rotates around the pivot and scrolling zooms toward the cursor; in *fly* mode
W/A/S/D/E/Q move eye and pivot together and dragging turns the view. Every
key is listed in :mod:`viz3d.scene.keymap`, which also generates the help.

The window redraws only when something changed; a timer runs only while a
movement key is held or a camera flight is under way, so an idle window
costs no CPU.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from viz3d.capture.trace import Trace
from viz3d.layout import SlabLayout, layout_trace
from viz3d.layout.slabs import RANK_GAP, RANK_GAP_FRACTION
from viz3d.render.context import Backend, make_canvas
from viz3d.render.scene_renderer import SceneRenderer
from viz3d.scene import keymap
from viz3d.scene.camera import OrbitCamera, box_corners, frame_points
from viz3d.scene.colormaps import COLORMAPS
from viz3d.scene.flight import CameraFlight, focus_camera
from viz3d.scene.normalization import NORMALIZATIONS, value_range
from viz3d.scene.picking import PickHit
from viz3d.unit_links import unit_connections, unit_outline

ORBIT_DEGREES_PER_PIXEL = 0.3
LOOK_DEGREES_PER_PIXEL = 0.2
ZOOM_PER_WHEEL_STEP = 0.88
SPEED_PER_WHEEL_STEP = 1.25
FLY_SPEED_PER_RADIUS = 0.3  # scene radii per second: a 3-layer net and ResNet-152 both feel right
FAST_FACTOR = 4.0
CLICK_SLOP_PX = 3.0
MESSAGE_SECONDS = 3.0
CAMERA_FILE = "viz3d-camera.json"
# Held movement keys: (right, up, forward) directions in the camera's frame.
MOVE_AXES: dict[str, tuple[int, int, int]] = {
    "move_right": (1, 0, 0),
    "move_left": (-1, 0, 0),
    "move_up": (0, 1, 0),
    "move_down": (0, -1, 0),
    "move_forward": (0, 0, 1),
    "move_back": (0, 0, -1),
}


class ViewerWindow:
    """A window (or, with ``backend="egl"``, a hidden canvas for tests) showing one network.

    Parameters
    ----------
    trace
        What to show.
    model, inputs
        Optional: the model and sample inputs, so the viewer can re-capture
        (I cycles inputs, G folds blocks).
    group_depth
        The folding depth G toggles to (the trace's own depth is the other state).
    camera
        The starting view: a preset (overview, front, side) or a view.json
        written by K.
    """

    def __init__(
        self,
        trace: Trace,
        *,
        model: torch.nn.Module | None = None,
        inputs: Sequence[torch.Tensor] = (),
        group_depth: int = 1,
        size: tuple[int, int] = (1440, 900),
        colormap: str = "viridis",
        normalization: str = "layer",
        title: str = "viz3d",
        backend: Backend = "glfw",
        camera: str = "overview",
        output_dir: str | Path = ".",
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.trace = trace
        self.activation_trace = trace  # what was captured; self.trace is what is shown
        self.showing = "activations"
        self.shared_filter_range = False  # weights view: colour filters normalized per filter, or shared
        self.model = model
        self.inputs = list(inputs)
        self.input_index = 0
        self.fold_depth = group_depth
        self.output_dir = Path(output_dir)
        self.clock = clock
        self.layout_mode: str = "tile"
        self.layout = layout_trace(trace)
        self.renderer = SceneRenderer(trace, self.layout, colormap=colormap, normalization=normalization)
        from viz3d.api import camera_for

        self.camera = camera_for(self.layout, camera, size)  # before the window: a bad file opens none
        show = backend != "egl"
        self.canvas = make_canvas(backend, size, show=show, title=title, config={"samples": 4} if show else {})
        self.flight: CameraFlight | None = None
        self.flight_started = 0.0
        self.held: set[str] = set()
        self.speed_scale = 1.0
        self.selection: tuple[int, int, int, int] | None = None  # node, channel, y, x
        self.hover: PickHit | None = None
        self.hover_text = ""
        self.focus_index = -1
        self.show_help = False
        self.show_stats = False
        self.show_minimap = True
        self._minimap: Any = None
        self._minimap_drawn: tuple[int, tuple[float, float]] | None = None  # (image id, position) uploaded
        self._stats_cache: tuple[Trace, dict[int, Any]] | None = None
        self.message = ""
        self.message_until = 0.0
        self._press: tuple[np.ndarray, int] | None = None
        self._drag_last: np.ndarray | None = None
        self._dragging = False
        self._last_tick = self.clock()
        self._frame_times: list[float] = []
        self._last_draw = 0.0
        self._overlay: Any = None
        self._pick_buffer: Any = None
        self._hud_key: tuple[str, ...] = ()
        self._mouse = (size[0] / 2, size[1] / 2)
        self.closed = False

        from vispy import app

        self.timer = app.Timer("auto", connect=self._on_timer, start=False)
        ev = self.canvas.events
        ev.draw.connect(self.on_draw)
        ev.resize.connect(lambda event: self.canvas.update())
        ev.mouse_press.connect(self.on_mouse_press)
        ev.mouse_release.connect(self.on_mouse_release)
        ev.mouse_move.connect(self.on_mouse_move)
        ev.mouse_wheel.connect(self.on_mouse_wheel)
        ev.mouse_double_click.connect(self.on_mouse_double_click)
        ev.key_press.connect(self.on_key_press)
        ev.key_release.connect(self.on_key_release)
        ev.close.connect(self.on_close)

    # --- geometry helpers -------------------------------------------------------
    @property
    def size(self) -> tuple[int, int]:
        w, h = self.canvas.size
        return max(1, int(w)), max(1, int(h))

    @property
    def aspect(self) -> float:
        w, h = self.size
        return w / h

    def home_camera(self) -> OrbitCamera:
        """The overview camera framing the whole network."""
        cam = frame_points(self.layout.corner_points(), "overview", aspect=self.aspect)
        cam.mode = getattr(getattr(self, "camera", None), "mode", "orbit")
        return cam

    def view_projection(self) -> np.ndarray:
        return self.camera.view_projection(self.aspect)

    def ndc(self, pos: Sequence[float]) -> tuple[float, float]:
        """Normalized device coordinates of a window position (pixels, y down)."""
        w, h = self.size
        return 2 * float(pos[0]) / w - 1, 1 - 2 * float(pos[1]) / h

    def say(self, message: str) -> None:
        """Show a transient status line in the HUD."""
        self.message = message
        self.message_until = self.clock() + MESSAGE_SECONDS
        self.canvas.update()

    # --- frame ----------------------------------------------------------------
    def on_close(self, event: Any = None) -> None:
        """Free the scene's GL objects while the context still exists (CUDA registrations first)."""
        self.timer.stop()
        self.closed = True
        self.canvas.set_current()
        self.renderer.delete()

    def on_draw(self, event: Any = None) -> None:
        from vispy import gloo

        if self.closed:
            return
        now = self.clock()
        if self._last_draw:
            self._frame_times = [now - self._last_draw, *self._frame_times][:30]
        self._last_draw = now
        fw, fh = (int(v) for v in self.canvas.physical_size)
        scale = fw / self.size[0]
        self.renderer.draw(self.view_projection(), (fw, fh), pixel_scale=scale, eye=self.camera.eye)
        self._update_panels()
        self._overlay.draw((fw, fh), scale)
        gloo.set_viewport(0, 0, fw, fh)

    def fps(self) -> float | None:
        """Frames per second while animating (None when idle: nothing is redrawn then)."""
        recent = [t for t in self._frame_times[:10] if 0 < t < 0.5]
        return 1.0 / float(np.median(recent)) if len(recent) >= 3 else None

    def hud_lines(self) -> list[str]:
        fps = self.fps()
        rate = f"{fps:.0f} fps" if fps else "idle"
        lines = [
            f"{rate} | {self.camera.mode} | {self.renderer.colormap} | "
            f"{self.renderer.normalization} normalization | {self.layout_mode} mode | {self.showing} | H: help"
        ]
        if self.renderer.cut_z != float("inf"):
            lines[0] += " | layers in front hidden (Home: all)"
        uploader = self.renderer.uploader
        if uploader is not None and uploader.name == "cuda":
            lines[0] += " | zero-copy CUDA upload"
        elif getattr(uploader, "failure", None):
            lines[0] += " | CUDA path failed: host upload"
        drawn, total = self.renderer.thinned
        if drawn < total:
            lines[0] += f" | connections thinned: {drawn:,} of {total:,} drawn"
        if self.hover_text:
            lines.append(self.hover_text)
        if self.message and self.clock() < self.message_until:
            lines.append(self.message)
        return lines

    def _update_panels(self) -> None:
        from viz3d.app.panels import help_panel, text_panel
        from viz3d.render.overlay import Overlay

        if self._overlay is None:
            self._overlay = Overlay()
        lines = tuple(self.hud_lines())
        if lines != self._hud_key:
            self._overlay.set("hud", text_panel(list(lines)), (10, 10))
            self._hud_key = lines
        self._update_minimap()
        if self.show_help and "help" not in self._overlay:
            img = help_panel(keymap.help_lines())
            w, h = self.size
            self._overlay.set("help", img, (max(10, (w - img.shape[1]) / 2), max(50, (h - img.shape[0]) / 2)))
        elif not self.show_help and "help" in self._overlay:
            self._overlay.remove("help")

    def minimap(self) -> Any:
        """The minimap of the shown trace (rebuilt when the trace changes)."""
        from viz3d.app.minimap import Minimap

        if self._minimap is None:  # dropped by _show when the network's structure changes
            self._minimap = Minimap(self.trace, max_height=max(120, int(self.size[1] * 0.55)))
        # Bottom-left corner, following window resizes.
        self._minimap.position = (10.0, float(self.size[1] - self._minimap.size[1] - 10))
        return self._minimap

    def camera_node(self) -> int | None:
        """The slab the camera looks at: nearest to its pivot."""
        if not self.layout.slabs:
            return None
        target = np.asarray(self.camera.target, float)
        return min(self.layout.slabs, key=lambda s: float(np.linalg.norm(s.center - target))).node_id

    def _update_minimap(self) -> None:
        if not self.show_minimap:
            if "minimap" in self._overlay:
                self._overlay.remove("minimap")
            return
        mini = self.minimap()
        mini.mark(self.camera_node())
        image = mini.image()  # cached until the mark moves
        drawn = (id(image), mini.position)
        if drawn != self._minimap_drawn or "minimap" not in self._overlay:
            self._overlay.set("minimap", image, mini.position)
            self._minimap_drawn = drawn

    def action_toggle_minimap(self) -> None:
        self.show_minimap = not self.show_minimap
        self.canvas.update()

    # --- camera motion ----------------------------------------------------------
    def fly_speed(self) -> float:
        """World units per second in fly mode."""
        fast = FAST_FACTOR if "fast" in self.held else 1.0
        return FLY_SPEED_PER_RADIUS * self.camera.scene_radius * self.speed_scale * fast

    def step(self, dt: float) -> bool:
        """Advance held-key movement and any flight by ``dt`` seconds; True while something moves."""
        moving = False
        if self.flight is not None:
            elapsed = self.clock() - self.flight_started
            mode = self.camera.mode
            self.camera = self.flight.at(elapsed)
            self.camera.mode = mode
            if self.flight.finished(elapsed):
                self.flight = None
            moving = True
        d = np.zeros(3)
        for action in self.held:
            if action in MOVE_AXES:
                d += MOVE_AXES[action]
        if d.any():
            self.flight = None  # manual movement interrupts a flight
            r, u, f = d * self.fly_speed() * dt
            self.camera.move(r, u, f)
            moving = True
        if moving:
            self.canvas.update()
        return moving

    def _on_timer(self, event: Any) -> None:
        now = self.clock()
        dt, self._last_tick = min(now - self._last_tick, 0.1), now
        if not self.step(dt):
            self.timer.stop()

    def _animate(self) -> None:
        if not self.timer.running:
            self._last_tick = self.clock()
            self.timer.start()

    def fly_to(self, camera: OrbitCamera, cut_at: SlabLayout | None = None) -> None:
        """Fly smoothly (eased, interruptible) to ``camera``.

        With ``cut_at``, the layers in front of that slab are hidden (a
        cutaway) so they do not block the view of it; without, all show.
        """
        if cut_at is None:
            self.renderer.cut_z = float("inf")
        else:
            gap = cut_at.size[2] + 0.5 * (RANK_GAP + RANK_GAP_FRACTION * max(cut_at.size[:2]))
            self.renderer.cut_z = cut_at.front_z + gap
        self.flight = CameraFlight(self.camera.copy(), camera)
        self.flight_started = self.clock()
        self._animate()

    def focus_on_slab(self, slab: SlabLayout) -> OrbitCamera:
        """The camera framing one slab."""
        return focus_camera(box_corners(slab.lo, slab.hi), self.camera, self.aspect)

    def focus_on_tile(self, slab: SlabLayout, channel: int) -> OrbitCamera:
        """The camera framing one feature map's tile."""
        x0, y0, x1, y1 = slab.tile_rects()[channel]
        z = slab.front_z
        corners = np.array([[x, y, z] for x in (x0, x1) for y in (y0, y1)])
        cam = focus_camera(corners, self.camera, self.aspect, azimuth=-12.0, elevation=6.0)
        return cam

    # --- picking and selection --------------------------------------------------
    def pick(self, pos: Sequence[float] | np.ndarray) -> PickHit | None:
        """What is under window position ``pos`` (pixels, y down)."""
        from viz3d.render.picking import PickBuffer

        if self._pick_buffer is None:
            self._pick_buffer = PickBuffer()
        self.canvas.set_current()
        fw, fh = (int(v) for v in self.canvas.physical_size)
        scale = fw / self.size[0]
        x, y = int(pos[0] * scale), int(pos[1] * scale)
        return self._pick_buffer.pick(self.renderer, self.view_projection(), (fw, fh), x, y)

    def describe(self, hit: PickHit | None) -> str:
        """The HUD line for a pick: layer, type, shape, channel, (y, x), value and channel statistics."""
        if hit is None:
            return ""
        node = self.trace.nodes[hit.node_id]
        text = f"{node.name} ({node.op}) {'x'.join(map(str, node.shape)) or '-'}"
        if hit.channel is None or node.display is None:
            return text
        layer = self.renderer.layer_for(hit.node_id)
        if node.display_rgb:
            rgb = node.display[3 * hit.channel : 3 * hit.channel + 3, hit.y, hit.x].tolist()
            text += f" | filter {hit.channel} (y {hit.y}, x {hit.x}) = RGB " + ", ".join(f"{v:.3g}" for v in rgb)
            return text
        value = float(node.display[hit.channel, hit.y, hit.x])
        text += f" | channel {hit.channel} (y {hit.y}, x {hit.x}) = {value:.4g}"
        if layer is not None:
            s = layer.stats
            c = hit.channel
            text += f" | min {s.minimum[c]:.3g} mean {s.mean[c]:.3g} max {s.maximum[c]:.3g}"
        return text

    def select(self, hit: PickHit | None) -> None:
        """Select the feature map of ``hit`` (None clears): highlight in 3D, inset panel in 2D."""
        if hit is None or hit.channel is None:
            self.selection = None
            self.renderer.set_highlight(None)
            for kind in ("rf", "weights"):
                self.renderer.set_connections(kind, [])
            if self._overlay is not None:
                self._overlay.remove("inset")
            self.canvas.update()
            return
        assert hit.y is not None and hit.x is not None
        self.selection = (hit.node_id, hit.channel, hit.y, hit.x)
        self._refresh_selection()

    def _inset_histograms(self, node_id: int) -> list[tuple[str, list[int], tuple[float, float, float]]]:
        from viz3d.layout.charts import ACTIVATION_RGB, WEIGHT_RGB

        s = self.statistics().get(node_id)
        out = []
        if s is not None and s.act_hist is not None:
            out.append(
                (
                    f"activations {s.act_hist.edges[0]:.3g} .. {s.act_hist.edges[-1]:.3g}",
                    s.act_hist.counts,
                    ACTIVATION_RGB,
                )
            )
        if s is not None and s.weight_hist is not None:
            out.append(
                (
                    f"weights {s.weight_hist.edges[0]:.3g} .. {s.weight_hist.edges[-1]:.3g}",
                    s.weight_hist.counts,
                    WEIGHT_RGB,
                )
            )
        return out

    def _refresh_selection(self, connections: bool = True) -> None:
        from viz3d.app.panels import inset_panel

        if self.selection is None:
            return
        node_id, c, y, x = self.selection
        node = self.trace.nodes[node_id]
        if connections and self.layout_mode == "tile":
            self.renderer.set_highlight(unit_outline(self.trace, self.layout, node_id, c, y, x))
            for kind, sets in unit_connections(self.trace, self.layout, node_id, c, y, x).items():
                self.renderer.set_connections(kind, sets)
        elif connections:
            self.renderer.set_highlight(None)
        layer = self.renderer.layer_for(node_id)
        assert node.display is not None and layer is not None
        from viz3d.scene.colormaps import DIVERGING
        from viz3d.scene.normalization import global_range

        g = global_range([la.stats for la in self.renderer.layers])
        colormap = node.display_colormap or self.renderer.colormap
        mode = node.display_norm or self.renderer.normalization
        symmetric = colormap in DIVERGING or mode == "symmetric"
        lo, hi = value_range("layer" if mode == "symmetric" else mode, layer.stats, g, symmetric)
        if node.display_rgb:
            values = node.display[3 * c : 3 * c + 3].detach().float().cpu().numpy()
            lo_c, hi_c = float(lo[3 * c : 3 * c + 3].min()), float(hi[3 * c : 3 * c + 3].max())
            title = f"{node.name} filter {c}  {values.shape[1]}x{values.shape[2]} RGB"
            img = inset_panel(values, lo_c, hi_c, colormap, title, rgb=True, histograms=self._inset_histograms(node_id))
        else:
            values = node.display[c].detach().float().cpu().numpy()
            what = "kernel" if node.grid_cols else "channel"
            title = f"{node.name} {what} {c}  {values.shape[0]}x{values.shape[1]}"
            img = inset_panel(
                values, float(lo[c]), float(hi[c]), colormap, title, histograms=self._inset_histograms(node_id)
            )
        if self._overlay is None:
            from viz3d.render.overlay import Overlay

            self.canvas.set_current()
            self._overlay = Overlay()
        w, h = self.size
        self._overlay.set("inset", img, (w - img.shape[1] - 10, h - img.shape[0] - 10))
        self.canvas.update()

    # --- mouse ------------------------------------------------------------------
    def on_mouse_press(self, event: Any) -> None:
        self._press = (np.asarray(event.pos, float), int(event.button or 1))
        self._drag_last = np.asarray(event.pos, float)
        self._dragging = False

    def on_mouse_release(self, event: Any) -> None:
        if self._press is not None and not self._dragging and self._press[1] == 1:
            target = self.minimap().node_at(*event.pos) if self.show_minimap else None
            if target is not None:
                self.fly_to_hit(PickHit(target))
            else:
                self.select(self.pick(event.pos))
        self._press = None
        self._drag_last = None
        self._dragging = False

    def on_mouse_move(self, event: Any) -> None:
        pos = np.asarray(event.pos, float)
        self._mouse = (float(pos[0]), float(pos[1]))
        if self._press is None or self._drag_last is None:
            hit = self.pick(pos)
            text = self.describe(hit)
            if text != self.hover_text:
                self.hover, self.hover_text = hit, text
                self.canvas.update()
            return
        if not self._dragging and np.linalg.norm(pos - self._press[0]) < CLICK_SLOP_PX:
            return
        self._dragging = True
        self.flight = None
        dx, dy = pos - self._drag_last
        self._drag_last = pos
        button = self._press[1]
        modifiers = {getattr(m, "name", str(m)) for m in (event.modifiers or ())}
        if button in (2, 3) or "Shift" in modifiers:
            h = self.size[1]
            self.camera.pan(dx / h, dy / h)
        elif self.camera.mode == "fly":
            self.camera.look(dx * LOOK_DEGREES_PER_PIXEL, dy * LOOK_DEGREES_PER_PIXEL)
        else:
            self.camera.orbit(dx * ORBIT_DEGREES_PER_PIXEL, dy * ORBIT_DEGREES_PER_PIXEL)
        self.canvas.update()

    def on_mouse_wheel(self, event: Any) -> None:
        steps = float(event.delta[1])
        self.flight = None
        if self.camera.mode == "fly":
            self.speed_scale = float(np.clip(self.speed_scale * SPEED_PER_WHEEL_STEP**steps, 1e-3, 1e3))
            self.say(f"fly speed x{self.speed_scale:.2g}")
        else:
            nx, ny = self.ndc(event.pos)
            self.camera.zoom_toward(nx, ny, ZOOM_PER_WHEEL_STEP**steps, self.aspect)
        self.canvas.update()

    def on_mouse_double_click(self, event: Any) -> None:
        self.fly_to_hit(self.pick(event.pos))

    # --- keys ---------------------------------------------------------------------
    def on_key_press(self, event: Any) -> None:
        name = getattr(event.key, "name", None) if event.key is not None else None
        if name is None:
            return
        modifiers = {getattr(m, "name", str(m)) for m in (event.modifiers or ())}
        if name == "Q" and self.camera.mode == "orbit":
            self.canvas.close()
            return
        if name == "W" and self.camera.mode == "orbit":
            self.action_toggle_weights_view()
            return
        held = keymap.held_actions()
        if name in held:
            self.held.add(held[name])
            self._animate()
            return
        action = keymap.binding_for(name, shift="Shift" in modifiers)
        if action is not None:
            getattr(self, f"action_{action}")()

    def on_key_release(self, event: Any) -> None:
        name = getattr(event.key, "name", None) if event.key is not None else None
        held = keymap.held_actions()
        if name in held:
            self.held.discard(held[name])

    # --- actions (one per keymap entry) -------------------------------------------
    def action_toggle_mode(self) -> None:
        self.camera.mode = "fly" if self.camera.mode == "orbit" else "orbit"
        self.say(f"{self.camera.mode} camera")

    def fly_to_hit(self, hit: PickHit | None) -> None:
        if hit is None:
            return
        slab = self.layout.slab(hit.node_id)
        self.focus_index = [s.node_id for s in self.layout.slabs].index(hit.node_id)
        if hit.channel is not None and self.layout_mode == "tile":
            self.fly_to(self.focus_on_tile(slab, hit.channel), cut_at=slab)
        else:
            self.fly_to(self.focus_on_slab(slab), cut_at=slab)

    def action_fly_to_cursor(self) -> None:
        self.fly_to_hit(self.pick(self._mouse))

    def action_home(self) -> None:
        self.fly_to(self.home_camera())

    def _step_layer(self, delta: int) -> None:
        n = len(self.layout.slabs)
        if n == 0:
            return
        self.focus_index = int(np.clip(self.focus_index + delta, 0, n - 1))
        slab = self.layout.slabs[self.focus_index]
        self.say(f"layer {self.focus_index + 1}/{n}: {self.trace.nodes[slab.node_id].name}")
        self.fly_to(self.focus_on_slab(slab), cut_at=slab)

    def action_next_layer(self) -> None:
        self._step_layer(+1)

    def action_previous_layer(self) -> None:
        self._step_layer(-1)

    def action_cycle_colormap(self) -> None:
        i = COLORMAPS.index(self.renderer.colormap)
        self.renderer.set_colormap(COLORMAPS[(i + 1) % len(COLORMAPS)])
        self._refresh_selection(connections=False)  # only the inset's colours change
        self.canvas.update()

    def action_cycle_normalization(self) -> None:
        if self.showing == "weights":
            # Weights have fixed ranges; N switches colour filters between per-filter and shared ranges.
            self.shared_filter_range = not self.shared_filter_range
            self._show(keep_view=True)
            self.say(
                "colour filters: " + ("one range for the layer" if self.shared_filter_range else "one range per filter")
            )
            return
        i = NORMALIZATIONS.index(self.renderer.normalization)
        self.renderer.set_normalization(NORMALIZATIONS[(i + 1) % len(NORMALIZATIONS)])
        self._refresh_selection(connections=False)  # only the inset's range changes
        self.canvas.update()

    def action_toggle_volume(self) -> None:
        self.layout_mode = "volume" if self.layout_mode == "tile" else "tile"
        self.layout = layout_trace(self.trace, self.layout_mode)  # type: ignore[arg-type]
        self.renderer.set_layout(self.layout)
        self.hover, self.hover_text = None, ""
        self._refresh_selection()
        self._refresh_stats()
        self.say(f"{self.layout_mode} mode")
        self.fly_to(self.home_camera())  # slabs change size: frame the new arrangement

    def _toggle_kind(self, kind: str, label: str) -> None:
        visible = kind not in self.renderer.connection_kinds
        self.renderer.set_kind_visible(kind, visible)
        hint = "" if kind == "graph" or self.selection else " (click a feature map to select a unit)"
        self.say(f"{label} {'shown' if visible else 'hidden'}{hint}")

    def action_toggle_graph(self) -> None:
        self._toggle_kind("graph", "dataflow connections")

    def action_toggle_rf(self) -> None:
        self._toggle_kind("rf", "receptive field")

    def action_toggle_weights(self) -> None:
        self._toggle_kind("weights", "strongest weights")

    def action_toggle_labels(self) -> None:
        self.renderer.show_labels = not self.renderer.show_labels
        self.canvas.update()

    def action_toggle_grouping(self) -> None:
        if self.model is None or not self.inputs:
            self.say("block folding needs the model: open the viewer with viz3d.show(model, x)")
            return
        depth = None if self.trace.group_depth else self.fold_depth
        self._recapture(group_depth=depth, keep_view=False)
        self.say("blocks folded" if depth else "leaf modules")

    def action_next_input(self) -> None:
        if self.model is None or len(self.inputs) < 2:
            self.say("only one input to show")
            return
        self.input_index = (self.input_index + 1) % len(self.inputs)
        if self.showing == "weights":
            # Weights do not depend on the input: capture it for the activations view, upload nothing.
            from viz3d.capture import capture

            assert self.model is not None
            group_depth = self.activation_trace.group_depth
            self.activation_trace = capture(self.model, self.inputs[self.input_index], group_depth=group_depth)
            self.say(f"input {self.input_index + 1}/{len(self.inputs)} (shown with W; weights do not change)")
            return
        self._recapture(group_depth=self.trace.group_depth, keep_view=True)
        self.say(f"input {self.input_index + 1}/{len(self.inputs)}")

    def _recapture(self, group_depth: int | None, keep_view: bool) -> None:
        from viz3d.capture import capture

        assert self.model is not None
        self.activation_trace = capture(self.model, self.inputs[self.input_index], group_depth=group_depth)
        self._show(keep_view)

    def _show(self, keep_view: bool) -> None:
        """Show the activation trace, or its weights in the weights view."""
        from viz3d.capture.weights import weights_trace

        if self.showing == "weights":
            trace = weights_trace(self.activation_trace, shared_normalization=self.shared_filter_range)
        else:
            trace = self.activation_trace
        self.canvas.set_current()
        same = [n.name for n in trace.nodes] == [n.name for n in self.trace.nodes]
        if keep_view and same:
            # Same network: only the values (or their ranges) change, so upload in place.
            self.renderer.update_activations(trace)
            self.trace = trace
        else:
            old = self.renderer
            self.trace = trace
            self.layout = layout_trace(trace, self.layout_mode)  # type: ignore[arg-type]
            self.renderer = SceneRenderer(
                trace, self.layout, colormap=old.colormap, normalization=old.normalization, labels=old.show_labels
            )
            self.renderer.connection_kinds = set(old.connection_kinds)
            old.delete()
            self.selection = None
            self._minimap = None
            if not keep_view:
                self.camera = self.home_camera()
        self._refresh_selection()
        self.hover, self.hover_text = None, ""
        self.canvas.update()

    def statistics(self) -> dict[int, Any]:
        """Per-node statistics of the captured activations and weights (computed once per capture)."""
        from viz3d.capture.stats import layer_statistics

        trace = self.activation_trace
        if self._stats_cache is None or self._stats_cache[0] is not trace:
            self._stats_cache = (trace, {s.id: s for s in layer_statistics(trace)})
        return self._stats_cache[1]

    def _refresh_stats(self) -> None:
        from viz3d.layout.charts import health_overlay

        if not self.show_stats:
            self.renderer.set_charts(np.zeros((0, 3)), np.zeros((0, 3)), np.zeros((0, 3)))
            self.renderer.set_flags(np.zeros((0, 3)), np.zeros((0, 4)))
            return
        overlay = health_overlay(self.layout, self.trace.nodes, self.statistics(), self.showing == "activations")
        self.renderer.set_charts(overlay.bars_lo, overlay.bars_hi, overlay.bars_rgb)
        self.renderer.set_flags(overlay.segments, overlay.segment_rgba)
        self.canvas.update()

    def flagged_layers(self) -> list[str]:
        """Names of layers with health flags (dead or saturated channels, scale jumps)."""
        return [s.name for s in self.statistics().values() if s.flags]

    def action_toggle_stats(self) -> None:
        self.show_stats = not self.show_stats
        self._refresh_stats()
        if self.show_stats:
            flagged = self.flagged_layers()
            self.say(f"statistics: {len(flagged)} layers flagged" + (f" ({', '.join(flagged[:4])})" if flagged else ""))

    def action_toggle_weights_view(self) -> None:
        self.showing = "weights" if self.showing == "activations" else "activations"
        self._show(keep_view=False)
        self.say(f"{self.showing} view" + (": conv filters and weight matrices" if self.showing == "weights" else ""))

    def screenshot(self, scale: int = 1) -> Path:
        """Save the 3D view (without panels) as a PNG at ``scale`` × the window size."""
        from viz3d.export.png import save_png
        from viz3d.render.offscreen import render_frame

        self.canvas.set_current()
        w, h = self.size
        image = render_frame(self.renderer, self.view_projection(), (w * scale, h * scale), canvas=self.canvas)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = self.output_dir / f"viz3d-screenshot-{stamp}{'-2x' if scale > 1 else ''}.png"
        n = 1
        while path.exists():
            n += 1
            path = path.with_name(f"{path.stem}-{n}.png")
        save_png(image, path)
        self.say(f"saved {path}")
        return path

    def action_screenshot(self) -> None:
        self.screenshot(1)

    def action_screenshot_2x(self) -> None:
        self.screenshot(2)

    def save_camera(self, path: str | Path) -> Path:
        from viz3d.export.png import atomic_write_bytes

        data = json.dumps(self.camera.to_dict(), indent=2).encode()
        out = atomic_write_bytes(path, data)
        self.say(f"camera saved to {out}")
        return out

    def load_camera(self, path: str | Path) -> None:
        """Restore a camera saved with K (or by :meth:`save_camera`)."""
        from viz3d.api import load_camera_file

        load_camera_file(self.camera, path)

    def action_save_camera(self) -> None:
        self.save_camera(self.output_dir / CAMERA_FILE)

    def action_toggle_help(self) -> None:
        self.show_help = not self.show_help
        self.canvas.update()

    def action_clear_selection(self) -> None:
        if self.show_help:
            self.show_help = False
        self.select(None)

    # --- running ------------------------------------------------------------------
    def run(self) -> None:
        """Show the window and run the event loop until it is closed."""
        from vispy import app

        self.canvas.show()
        app.run()
