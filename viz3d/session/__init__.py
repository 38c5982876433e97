"""The session: the one place a user's state lives, between layout and the front ends (GL-free).

Nothing here imports GL, vispy, glfw or cupy; every user action is a method of
:class:`Session` and emits :class:`SessionEvents` that renderers and front
ends subscribe to.
"""

from __future__ import annotations

from viz3d.session.connection_kinds import CONNECTION_KINDS, ConnectionKind, register_connection_kind
from viz3d.session.events import SessionEvents, Signal
from viz3d.session.options import ViewOptions
from viz3d.session.session import Session
from viz3d.session.views import VIEWS, View, register_view

__all__ = [
    "CONNECTION_KINDS",
    "VIEWS",
    "ConnectionKind",
    "Session",
    "SessionEvents",
    "Signal",
    "View",
    "ViewOptions",
    "register_connection_kind",
    "register_view",
]
