"""The viewer's full key table: the fixed rows and one row per registered connection kind."""

from __future__ import annotations

from viz3d.scene.keymap import KEYMAP, KeyBinding
from viz3d.session.connection_kinds import CONNECTION_KINDS


def key_table() -> tuple[KeyBinding, ...]:
    """Every binding the viewer dispatches (connection kinds come from their registry)."""
    kinds = tuple(
        KeyBinding((k.key,), "toggle_connections", f"show or hide the {k.label}", argument=k.name)
        for k in CONNECTION_KINDS.values()
    )
    return KEYMAP + kinds
