"""Keys while the layer search is open: typed text goes to the query, not the key table.

Also opens the search on a typed ``/`` whatever key made it (on some
keyboards it is Shift-7), so the key table's ``/`` row is not the only way in.
"""

from __future__ import annotations

from viz3d.session.session import Session

CHOOSE = {"Up": -1, "Down": 1, "PageUp": -8, "PageDown": 8}


def search_key(session: Session, name: str, text: str) -> bool:
    """Handle a key press for the search; True when it was consumed (the key table must not see it)."""
    if not session.search_open:
        if text == "/":
            session.open_search()
            return True
        return False
    if name == "Escape":
        session.close_search()
    elif name in ("Enter", "Return"):
        session.go_to_search_choice()
    elif name == "Backspace":
        session.erase_search()
    elif name in CHOOSE:
        session.move_search(CHOOSE[name])
    else:
        typed = text if text.isprintable() else ""
        if not typed and len(name) == 1:
            typed = name.lower()  # a backend that gives no text: the key's own character
        if typed:
            session.type_search(typed)
    return True  # everything else (Shift, F-keys) is swallowed: no camera moves while typing
