"""The training timeline of a session: its snapshots, the one shown, stepping and playback (GL-free).

Mixed into :class:`~viz3d.session.session.Session` above the tour actions.
A live watch appends each new snapshot (:meth:`Scrubbing.add_snapshot`) and
the view follows the newest unless the user has stepped back; ``viz3d
replay`` sets a saved run's snapshots at once (:meth:`Scrubbing.set_timeline`).
Showing a snapshot puts its values in place (:meth:`show_trace`): the camera,
the selection and the view stay, so playing the timeline in the weights view
shows the filters forming. Playback runs on the session's clock at
:data:`PLAY_RATE` snapshots a second, through :meth:`Scrubbing.advance`, as
tours do; a recording seeks the same :meth:`Scrubbing.show_snapshot`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from torch import nn

from viz3d.capture.trace import Trace
from viz3d.errors import Viz3dError
from viz3d.session.snapshot_view import snapshot_trace
from viz3d.session.timeline import Snapshot
from viz3d.session.touring import Touring

PLAY_RATE = 4.0  # snapshots a second while the timeline plays
History = list[tuple[int, dict[str, float]]]


def sparkline_metric(history: Sequence[tuple[int, dict[str, float]]]) -> str | None:
    """The metric the sparkline draws: ``loss`` when passed, else the first one named (None without metrics)."""
    names = [name for _, metrics in history for name in metrics]
    if not names:
        return None
    return "loss" if "loss" in names else names[0]


class Scrubbing(Touring):
    """Timeline state and actions; needs the session's ``model``, ``show_trace`` and ``say``."""

    model: nn.Module | None
    show_trace: Callable[[Trace], None]

    def _init_scrubbing(self) -> None:
        self.timeline: list[Snapshot] = []
        self.timeline_index = -1  # the snapshot shown; -1: none
        self.timeline_keep: int | None = None  # a live watch's ring size: the oldest go with it
        self.timeline_playing = False
        self.metric_history: History = []  # (step, metrics) of every training step, for the sparkline
        self.timeline_template: Trace | None = None  # fills snapshots loaded without their trace
        self._play_clock0 = 0.0
        self._play_index0 = 0

    # --- the timeline itself -----------------------------------------------------------------
    def set_timeline(
        self,
        snapshots: Sequence[Snapshot],
        history: Sequence[tuple[int, dict[str, float]]] = (),
        template: Trace | None = None,
        index: int = -1,
    ) -> None:
        """Show a run: its ``snapshots`` (oldest first), the metrics ``history``, the snapshot ``index`` (-1: newest).

        ``template`` is one capture of the model, filled with the activations of
        snapshots that were loaded without their trace (a run folder's).
        """
        if not snapshots:
            raise Viz3dError("the run holds no snapshots: nothing to show")
        self.timeline, self.metric_history = list(snapshots), list(history)
        self.timeline_template, self.timeline_playing = template, False
        self.show_snapshot(index % len(self.timeline))

    def add_snapshot(
        self, snapshot: Snapshot, history: Sequence[tuple[int, dict[str, float]]] | None = None, keep: int | None = None
    ) -> None:
        """A live watch's new snapshot: shown when the view is on the newest, else kept for scrubbing to."""
        follow = self.timeline_index == len(self.timeline) - 1 and not self.timeline_playing
        self.timeline.append(snapshot)
        if history is not None:
            self.metric_history = list(history)
        self.timeline_keep = keep or self.timeline_keep
        dropped = max(0, len(self.timeline) - self.timeline_keep) if self.timeline_keep else 0
        if dropped:
            del self.timeline[:dropped]
            self.timeline_index = max(0, self.timeline_index - dropped)
            self._play_index0 = max(0, self._play_index0 - dropped)
        if follow:
            self.show_snapshot(len(self.timeline) - 1)
        else:
            self.events.timeline.emit()

    @property
    def shown_snapshot(self) -> Snapshot | None:
        """The snapshot on screen (None without a timeline)."""
        return self.timeline[self.timeline_index] if 0 <= self.timeline_index < len(self.timeline) else None

    def snapshot_text(self) -> str:
        """``step 120 (7/13) · loss 0.31`` for the shown snapshot ('' without one)."""
        snapshot = self.shown_snapshot
        if snapshot is None:
            return ""
        loss = snapshot.metrics.get("loss")
        where = f"step {snapshot.step} ({self.timeline_index + 1}/{len(self.timeline)})"
        return where + ("" if loss is None else f" · loss {loss:.4g}")

    def show_snapshot(self, index: int) -> None:
        """Show snapshot ``index`` (clamped to the timeline) in place: camera, selection and view kept."""
        if not self.timeline:
            raise Viz3dError("no training timeline: open a run with viz3d replay or watch a training with viz3d.watch")
        index = min(max(int(index), 0), len(self.timeline) - 1)
        trace = snapshot_trace(self.timeline[index], self.model, self.timeline_template)
        self.timeline_index = index
        self.show_trace(trace)
        self.events.timeline.emit()

    # --- stepping (keys and the HUD's slider) -------------------------------------------------------
    def go_to_snapshot(self, index: int) -> None:
        """Stop playback and show snapshot ``index`` (clamped), saying its step (keys and the slider)."""
        if not self.timeline:
            self.say("no training timeline (viz3d.watch, viz3d replay or viz3d train-demo have one)")
            return
        self.timeline_playing = False
        self.show_snapshot(index)
        self.say(self.snapshot_text())

    def previous_snapshot(self) -> None:
        """Comma: one snapshot back."""
        self.go_to_snapshot(self.timeline_index - 1)

    def next_snapshot(self) -> None:
        """Period: one snapshot on."""
        self.go_to_snapshot(self.timeline_index + 1)

    def first_snapshot(self) -> None:
        """Shift-comma: the first snapshot (before training, in a watch)."""
        self.go_to_snapshot(0)

    def last_snapshot(self) -> None:
        """Shift-period: the newest snapshot (a live view follows new ones again)."""
        self.go_to_snapshot(len(self.timeline) - 1)

    def toggle_timeline_playback(self) -> None:
        """Play the timeline from the shown snapshot (from the first when at the end), or pause it."""
        if len(self.timeline) < 2:
            self.say("no training timeline to play: it needs two snapshots or more")
            return
        if self.timeline_playing:
            self.timeline_playing = False
            self.say(f"timeline paused at {self.snapshot_text()}")
        else:
            if self.timeline_index >= len(self.timeline) - 1:
                self.show_snapshot(0)
            self._play_index0, self._play_clock0 = self.timeline_index, self.clock()
            self.timeline_playing = True
        self.events.timeline.emit()

    @property
    def animating(self) -> bool:
        """Whether a flight, the tour or the timeline is playing (front ends call :meth:`advance` each frame)."""
        return super().animating or self.timeline_playing

    def advance(self) -> bool:
        """Move flights and the tour, then the timeline's playback, to the clock's time; True while any goes on."""
        moving = super().advance()
        if not self.timeline_playing:
            return moving
        last = len(self.timeline) - 1
        index = min(self._play_index0 + int((self.clock() - self._play_clock0) * PLAY_RATE), last)
        if index != self.timeline_index:
            self.show_snapshot(index)
        if index >= last:
            self.timeline_playing = False
            self.say(f"end of the timeline: {self.snapshot_text()}")
            self.events.timeline.emit()
        return moving or self.timeline_playing
