"""Plain GL lines in world space: the one batch type behind outlines, flags and the highlight."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from viz3d.renderer.shaders import load_shader


class LineBatch:
    """Line segments (endpoint pairs) with per-vertex colours, drawn with one call.

    The width is ``per_scale_px`` times the frame's pixel scale (supersampling,
    HiDPI), and at least ``min_px``;
    ``on_top`` draws without the depth test (the selection highlight);
    ``blend`` for translucent lines (volume-mode box outlines).
    """

    def __init__(self, min_px: float, per_scale_px: float, on_top: bool = False, blend: bool = False) -> None:
        from vispy import gloo

        self.min_px, self.per_scale_px = min_px, per_scale_px
        self.on_top = on_top
        self.blend = blend
        self.count = 0
        self._prog = gloo.Program(load_shader("line.vert"), load_shader("line.frag"))

    def set(self, segments: np.ndarray | None, colors: np.ndarray | Sequence[float]) -> None:
        """Replace the segments; ``colors`` is one RGBA for all, or one per segment."""
        if segments is None or len(segments) == 0:
            self.count = 0
            return
        seg = np.asarray(segments, np.float32).reshape(-1, 3)
        rgba = np.asarray(colors, np.float32)
        rgba = np.tile(rgba, (len(seg), 1)) if rgba.ndim == 1 else np.repeat(rgba, 2, axis=0)
        self._prog["a_position"] = seg
        self._prog["a_color"] = rgba
        self.count = len(seg)

    def draw(self, mvp: np.ndarray, pixel_scale: float, cut_z: float) -> None:
        from vispy import gloo

        if self.count == 0:
            return
        if self.blend:
            gloo.set_state(blend=True, blend_func=("src_alpha", "one_minus_src_alpha"), depth_test=True)
            gloo.set_depth_mask(False)
        else:
            gloo.set_state(blend=False, depth_test=not self.on_top)
        gloo.set_line_width(max(self.min_px, pixel_scale * self.per_scale_px))
        self._prog["u_mvp"] = mvp
        self._prog["u_cut_z"] = cut_z
        self._prog.draw("lines")
        gloo.set_depth_mask(True)

    def delete(self) -> None:
        self._prog.delete()
