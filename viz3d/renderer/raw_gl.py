"""The four GL calls made once per slab face, as bare entry points.

PyOpenGL wraps every call in Python argument handling and a ``glGetError``
round trip: a few microseconds each, which for the face pass of a 700-unit
network (four calls a face) is several milliseconds a frame. These are the
same driver entry points, looked up once through the platform (EGL or GLX)
and called through ctypes without the wrapper. An error they raise is not
lost: it stays set until the next wrapped call, which reports it. Where the
platform cannot give an entry point, the wrapped functions are used.
"""

from __future__ import annotations

import ctypes
from functools import cache
from typing import Any, NamedTuple


class FaceCalls(NamedTuple):
    """glUniform1i, glActiveTexture, glBindTexture, glDrawArrays."""

    uniform1i: Any
    active_texture: Any
    bind_texture: Any
    draw_arrays: Any


_SIGNATURES = {
    "glUniform1i": (ctypes.c_int, ctypes.c_int),
    "glActiveTexture": (ctypes.c_uint,),
    "glBindTexture": (ctypes.c_uint, ctypes.c_uint),
    "glDrawArrays": (ctypes.c_uint, ctypes.c_int, ctypes.c_int),
}


@cache
def face_calls() -> FaceCalls:
    """Bare entry points of the per-face calls, or PyOpenGL's wrapped ones where lookup fails."""
    from OpenGL import GL, platform

    calls = []
    for name, argtypes in _SIGNATURES.items():
        try:
            address = platform.PLATFORM.getExtensionProcedure(name.encode())
        except Exception:  # a platform without the lookup: the wrapped call still works
            address = None
        calls.append(ctypes.CFUNCTYPE(None, *argtypes)(address) if address else getattr(GL, name))
    return FaceCalls(*calls)
