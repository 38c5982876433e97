"""Signals the session emits and front ends, renderers and HUDs subscribe to (plain Python).

A tiny evented model in the way napari's layers work: the model says *what*
changed; each subscriber reads the new state from the session and decides
how to show it. Callbacks take no arguments except the catch-all
:attr:`SessionEvents.changed`, which receives the name of the signal that
fired (front ends connect a redraw to it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields


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


def _signal() -> Signal:
    return field(default_factory=lambda: Signal(""))  # type: ignore[no-any-return]


@dataclass
class SessionEvents:
    """What can change in a session, one signal each."""

    scene: Signal = _signal()  # the shown network changed structure: rebuild what shows it
    values: Signal = _signal()  # same network, new values (another input, other filter ranges)
    layout: Signal = _signal()  # same layers, another arrangement (tile / volume)
    colormap: Signal = _signal()
    normalization: Signal = _signal()
    labels: Signal = _signal()
    connections: Signal = _signal()  # curves, visible kinds or budget
    selection: Signal = _signal()
    stats: Signal = _signal()  # histograms and health flags shown or hidden
    camera: Signal = _signal()
    cut: Signal = _signal()  # the cutaway plane
    overlays: Signal = _signal()  # HUD, help, minimap shown or hidden
    message: Signal = _signal()  # a new status message
    changed: list[Callable[[str], object]] = field(default_factory=list)  # catch-all: gets the signal's name

    def __post_init__(self) -> None:
        for f in fields(self):
            signal = getattr(self, f.name)
            if isinstance(signal, Signal):
                signal.name = f.name
                signal.on_emit = self._changed

    def _changed(self, name: str) -> None:
        for callback in list(self.changed):
            callback(name)

    def names(self) -> list[str]:
        """Names of all signals."""
        return [f.name for f in fields(self) if f.name != "changed"]
