"""The one exception type users see: a one-line message naming problem and fix."""

from __future__ import annotations

import warnings


class Viz3dError(Exception):
    """A problem with the user's input or environment, explained in one line.

    The command-line interface prints ``viz3d: <message>`` and exits with
    status 2 instead of showing a traceback.
    """


def describe(exc: BaseException, limit: int = 200) -> str:
    """``Type: message`` of an exception squeezed onto one line."""
    text = " ".join(str(exc).split()) or "(no message)"
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"{type(exc).__name__}: {text}"


class Viz3dWarning(UserWarning):
    """Something viz3d worked around (fallback, bad values); shown once."""


def warn_once(message: str) -> None:
    """Emit a Viz3dWarning (Python shows each distinct message once)."""
    warnings.warn(message, Viz3dWarning, stacklevel=3)
