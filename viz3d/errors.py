"""The one exception type users see: a one-line message naming problem and fix."""

from __future__ import annotations


class Viz3dError(Exception):
    """A problem with the user's input or environment, explained in one line.

    The command-line interface prints ``viz3d: <message>`` and exits with
    status 2 instead of showing a traceback.
    """
