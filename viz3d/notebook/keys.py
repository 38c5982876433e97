"""Browser key names (``KeyboardEvent.key``, as jupyter_rfb sends them) → the key table's vispy names."""

from __future__ import annotations

# Names that differ; every other multi-letter name (PageDown, Home, Escape, Tab, F5, Shift...) is the same.
_RENAMED = {
    " ": "Space",
    "ArrowLeft": "Left",
    "ArrowRight": "Right",
    "ArrowUp": "Up",
    "ArrowDown": "Down",
    "Esc": "Escape",
    "Ctrl": "Control",
    "<": ",",  # Shift-comma and Shift-period: the timeline's first and newest snapshot
    ">": ".",
}


def vispy_key(key: str) -> str:
    """The key table's name for a browser key: letters upper case (Shift is a modifier), renamed keys."""
    if key in _RENAMED:
        return _RENAMED[key]
    return key.upper() if len(key) == 1 else key
