"""Pinned feature maps of a session: Shift-click pins up to 8 to compare side by side (GL-free).

Mixed into :class:`~viz3d.session.session.Session`. Pins are (node id,
channel) pairs in pin order; the inset shows them in that order with one
shared colorbar or one per map (``ViewOptions.pin_ranges``). They emit
``selection`` (the inset follows it) and are dropped when the shown network
changes structure (their ids would name other layers).
"""

from __future__ import annotations

from collections.abc import Callable

from viz3d.capture.trace import Trace
from viz3d.errors import Viz3dError
from viz3d.session.events import SessionEvents
from viz3d.session.options import ViewOptions
from viz3d.session.unit_links import parse_unit

MAX_PINS = 8
Pin = tuple[int, int]  # (node id, channel)


class Pins:
    """Pin state and actions; needs ``trace``, ``events``, ``options``, ``update`` and ``say``."""

    trace: Trace
    events: SessionEvents
    options: ViewOptions
    update: Callable[..., None]
    say: Callable[[str], None]

    def _init_pins(self) -> None:
        self.pins: list[Pin] = []

    def toggle_pin(self, unit: tuple[int, ...] | str) -> None:
        """Shift-click: pin a feature map ((node id, channel[, y, x]) or ``"LAYER:CH"``), or unpin it if pinned."""
        node_id, channel = parse_unit(self.trace, unit)[:2] if isinstance(unit, str) else unit[:2]
        if not 0 <= node_id < len(self.trace.nodes):
            raise Viz3dError(f"no layer with id {node_id}: ids are 0..{len(self.trace.nodes) - 1}")
        node = self.trace.nodes[node_id]
        if node.display is None or node.display_rgb:
            raise Viz3dError(f"{node.name} shows no single-channel maps to pin (J shows an input's channels)")
        if not 0 <= channel < int(node.display.shape[0]):
            raise Viz3dError(f"{node.name} has channels 0..{int(node.display.shape[0]) - 1}, not {channel}")
        pin = (int(node_id), int(channel))
        if pin in self.pins:
            self.pins.remove(pin)
            self.say(f"unpinned {node.name} channel {channel}")
        elif len(self.pins) >= MAX_PINS:
            self.say(f"{MAX_PINS} maps are pinned already: Shift-click one to unpin it, Esc clears them")
            return
        else:
            self.pins.append(pin)
            self.say(f"pinned {node.name} channel {channel} ({len(self.pins)} of {MAX_PINS}; R: colorbars)")
        self.events.selection.emit()

    def clear_pins(self) -> None:
        if self.pins:
            self.pins = []
            self.events.selection.emit()

    def toggle_pin_ranges(self) -> None:
        """R: the pinned maps share one colour range and colorbar, or each has its own."""
        self.update(pin_ranges="each" if self.options.pin_ranges == "shared" else "shared")
        shared = self.options.pin_ranges == "shared"
        self.say("pinned maps: " + ("one shared colorbar" if shared else "a colorbar each"))
