"""Layer-name labels: text from one atlas, screen-aligned above each slab, thinned where they overlap."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from viz3d.layout import SlabLayout
from viz3d.renderer.shaders import load_shader
from viz3d.renderer.text_atlas import build_atlas
from viz3d.scene import labels as label_math

Rect = tuple[float, float, float, float]  # x0, y0, x1, y1 device pixels, y down
LIFT_PX = 4.0  # gap between a slab's top edge and its label


class LabelLayer:
    """One label per slab, anchored at the middle of the slab's top front edge."""

    def __init__(self, font_px: int = 15) -> None:
        from vispy import gloo

        self.font_px = font_px
        self._prog = gloo.Program(load_shader("label.vert"), load_shader("label.frag"))
        self._atlas: Any = None
        self.anchors = np.zeros((0, 3))

    def build(self, slabs: Sequence[SlabLayout], texts: Sequence[str]) -> None:
        """Rasterize ``texts`` (one per slab) and place them."""
        from vispy import gloo

        atlas = build_atlas(list(texts), self.font_px)
        if self._atlas is not None:
            self._atlas.delete()
        self._atlas = gloo.Texture2D(atlas.image, interpolation="linear")
        self._prog["u_atlas"] = self._atlas
        self._atlas_size = atlas.image.shape[1], atlas.image.shape[0]
        self._rects = atlas.rects
        self.anchors = np.array([[s.center[0], s.hi[1], s.front_z] for s in slabs]).reshape(-1, 3)
        self._extent = np.array([[r[2], r[3]] for r in atlas.rects], np.float64).reshape(-1, 2)
        self._priority = np.array([s.size[0] * s.size[1] for s in slabs])  # big slabs keep their labels

    def visible(
        self, view_projection: np.ndarray, size: tuple[int, int], scale: float = 1.0, keep_out: Sequence[Rect] = ()
    ) -> np.ndarray:
        """Mask of labels drawn for this view (overlapping ones, and any under a ``keep_out`` panel, are left out)."""
        px, in_front = label_math.project(self.anchors, view_projection, size)
        return label_math.thin_labels(px, self._extent * scale, in_front, self._priority, size, blocked=keep_out)

    def _vertices(self, keep: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        aw, ah = self._atlas_size
        anchors, offsets, uvs = [], [], []
        for i in np.flatnonzero(keep):
            x, y, w, h = self._rects[i]
            sw, sh, lift = w * scale, h * scale, LIFT_PX * scale
            quad = [(-sw / 2, lift), (sw / 2, lift), (sw / 2, lift + sh), (-sw / 2, lift + sh)]
            uv = [(x, y + h), (x + w, y + h), (x + w, y), (x, y)]
            for k in (0, 1, 2, 0, 2, 3):
                anchors.append(self.anchors[i])
                offsets.append(quad[k])
                uvs.append((uv[k][0] / aw, uv[k][1] / ah))
        return (
            np.array(anchors, np.float32).reshape(-1, 3),
            np.array(offsets, np.float32).reshape(-1, 2),
            np.array(uvs, np.float32).reshape(-1, 2),
        )

    def draw(
        self,
        mvp: np.ndarray,
        view_projection: np.ndarray,
        size: tuple[int, int],
        scale: float,
        cut_z: float,
        keep_out: Sequence[Rect] = (),
    ) -> None:
        """Draw the visible labels on top of everything (no depth test), premultiplied."""
        from vispy import gloo

        if not len(self.anchors):
            return
        keep = self.visible(view_projection, size, scale, keep_out) & (self.anchors[:, 2] <= cut_z)
        anchors, offsets, uvs = self._vertices(keep, scale)
        if not len(anchors):
            return
        gloo.set_state(blend=True, blend_func=("one", "one_minus_src_alpha"), depth_test=False)
        p = self._prog
        p["a_anchor"], p["a_offset"], p["a_uv"] = anchors, offsets, uvs
        p["u_mvp"] = mvp
        p["u_viewport"] = (float(size[0]), float(size[1]))
        p.draw("triangles")

    def delete(self) -> None:
        if self._atlas is not None:
            self._atlas.delete()
        self._prog.delete()
