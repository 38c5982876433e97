"""Signals the session emits and front ends, renderers and HUDs subscribe to (plain Python).

A tiny evented model in the way napari's layers work: the model says *what*
changed; each subscriber reads the new state from the session and decides
how to show it. Callbacks take no arguments except the catch-all
:attr:`SessionEvents.changed`, which receives the name of the signal that
fired (front ends connect a redraw to it).
"""

from __future__ import annotations

from collections.abc import Callable


class Signal:
    """Callbacks run in connection order each time the signal is emitted."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._callbacks: list[Callable[[], object]] = []
        self.on_emit: Callable[[str], None] | None = None  # the group's catch-all

    def connect(self, callback: Callable[[], object]) -> Callable[[], object]:
        """Call ``callback()`` on every emit; returns it (usable as a decorator)."""
        self._callbacks.append(callback)
        return callback

    def disconnect(self, callback: Callable[[], object]) -> None:
        """Stop calling ``callback`` (no error when it was not connected)."""
        if callback in self._callbacks:
            self._callbacks.remove(callback)

    def emit(self) -> None:
        """Run every callback, then the group's catch-all."""
        for callback in list(self._callbacks):
            callback()
        if self.on_emit is not None:
            self.on_emit(self.name)

    def __len__(self) -> int:
        return len(self._callbacks)


SIGNALS: dict[str, str] = {
    "scene": "the shown network changed structure: rebuild what shows it",
    "values": "same network, new values (another input, other filter ranges)",
    "layout": "same layers, another arrangement (tile / volume)",
    "colormap": "the view's colormap",
    "normalization": "the view's normalization",
    "labels": "layer labels shown or hidden",
    "connections": "connection curves, visible kinds or budget",
    "selection": "the selected unit",
    "stats": "histograms and health flags shown or hidden, or their data",
    "camera": "the camera moved",
    "cut": "the cutaway plane",
    "overlays": "HUD, help or minimap shown or hidden",
    "message": "a new status message",
    "tour": "the tour: its stops, playback, the stop (and caption) shown",
    "prediction": "the answer panel: shown or hidden, its classes or the chosen class",
    "search": "the layer search: opened, closed, its query or the chosen result",
    "timeline": "the training timeline: its snapshots, the one shown, playback, the metrics",
    "explain": "top patches attached, or the feature visualization started or advanced (the inset follows)",
}


class SessionEvents:
    """What can change in a session: one :class:`Signal` per name in :data:`SIGNALS`, as attributes.

    ``changed`` is the catch-all: callbacks appended to it get the name of
    every signal that fires (front ends connect a redraw to it).
    """

    scene: Signal
    values: Signal
    layout: Signal
    colormap: Signal
    normalization: Signal
    labels: Signal
    connections: Signal
    selection: Signal
    stats: Signal
    camera: Signal
    cut: Signal
    overlays: Signal
    message: Signal
    tour: Signal
    prediction: Signal
    search: Signal
    timeline: Signal
    explain: Signal

    def __init__(self) -> None:
        self.changed: list[Callable[[str], object]] = []
        for name in SIGNALS:
            signal = Signal(name)
            signal.on_emit = self._changed
            setattr(self, name, signal)

    def _changed(self, name: str) -> None:
        for callback in list(self.changed):
            callback(name)

    def names(self) -> list[str]:
        """Names of all signals."""
        return list(SIGNALS)
