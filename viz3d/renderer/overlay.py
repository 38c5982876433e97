"""Screen-space panels (HUD, help, inset) drawn over the 3D view as textured quads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from viz3d.renderer.shaders import load_shader


@dataclass
class _Panel:
    texture: Any
    shape: tuple[int, int]  # (h, w) pixels
    position: tuple[float, float]  # top-left, pixels, y down
    key: int  # identity of the image content, to skip re-uploads
    density: float = 1.0  # image pixels per panel pixel (a picture made at the device's resolution)


class Overlay:
    """Named RGBA images at pixel positions; an image is uploaded only when it changes."""

    def __init__(self) -> None:
        from vispy import gloo

        self._prog = gloo.Program(load_shader("overlay.vert"), load_shader("overlay.frag"))
        self._panels: dict[str, _Panel] = {}

    def set(self, name: str, image: np.ndarray, position: tuple[float, float], density: float = 1.0) -> None:
        """Show premultiplied RGBA ``image`` with its top-left corner at ``position``.

        ``density``: image pixels per panel pixel, for pictures drawn at the
        device's resolution (crisp text on a HiDPI screen).
        """
        from vispy import gloo

        key = hash((image.shape, image.tobytes()))
        panel = self._panels.get(name)
        if panel is None or panel.shape != image.shape[:2]:
            if panel is not None:
                panel.texture.delete()
            tex = gloo.Texture2D(image, interpolation="nearest")
            self._panels[name] = _Panel(tex, image.shape[:2], position, key, density)
            return
        if panel.key != key:
            panel.texture.set_data(image)
            panel.key = key
        panel.position, panel.density = position, density

    def remove(self, name: str) -> None:
        panel = self._panels.pop(name, None)
        if panel is not None:
            panel.texture.delete()

    def __contains__(self, name: str) -> bool:
        return name in self._panels

    def names(self) -> list[str]:
        return list(self._panels)

    def rects(self, scale: float = 1.0) -> list[tuple[float, float, float, float]]:
        """Where the panels sit (x0, y0, x1, y1), in device pixels of a view drawn with ``scale``."""
        out = []
        for p in self._panels.values():
            x, y = p.position[0] * scale, p.position[1] * scale
            out.append((x, y, x + p.shape[1] * scale / p.density, y + p.shape[0] * scale / p.density))
        return out

    def draw(self, size: tuple[int, int], scale: float = 1.0) -> None:
        """Draw every panel into a view of ``size`` pixels (``scale``: device pixels per panel pixel)."""
        from vispy import gloo

        if not self._panels:
            return
        gloo.set_state(blend=True, blend_func=("one", "one_minus_src_alpha"), depth_test=False, cull_face=False)
        self._prog["u_viewport"] = (float(size[0]), float(size[1]))
        for panel in self._panels.values():
            h, w = panel.shape
            x, y = panel.position[0] * scale, panel.position[1] * scale
            x1, y1 = x + w * scale / panel.density, y + h * scale / panel.density
            self._prog["a_pixel"] = np.array([[x, y], [x1, y], [x, y1], [x1, y1]], np.float32)
            self._prog["a_uv"] = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], np.float32)
            self._prog["u_image"] = panel.texture
            self._prog.draw("triangle_strip")
        gloo.set_state(blend=False, depth_test=True)

    def delete(self) -> None:
        """Free every panel and the program."""
        for name in list(self._panels):
            self.remove(name)
        self._prog.delete()
