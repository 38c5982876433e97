"""The GPU check's first step: can vispy's gloo and PyOpenGL be imported at all? One line, exit status 1 if not.

On a bare GPU machine ``import vispy`` needs libfontconfig, vispy's gloo
loads ``VISPY_GL_LIB`` (else ``libGL.so.1``, which pulls in X11), and PyOpenGL
loads the libraries of ``PYOPENGL_PLATFORM``. Nothing else can run without
these, so the check stops here, saying why, before spending time on tests.
Run: ``python benchmarks/gpu/preflight.py``
"""

from __future__ import annotations

import os
import sys

WHAT = "import vispy.gloo, OpenGL.GL"


def preflight() -> tuple[bool, str]:
    """Whether the imports work, and the report's line saying so."""
    try:
        import OpenGL
        import OpenGL.GL  # the import is the check
        import vispy
        import vispy.gloo
        from vispy.gloo.gl import gl2
    except Exception as exc:  # ImportError, OSError from ctypes, anything a broken install raises
        message = " ".join(str(exc).split()) or "(no message)"
        return False, f"preflight: FAILED: {WHAT}: {type(exc).__name__}: {message}"
    gl_lib = getattr(gl2._lib, "_name", None) or "none"
    platform = os.environ.get("PYOPENGL_PLATFORM", "default")
    return True, (
        f"preflight: ok: {WHAT} (vispy {vispy.__version__}, PyOpenGL {OpenGL.__version__}; "
        f"gloo GL library {gl_lib}, PyOpenGL platform {platform})"
    )


if __name__ == "__main__":
    ok, line = preflight()
    print(line)
    sys.exit(0 if ok else 1)
