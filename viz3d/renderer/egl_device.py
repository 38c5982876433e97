"""Headless OpenGL on the right NVIDIA GPU: the EGL device whose CUDA device is ours.

On a GPU server without a display, EGL's device platform gives a context per
GPU. ``CUDA_VISIBLE_DEVICES`` renumbers CUDA devices but not EGL devices, so
the EGL device is chosen by its ``EGL_CUDA_DEVICE_NV`` attribute
(EGL_NV_device_cuda), not by index — otherwise CUDA–GL interop fails with
``CUDA_ERROR_INVALID_DEVICE``.

vispy's EGL backend opens ``eglGetDisplay(EGL_DEFAULT_DISPLAY)`` when it is
imported; :func:`prefer_cuda_device` replaces that call, before the import,
with the device display that matches. Anything unexpected leaves vispy's
default alone (and says why in the returned string).
"""

from __future__ import annotations

import ctypes
from typing import Any

EGL_PLATFORM_DEVICE_EXT = 0x313F
EGL_CUDA_DEVICE_NV = 0x323A
EGL_DEVICE_EXT = 0x322C
MAX_DEVICES = 16


def _proc(lib: Any, name: str, restype: Any, argtypes: list[Any]) -> Any:
    lib.eglGetProcAddress.restype = ctypes.c_void_p
    lib.eglGetProcAddress.argtypes = [ctypes.c_char_p]
    address = lib.eglGetProcAddress(name.encode())
    if not address:
        raise RuntimeError(f"{name} is not available (no EGL device extensions)")
    return ctypes.CFUNCTYPE(restype, *argtypes)(address)


def egl_devices_by_cuda_index(lib: Any) -> dict[int, int]:
    """CUDA device index → EGL device handle, for every EGL device that reports one."""
    query_devices = _proc(
        lib,
        "eglQueryDevicesEXT",
        ctypes.c_uint,
        [ctypes.c_int, ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_int)],
    )
    devices = (ctypes.c_void_p * MAX_DEVICES)()
    count = ctypes.c_int(0)
    if not query_devices(MAX_DEVICES, devices, ctypes.byref(count)):
        raise RuntimeError("eglQueryDevicesEXT failed")
    found = {}
    for i in range(count.value):
        index = _cuda_index_of_device(lib, int(devices[i] or 0))
        if index is not None:
            found[index] = int(devices[i] or 0)
    return found


def _cuda_index_of_device(lib: Any, device: int) -> int | None:
    query_attrib = _proc(
        lib, "eglQueryDeviceAttribEXT", ctypes.c_uint, [ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(ctypes.c_ssize_t)]
    )
    value = ctypes.c_ssize_t(-1)
    if not query_attrib(ctypes.c_void_p(device), EGL_CUDA_DEVICE_NV, ctypes.byref(value)) or value.value < 0:
        return None
    return int(value.value)


def current_cuda_device(lib: Any = None) -> int | None:
    """The CUDA device of the EGL device behind the current context's display; None where none reports one.

    Asks EGL what was opened (``eglGetCurrentDisplay`` → ``EGL_DEVICE_EXT`` →
    ``EGL_CUDA_DEVICE_NV``) rather than trusting :func:`prefer_cuda_device`'s
    note. Mesa, or any EGL without the device extensions, gives None.
    """
    if lib is None:
        from vispy.ext import egl

        lib = egl._lib
    lib.eglGetCurrentDisplay.restype = ctypes.c_void_p
    lib.eglGetCurrentDisplay.argtypes = []
    display = lib.eglGetCurrentDisplay()
    if not display:
        return None
    try:
        query_display = _proc(
            lib,
            "eglQueryDisplayAttribEXT",
            ctypes.c_uint,
            [ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(ctypes.c_ssize_t)],
        )
        device = ctypes.c_ssize_t(0)
        if not query_display(ctypes.c_void_p(display), EGL_DEVICE_EXT, ctypes.byref(device)) or not device.value:
            return None
        return _cuda_index_of_device(lib, device.value)
    except RuntimeError:  # no EGL device extensions
        return None


def prefer_cuda_device(cuda_index: int) -> str:
    """Make vispy's EGL backend open the EGL device of CUDA device ``cuda_index``.

    Call before vispy's EGL backend is imported. Returns what was done.
    """
    import sys

    if "vispy.app.backends._egl" in sys.modules:
        return "EGL already initialised: kept its display"
    try:
        from vispy.ext import egl

        lib = egl._lib
        by_cuda = egl_devices_by_cuda_index(lib)
        if cuda_index not in by_cuda:
            return f"no EGL device reports CUDA device {cuda_index} (found {sorted(by_cuda)}): kept the default display"
        get_platform_display = _proc(
            lib, "eglGetPlatformDisplayEXT", ctypes.c_void_p, [ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        )
        display = get_platform_display(EGL_PLATFORM_DEVICE_EXT, ctypes.c_void_p(by_cuda[cuda_index]), None)
        if not display:
            return "eglGetPlatformDisplayEXT gave no display: kept the default display"
    except Exception as exc:  # any EGL without the device extensions (Mesa builds, old drivers)
        return f"EGL device selection unavailable ({exc}): kept the default display"

    def device_display(display_id: int = 0) -> Any:
        return display

    egl.eglGetDisplay = device_display
    return f"EGL device of CUDA device {cuda_index}"
