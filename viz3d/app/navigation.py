"""Mouse and held keys → session camera actions: the viewer's navigation controller.

Dragging orbits (orbit mode) or looks around (fly mode), right/Shift-drag
pans, the wheel zooms toward the cursor (fly mode: sets the speed), a click
selects what is under the cursor (or flies to a minimap node), a Shift-click
pins the feature map under it (or unpins it), a double
click flies there; a press on the training timeline's slider scrubs it. Held
movement keys move the camera every tick. What the pointer is over comes from
callbacks, so this module needs no GL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from viz3d.app.timeline_panel import slider_index
from viz3d.scene.picking import PickHit
from viz3d.session.session import Session

ORBIT_DEGREES_PER_PIXEL = 0.3
LOOK_DEGREES_PER_PIXEL = 0.2
ZOOM_PER_WHEEL_STEP = 0.88
CLICK_SLOP_PX = 3.0
# Held movement keys: (right, up, forward) directions in the camera's frame.
MOVE_AXES: dict[str, tuple[int, int, int]] = {
    "move_right": (1, 0, 0),
    "move_left": (-1, 0, 0),
    "move_up": (0, 1, 0),
    "move_down": (0, -1, 0),
    "move_forward": (0, 0, 1),
    "move_back": (0, 0, -1),
}
HELD_ACTIONS = (*MOVE_AXES, "fast")


class Navigator:
    """Turns pointer and held-key input of one view into session actions.

    Parameters
    ----------
    session
        What the input acts on.
    size
        The view's size in logical pixels (called when needed: windows resize).
    pick
        What is under a logical pixel position.
    minimap_node
        The node under a position if it is on the minimap, else None.
    """

    def __init__(
        self,
        session: Session,
        size: Callable[[], tuple[int, int]],
        pick: Callable[[Sequence[float]], PickHit | None],
        minimap_node: Callable[[float, float], int | None],
    ) -> None:
        self.session = session
        self.size = size
        self.pick = pick
        self.minimap_node = minimap_node
        self.held: set[str] = set()
        self.mouse = (0.0, 0.0)
        self.hover: PickHit | None = None
        self.hover_on_minimap = False  # the hovered node is under the pointer on the minimap
        self._press: tuple[np.ndarray, int] | None = None
        self._shift = False  # Shift held at the press: a click pins instead of selecting
        self._drag_last: np.ndarray | None = None
        self._dragging = False
        self._scrubbing = False  # a press on the timeline's slider: moves scrub, not orbit

    def ndc(self, pos: Sequence[float]) -> tuple[float, float]:
        """Normalized device coordinates of a position (pixels, y down)."""
        w, h = self.size()
        return 2 * float(pos[0]) / w - 1, 1 - 2 * float(pos[1]) / h

    # --- pointer ------------------------------------------------------------------
    def press(self, pos: Sequence[float], button: int, modifiers: Iterable[Any] = ()) -> None:
        index = slider_index(self.session, self.size(), float(pos[0]), float(pos[1])) if button in (1, None) else None
        if index is not None:  # on the training timeline's slider: scrub until the release
            self._scrubbing = True
            self.session.go_to_snapshot(index)
            return
        self._press = (np.asarray(pos, float), int(button or 1))
        self._shift = "Shift" in {getattr(m, "name", str(m)) for m in modifiers or ()}
        self._drag_last = np.asarray(pos, float)
        self._dragging = False

    @property
    def dragging(self) -> bool:
        """Whether a drag (orbit, look or pan) is under way."""
        return self._dragging

    def release(self, pos: Sequence[float]) -> None:
        """A release without a drag is a click: fly to a minimap node, else select (Shift: pin) what is under it."""
        if self._scrubbing:
            self._scrubbing = False
            return
        if self._press is not None and not self._dragging and self._press[1] == 1:
            target = self.minimap_node(float(pos[0]), float(pos[1]))
            hit = None if target is not None else self.pick(pos)
            if target is not None:
                self.session.fly_to_node(target)
            elif self._shift and hit is not None and hit.channel is not None:
                self.session.toggle_pin((hit.node_id, hit.channel))
            else:
                self.select(hit)
        self._press = None
        self._drag_last = None
        self._dragging = False

    def select(self, hit: PickHit | None) -> None:
        """Select the feature-map pixel of ``hit``; a miss or a box without tiles clears the selection."""
        if hit is None or hit.channel is None or hit.y is None or hit.x is None:
            self.session.select(None)
        else:
            self.session.select((hit.node_id, hit.channel, hit.y, hit.x))

    def move(self, pos: Sequence[float], modifiers: set[str]) -> bool:
        """Hover (a minimap node, else what the scene shows there; True when it changed) or drag."""
        p = np.asarray(pos, float)
        self.mouse = (float(p[0]), float(p[1]))
        if self._scrubbing:
            index = slider_index(self.session, self.size(), *self.mouse, anywhere=True)
            if index is not None and index != self.session.timeline_index:
                self.session.go_to_snapshot(index)
            return False
        if self._press is None or self._drag_last is None:
            node = self.minimap_node(*self.mouse)  # the minimap is drawn over the scene: it comes first
            hit = PickHit(node) if node is not None else self.pick(self.mouse)
            changed = hit != self.hover or (node is not None) != self.hover_on_minimap
            self.hover, self.hover_on_minimap = hit, node is not None
            return changed
        if not self._dragging and np.linalg.norm(p - self._press[0]) < CLICK_SLOP_PX:
            return False
        self._dragging = True
        dx, dy = p - self._drag_last
        self._drag_last = p
        camera = self.session.camera
        if self._press[1] in (2, 3) or "Shift" in modifiers:
            h = self.size()[1]
            self.session.pan(dx / h, dy / h)
        elif camera.mode == "fly":
            self.session.look(dx * LOOK_DEGREES_PER_PIXEL, dy * LOOK_DEGREES_PER_PIXEL)
        else:
            self.session.orbit(dx * ORBIT_DEGREES_PER_PIXEL, dy * ORBIT_DEGREES_PER_PIXEL)
        return False

    def wheel(self, pos: Sequence[float], steps: float) -> None:
        """Orbit mode: zoom toward the pointer; fly mode: change the speed."""
        if self.session.camera.mode == "fly":
            self.session.scale_fly_speed(steps)
        else:
            nx, ny = self.ndc(pos)
            self.session.zoom_toward(nx, ny, ZOOM_PER_WHEEL_STEP**steps)

    def double_click(self, pos: Sequence[float]) -> None:
        """Fly to what is under the pointer."""
        self.fly_to_hit(self.pick(pos))

    def fly_to_hit(self, hit: PickHit | None) -> None:
        if hit is not None:
            self.session.fly_to_node(hit.node_id, hit.channel)

    # --- held keys ----------------------------------------------------------------
    @property
    def moving(self) -> bool:
        """Whether a movement key is held."""
        return any(a in MOVE_AXES for a in self.held)

    def step(self, dt: float) -> bool:
        """Move the camera by what is held for ``dt`` seconds; True while something moves."""
        d = np.zeros(3)
        for action in self.held:
            if action in MOVE_AXES:
                d += MOVE_AXES[action]
        if not d.any():
            return False
        r, u, f = d * self.session.fly_speed(fast="fast" in self.held) * dt
        self.session.move(r, u, f)
        return True
