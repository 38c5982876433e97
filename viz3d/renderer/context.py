"""Choosing the GL backend and making contexts, with one-line errors when GL is missing.

PyOpenGL binds to one platform (EGL, GLX, OSMesa) at import, so the backend is
fixed the first time GL is needed in a process: EGL surfaceless for offscreen
work (tests, ``viz3d render``), glfw for windows.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Literal

from viz3d.errors import Viz3dError, describe, warn_once

Backend = Literal["egl", "glfw"]
_chosen: list[Backend] = []

APT_PACKAGES = "libegl1 libegl-mesa0 libgl1-mesa-dri libgl1 libfontconfig1"
NO_GL_HINT = (
    f"install the GL libraries (sudo apt-get install --no-install-recommends {APT_PACKAGES}) "
    "and, without a display, set EGL_PLATFORM=surfaceless PYOPENGL_PLATFORM=egl"
)


def has_display() -> bool:
    """Whether a window can be opened (an X11 or Wayland display is set)."""
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def use_backend(backend: Backend) -> None:
    """Select vispy's app backend (and PyOpenGL's platform) once per process."""
    if _chosen:
        if _chosen[0] != backend:
            raise Viz3dError(
                f"this process already uses the {_chosen[0]} GL backend; windows and offscreen "
                "rendering cannot share one process (render offscreen in a separate process)"
            )
        return
    if backend == "egl":
        platform = os.environ.get("PYOPENGL_PLATFORM")
        if "OpenGL" in sys.modules and platform != "egl":
            raise Viz3dError("PyOpenGL was imported before viz3d chose EGL: set PYOPENGL_PLATFORM=egl first")
        if platform not in (None, "", "egl"):
            # Offscreen rendering is EGL whatever the environment says; PyOpenGL is not loaded yet, so
            # its platform can still follow (another one would send every GL call to no context).
            warn_once(f"PYOPENGL_PLATFORM={platform} ignored: offscreen rendering uses EGL")
            os.environ["PYOPENGL_PLATFORM"] = "egl"
        set_egl_environment()
        _select_egl_device()
    try:
        import vispy

        vispy.use(app=backend, gl="gl+")
    except Exception as exc:
        raise Viz3dError(f"no usable OpenGL ({describe(exc)}); {NO_GL_HINT}") from exc
    _chosen.append(backend)


def nvidia_egl_selected() -> bool:
    """Whether glvnd is pointed at NVIDIA's EGL vendor library (a GPU server)."""
    return "nvidia" in os.environ.get("__EGL_VENDOR_LIBRARY_FILENAMES", "").lower()


def set_egl_environment() -> None:
    """Defaults for headless EGL (kept when already set).

    Mesa needs ``EGL_PLATFORM=surfaceless`` for offscreen work: with a
    display set (even a stale one) it would otherwise try that display and
    fail. NVIDIA's EGL opens its device platform by itself, so the variable
    is left alone there.
    """
    os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
    if not nvidia_egl_selected():
        os.environ.setdefault("EGL_PLATFORM", "surfaceless")


egl_device_note = ""


def _select_egl_device() -> None:
    """With CUDA present, open the EGL device of torch's current CUDA device (for interop)."""
    global egl_device_note
    try:
        import torch

        if not torch.cuda.is_available():
            return
        index = int(os.environ.get("VIZ3D_CUDA_DEVICE", torch.cuda.current_device()))
    except Exception:
        return
    from viz3d.renderer.egl_device import prefer_cuda_device

    egl_device_note = prefer_cuda_device(index)


def display_problem() -> str | None:
    """Why no window can open on this machine's display (None when one can), asked of glfw itself."""
    if not has_display():
        return "DISPLAY is not set"
    try:
        import glfw
    except Exception as exc:
        return f"glfw cannot be loaded ({describe(exc)})"
    errors: list[str] = []
    previous = glfw.set_error_callback(
        lambda code, text: errors.append(text.decode() if isinstance(text, bytes) else str(text))
    )
    try:
        if not glfw.init():
            return errors[-1] if errors else "glfw could not initialize"
        glfw.terminate()  # vispy initializes it again when it opens the window
        return None
    finally:
        glfw.set_error_callback(previous)  # type: ignore[arg-type]


def make_canvas(backend: Backend, size: tuple[int, int], show: bool, title: str = "viz3d", **kwargs: Any) -> Any:
    """A vispy Canvas on ``backend``; raises Viz3dError naming the fix when GL is unusable."""
    use_backend(backend)
    try:
        from vispy import app

        if backend != "egl":
            kwargs.setdefault("vsync", True)  # animate at display rate, never faster
        else:
            # A hidden canvas has no screen: a fixed DPI keeps vispy from asking xdpyinfo about
            # whatever DISPLAY says (a stale one prints errors).
            kwargs.setdefault("dpi", 96)
        return app.Canvas(size=size, show=show, title=title, keys=None, **kwargs)
    except Exception as exc:
        raise Viz3dError(f"cannot create an OpenGL context ({describe(exc)}); {NO_GL_HINT}") from exc


def gl_limits() -> dict[str, int]:
    """Texture size limits of the current context."""
    from OpenGL import GL

    return {
        "max_3d_texture_size": int(GL.glGetIntegerv(GL.GL_MAX_3D_TEXTURE_SIZE)),
        "max_texture_size": int(GL.glGetIntegerv(GL.GL_MAX_TEXTURE_SIZE)),
    }


def gl_info() -> dict[str, str]:
    """Vendor, renderer and version strings of the current context."""
    from OpenGL import GL

    def s(name: int) -> str:
        v = GL.glGetString(name)
        return v.decode() if isinstance(v, bytes) else str(v)

    return {"vendor": s(GL.GL_VENDOR), "renderer": s(GL.GL_RENDERER), "version": s(GL.GL_VERSION)}
