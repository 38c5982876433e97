"""Offscreen rendering into a framebuffer of our own, read back as an RGBA array.

One hidden EGL context per process is reused across renders (context creation
costs a few hundred ms on Mesa). The EGL pbuffer has no depth buffer, so
every render goes into a framebuffer with a depth renderbuffer. Supersampling
(``ssaa``) renders k× larger and box-filters down: anti-aliased stills on any
GL, multisampling or not.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from viz3d.capture.budget import available_bytes, size_text
from viz3d.errors import Viz3dError
from viz3d.renderer.context import make_canvas
from viz3d.renderer.scene_renderer import SceneRenderer

_canvas: list[Any] = []
# Colour and depth in the framebuffer (software GL keeps them in RAM) and the RGBA read-back.
FRAME_BYTES_PER_PIXEL = 12


def offscreen_canvas() -> Any:
    """The process's hidden EGL canvas (created on first use), made current."""
    if not _canvas:
        _canvas.append(make_canvas("egl", (16, 16), show=False))
    canvas = _canvas[0]
    canvas.set_current()
    return canvas


class Framebuffer:
    """A colour + depth framebuffer of a given size, recreated when the size changes."""

    def __init__(self) -> None:
        self._fbo: Any = None
        self._size: tuple[int, int] = (0, 0)

    def delete(self) -> None:
        """Free the framebuffer and its attachments."""
        if self._fbo is not None:
            for buf in (self._fbo.color_buffer, self._fbo.depth_buffer):
                buf.delete()
            self._fbo.delete()
            self._fbo, self._size = None, (0, 0)

    def bind_size(self, size: tuple[int, int]) -> Any:
        from vispy import gloo

        if size != self._size:
            self.delete()
            w, h = size
            self._fbo = gloo.FrameBuffer(
                color=gloo.RenderBuffer((h, w, 4), format="color"),
                # gloo's depth renderbuffer is 16-bit; a depth texture gets the
                # driver's full precision (24/32 bits), which long networks need.
                depth=gloo.Texture2D(shape=(h, w, 1), format="depth_component", internalformat="depth_component"),
            )
            self._size = size
        return self._fbo


def downsample(image: np.ndarray, factor: int) -> np.ndarray:
    """Box-filter an (H·k, W·k, 4) uint8 image down by ``factor``, rounding half to even.

    Integer sums over a view of the big frame: no float copy of it (an 8K
    frame at 2× supersampling is 1 GB of bytes, 4 GB as float32).
    """
    if factor == 1:
        return image
    h, w = image.shape[0] // factor, image.shape[1] // factor
    blocks = image[: h * factor, : w * factor].reshape(h, factor, w, factor, -1)
    n = factor * factor
    q, r = np.divmod(blocks.sum(axis=(1, 3), dtype=np.uint32), n)
    q += (2 * r > n) | ((2 * r == n) & (q % 2 == 1))
    return q.astype(np.uint8)


def read_frame(
    draw: Callable[[tuple[int, int], float], None],
    size: tuple[int, int],
    ssaa: int = 1,
    fbo: Framebuffer | None = None,
    canvas: Any = None,
) -> np.ndarray:
    """Run ``draw(framebuffer size, pixel scale)`` offscreen; return an (H, W, 4) uint8 RGBA image, top row first.

    ``canvas`` is the one whose context owns the GL objects drawn (a
    window's, for screenshots); by default the process's hidden EGL canvas.
    """
    from vispy import gloo

    w, h = size
    if w < 1 or h < 1 or ssaa < 1:
        raise Viz3dError(f"bad render size {w}x{h} (ssaa {ssaa}): both sides must be at least 1 pixel")
    big = (w * ssaa, h * ssaa)
    limit = 16384
    if max(big) > limit:
        raise Viz3dError(
            f"render size {w}x{h} with supersampling {ssaa} exceeds {limit} pixels; lower --ssaa or --size"
        )
    need = big[0] * big[1] * FRAME_BYTES_PER_PIXEL
    free = available_bytes()
    if free is not None and need > 0.8 * free:
        raise Viz3dError(
            f"a {w}x{h} frame with supersampling {ssaa} needs about {size_text(need)} but {size_text(free)} of "
            "memory is free: lower --ssaa or --size"
        )
    if canvas is None:
        offscreen_canvas()
    else:
        canvas.set_current()
    owned = fbo is None
    buffer = fbo or Framebuffer()
    try:
        with buffer.bind_size(big):
            draw(big, float(ssaa))
            image = gloo.read_pixels((0, 0, big[0], big[1]), alpha=True)
    finally:
        if owned:
            buffer.delete()  # also when drawing failed: a 2x frame's buffers are large
    return downsample(np.asarray(image), ssaa)


def render_frame(
    renderer: SceneRenderer,
    view_projection: np.ndarray,
    size: tuple[int, int],
    ssaa: int = 1,
    fbo: Framebuffer | None = None,
    canvas: Any = None,
) -> np.ndarray:
    """Draw ``renderer`` from ``view_projection`` offscreen (see :func:`read_frame`)."""
    return read_frame(
        lambda big, scale: renderer.draw(view_projection, big, pixel_scale=scale), size, ssaa, fbo, canvas
    )
