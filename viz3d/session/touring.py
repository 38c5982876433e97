"""Tour actions of a session: stops, playback on the session's clock, clicker stepping, captions (GL-free).

Mixed into :class:`~viz3d.session.session.Session` above the camera actions
of :class:`~viz3d.session.navigation.Navigation`. Playback and recording share
one code path, :meth:`Touring.seek_tour`: the window calls it with the
clock's time (through :meth:`Touring.advance`), the recorder with frame
``k / fps``, so what a recording shows is what the window plays.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from viz3d.errors import Viz3dError
from viz3d.layout.slabs import SlabLayout
from viz3d.scene.flight import FLIGHT_SECONDS
from viz3d.scene.tour import Tour, TourStop, load_tour
from viz3d.session.connection_kinds import Unit
from viz3d.session.navigation import NO_CUT, Navigation
from viz3d.session.options import ViewOptions
from viz3d.session.tours import READY_TOURS
from viz3d.session.unit_links import parse_unit

CATCH_UP_SECONDS = 1.0  # playback starting away from the path flies onto it first


class Touring(Navigation):
    """Tour state and actions; needs the session's ``options``, ``update``, ``select`` and ``selection``."""

    options: ViewOptions
    selection: Unit | None
    update: Callable[..., None]
    select: Callable[[Unit | str | None], None]

    def _init_touring(self) -> None:
        self.tour: Tour | None = None
        self.tour_playing = False
        self.tour_time = 0.0  # where playback stands (seconds into the tour)
        self.tour_index = -1  # the stop shown (its caption and view); -1: none
        self._tour_clock0 = 0.0

    # --- the tour itself -----------------------------------------------------------------
    def load_tour(self, tour: Tour | str | Path) -> Tour:
        """Use ``tour``: a :class:`Tour`, a ready-made name (``flythrough``, ``orbit``) or a tour file."""
        if isinstance(tour, str) and tour in READY_TOURS:
            tour = READY_TOURS[tour](self)
        elif not isinstance(tour, Tour):
            if not str(tour).endswith(".json"):
                raise Viz3dError(f"unknown tour {str(tour)!r}: use {', '.join(READY_TOURS)} or a tour .json file")
            tour = load_tour(tour, self.home_camera())
        for i, stop in enumerate(tour.stops):
            try:
                self._check_view(stop.view)
            except Viz3dError as exc:
                raise Viz3dError(f"tour stop {i}: {exc}") from None
        self.tour, self.tour_playing, self.tour_time, self.tour_index = tour, False, 0.0, -1
        self.events.tour.emit()
        return tour

    def _check_view(self, view: dict[str, Any]) -> None:
        """Raise a one-line error when a stop's view names something this network or viz3d lacks."""
        self.options.with_(**self._view_changes(view))
        if view.get("select"):
            parse_unit(self.trace, view["select"])
        if view.get("cut"):
            self._named_slab(view["cut"])

    @staticmethod
    def _view_changes(view: dict[str, Any]) -> dict[str, Any]:
        changes: dict[str, Any] = {k: view[k] for k in ("colormap", "normalization", "show") if k in view}
        if "connections" in view:
            changes["connections"] = frozenset(view["connections"])
        return changes

    def _named_slab(self, name: str) -> SlabLayout:
        try:
            return self.layout.slab(self.trace.node(name).id)
        except KeyError:
            raise Viz3dError(f"no layer named {name!r} to cut away in front of") from None

    def current_view(self) -> dict[str, Any]:
        """The view settings a new stop records: what the viewer shows now."""
        o, cut = self.options, None
        stepped = self.cut_z != NO_CUT or self.layout.arrangement == "rows"  # rows cut nothing away, yet step
        if stepped and 0 <= self.focus_index < len(self.layout.slabs):
            cut = self.trace.nodes[self.layout.slabs[self.focus_index].node_id].name
        select = None
        if self.selection is not None:
            node_id, c, y, x = self.selection
            select = f"{self.trace.nodes[node_id].name}:{c}:{y}:{x}"
        view = {"colormap": o.colormap, "normalization": o.normalization, "show": o.show}
        return {**view, "connections": sorted(o.connections), "select": select, "cut": cut}

    def add_tour_stop(self) -> None:
        """T: the current view becomes the tour's next stop."""
        if self.tour is None:
            self.tour = Tour()
        self.tour.stops.append(TourStop(self.camera.copy(), view=self.current_view()))
        self.say(f"tour stop {len(self.tour)} added (Shift-T removes it, Ctrl-S saves the tour)")
        self.events.tour.emit()

    def remove_tour_stop(self) -> None:
        """Shift-T: drop the last stop."""
        if self.tour is None or not self.tour.stops:
            self.say("no tour stop to remove")
            return
        self.tour.stops.pop()
        self.tour_index = min(self.tour_index, len(self.tour) - 1)
        self.say(f"last tour stop removed ({len(self.tour)} left)")
        self.events.tour.emit()

    def save_tour(self, path: str | Path) -> Path | None:
        """Write the tour as JSON (``--tour FILE`` and ``viz3d record`` read it)."""
        if self.tour is None or not self.tour.stops:
            self.say("no tour to save: T adds the current view as a stop")
            return None
        out = self.tour.save(path)
        self.say(f"tour of {len(self.tour)} stops saved to {out}")
        return out

    def caption(self) -> str:
        """The caption of the stop shown ('' when none)."""
        if self.tour is None or not 0 <= self.tour_index < len(self.tour):
            return ""
        return self.tour.stops[self.tour_index].caption

    # --- showing a stop --------------------------------------------------------------------
    def _apply_view(self, index: int) -> None:
        """Apply stop ``index``'s view settings; the camera is left where it is."""
        assert self.tour is not None
        view, camera = self.tour.stops[index].view, self.camera
        changes = self._view_changes(view)
        if changes:
            self.update(**changes)  # another view resets the camera: it is put back below
        if "select" in view:
            self.select(view["select"])
        if "cut" in view:
            slab = None if view["cut"] is None else self._named_slab(view["cut"])
            ids = [s.node_id for s in self.layout.slabs]
            self.focus_index = -1 if slab is None else ids.index(slab.node_id)  # layer stepping goes on from it
            self.set_cut(slab)
        self.camera = camera
        self.tour_index = index
        self.events.tour.emit()

    def seek_tour(self, t: float) -> None:
        """Put the camera (and the view, and the caption) where the tour is at ``t`` seconds."""
        if self.tour is None or not self.tour.stops:
            raise Viz3dError("no tour loaded: load one with Session.load_tour or add stops with T")
        index = self.tour.stop_at(t)
        if index != self.tour_index:
            self._apply_view(index)
        mode = self.camera.mode
        self.camera = self.tour.camera_at(t)
        self.camera.mode = mode
        self.tour_time = t
        self.events.camera.emit()

    def toggle_tour_playback(self) -> None:
        """Space: play the tour from where it stands, or pause it."""
        if self.tour is None or not self.tour.stops:
            self.say("no tour: T adds the current view as a stop (or start with --tour flythrough)")
            return
        if self.tour_playing:
            self.tour_playing = False
            self.say("tour paused (Space plays on)")
        else:
            if self.tour_time >= self.tour.duration:
                self.tour_time = 0.0
            start = self.tour.camera_at(self.tour_time)
            far = np.linalg.norm(start.eye - self.camera.eye) > 1e-6 * max(start.distance, 1e-9)
            delay = CATCH_UP_SECONDS if far else 0.0
            if far:
                self.fly_to(start, cut_at=self.cut_slab(), duration=delay)
            self._tour_clock0 = self.clock() + delay - self.tour_time
            self.tour_playing = True
        self.events.tour.emit()

    def cut_slab(self) -> SlabLayout | None:
        """The slab the cutaway stands at (None when nothing is cut away)."""
        if self.cut_z == NO_CUT or not 0 <= self.focus_index < len(self.layout.slabs):
            return None
        return self.layout.slabs[self.focus_index]

    def pause_tour(self) -> None:
        if self.tour_playing:
            self.tour_playing = False
            self.events.tour.emit()

    @property
    def animating(self) -> bool:
        """Whether a flight or the tour's playback is under way."""
        return self.flight is not None or self.tour_playing

    def advance(self) -> bool:
        """Move the flight, then the tour's playback, to the clock's time; True while either goes on."""
        flying = super().advance()
        if not self.tour_playing or self.tour is None:
            return flying
        if flying:
            return True
        t = min(self.clock() - self._tour_clock0, self.tour.duration)
        self.seek_tour(max(t, 0.0))
        if t >= self.tour.duration:
            self.tour_playing = False
            self.say("end of the tour (Space plays it again, Home goes to its start)")
            self.events.tour.emit()
        return self.tour_playing

    def _moved(self) -> None:
        self.pause_tour()  # the speaker took the camera: playback stops where it is
        super()._moved()

    # --- clicker stepping ----------------------------------------------------------------------
    def go_to_stop(self, index: int) -> None:
        """Fly to stop ``index`` over its flight time, its view applied (a clicker step)."""
        assert self.tour is not None
        self.pause_tour()
        index = int(np.clip(index, 0, len(self.tour) - 1))
        stop = self.tour.stops[index]
        camera = self.camera.copy()
        self._apply_view(index)
        cut = self.cut_slab()
        self.camera = camera
        self.fly_to(stop.camera, cut_at=cut, duration=stop.fly if stop.fly > 0 else FLIGHT_SECONDS)
        self.tour_time = self.tour.arrivals()[index]
        self.say(f"stop {index + 1}/{len(self.tour)}" + (f": {stop.caption}" if stop.caption else ""))

    def next_layer(self) -> None:
        """PageDown: the next tour stop when a tour is loaded, else the next layer."""
        if self.tour is not None and self.tour.stops:
            self.go_to_stop(self.tour_index + 1)
        else:
            super().next_layer()

    def previous_layer(self) -> None:
        """PageUp: the previous tour stop when a tour is loaded, else the previous layer."""
        if self.tour is not None and self.tour.stops:
            self.go_to_stop(max(self.tour_index - 1, 0))
        else:
            super().previous_layer()

    def home(self) -> None:
        """Home: back to the tour's first stop (playback from its start), else to the overview."""
        if self.tour is not None and self.tour.stops:
            self.focus_index = -1
            self.go_to_stop(0)
            self.tour_time = 0.0
        else:
            super().home()
