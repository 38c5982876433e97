"""How much memory the GL implementation has for activation textures (the ``auto`` texture budget).

Asked of the current context, in this order, and half of the answer taken
(the rest is for framebuffers, other textures and other programs):

- ``GL_NVX_gpu_memory_info`` (NVIDIA; Mesa's radeonsi too): the video memory
  available now;
- ``GL_ATI_meminfo`` (AMD): free texture memory;
- ``GLX_MESA_query_renderer`` (Mesa under GLX, i.e. a glfw window): the
  renderer's video memory (EGL has no such query);
- a software rasterizer (llvmpipe, softpipe, SwiftShader) keeps textures in
  system memory: a quarter of the machine's RAM;
- otherwise :data:`DEFAULT_BUDGET` (2 GiB).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

DEFAULT_BUDGET = 2 * 2**30
SHARE = 0.5  # of the GPU memory the implementation reports
RAM_SHARE = 0.25  # of system RAM, for software rasterizers
SOFTWARE = ("llvmpipe", "softpipe", "swiftshader", "swrast")

GPU_MEMORY_INFO_CURRENT_AVAILABLE_VIDMEM_NVX = 0x9049
TEXTURE_FREE_MEMORY_ATI = 0x87FC
GLX_RENDERER_VIDEO_MEMORY_MESA = 0x8187


def _extensions() -> set[str]:
    from OpenGL import GL

    count = int(GL.glGetIntegerv(GL.GL_NUM_EXTENSIONS))
    names = set()
    for i in range(count):
        name = GL.glGetStringi(GL.GL_EXTENSIONS, i)
        names.add(name.decode() if isinstance(name, bytes) else str(name))
    return names


def _kilobytes(pname: int) -> int | None:
    from OpenGL import GL

    value = GL.glGetIntegerv(pname)
    first = int(value[0]) if hasattr(value, "__len__") else int(value)
    GL.glGetError()  # a query the driver refuses sets the error flag: leave it clear
    return first * 1024 if first > 0 else None


def _glx_video_memory() -> int | None:
    """Video memory from GLX_MESA_query_renderer, or None (not GLX, not Mesa, no context)."""
    if os.environ.get("PYOPENGL_PLATFORM", "glx") != "glx":
        return None
    path = ctypes.util.find_library("GL")
    if path is None:
        return None
    try:
        query = ctypes.CDLL(path).glXQueryCurrentRendererIntegerMESA
    except (OSError, AttributeError):
        return None
    value = ctypes.c_uint(0)
    query.argtypes = [ctypes.c_int, ctypes.POINTER(ctypes.c_uint)]
    if not query(GLX_RENDERER_VIDEO_MEMORY_MESA, ctypes.byref(value)) or value.value == 0:
        return None
    return int(value.value) * 2**20


def system_memory() -> int | None:
    """Bytes of RAM in this machine, or None where the OS does not say."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return None


def auto_texture_budget(renderer: str) -> tuple[int, str]:
    """(bytes, where the figure comes from) for the current context, whose GL_RENDERER is ``renderer``."""
    if any(name in renderer.lower() for name in SOFTWARE):
        ram = system_memory()
        if ram:
            return int(ram * RAM_SHARE), f"a quarter of the {ram / 2**30:.0f} GB of RAM ({renderer.split()[0]})"
    try:
        extensions = _extensions()
        if "GL_NVX_gpu_memory_info" in extensions:
            free = _kilobytes(GPU_MEMORY_INFO_CURRENT_AVAILABLE_VIDMEM_NVX)
            if free:
                return int(free * SHARE), "half the free video memory (GL_NVX_gpu_memory_info)"
        if "GL_ATI_meminfo" in extensions:
            free = _kilobytes(TEXTURE_FREE_MEMORY_ATI)
            if free:
                return int(free * SHARE), "half the free texture memory (GL_ATI_meminfo)"
        video = _glx_video_memory()
        if video:
            return int(video * SHARE), "half the video memory (GLX_MESA_query_renderer)"
    except Exception:  # a query a driver gets wrong must not stop the picture: the default budget holds
        pass
    return DEFAULT_BUDGET, "the default (the GL implementation does not say its memory)"


def resolve_budget(texture_budget: int | str | None, renderer: str) -> tuple[int | None, str]:
    """(bytes or None for no limit, where the figure comes from) of a ``texture_budget`` option."""
    if texture_budget is None:
        return None, "no budget"
    if texture_budget == "auto":
        return auto_texture_budget(renderer)
    return int(texture_budget), "set in the view options"
