"""Shaded boxes: the slabs' sides, whole boxes for generic ops, histogram bars, and their picking twins."""

from __future__ import annotations

import numpy as np

from viz3d.layout.slabs import Layout
from viz3d.renderer.geometry import box_outline, concat, unit_cube
from viz3d.renderer.shaders import load_shader

SLAB_COLOR = np.array([0.16, 0.17, 0.20])
GENERIC_COLOR = np.array([0.42, 0.45, 0.55])


class BoxLayer:
    """Slab boxes (one lit draw), chart bars (another) and the pick boxes (layer ids)."""

    def __init__(self) -> None:
        from vispy import gloo

        self._box = gloo.Program(load_shader("slab_box.vert"), load_shader("slab_box.frag"))
        self._charts = gloo.Program(load_shader("slab_box.vert"), load_shader("slab_box.frag"))
        self._pick = gloo.Program(load_shader("box_pick.vert"), load_shader("box_pick.frag"))
        self.box_count = self.chart_count = 0

    def build(self, layout: Layout) -> np.ndarray:
        """Geometry for ``layout``; returns the volume-mode box outlines (line endpoints) to draw as lines."""
        volume = layout.mode == "volume"
        pos, nrm, col, pick_pos, pick_lay, outline = [], [], [], [], [], []
        for slab in layout.slabs:
            color = GENERIC_COLOR if slab.is_generic else SLAB_COLOR
            if volume and not slab.is_generic:
                outline.append(box_outline(slab.lo, slab.hi))
            else:
                corners, normals = unit_cube(skip_front=not slab.is_generic)
                pos.append(slab.lo + corners * slab.size)
                nrm.append(normals)
                col.append(np.tile(color, (len(corners), 1)))
            pc = unit_cube(skip_front=not (slab.is_generic or volume))[0]
            pick_pos.append(slab.lo + pc * slab.size)
            pick_lay.append(np.full(len(pc), slab.node_id))
        self.box_count = sum(len(p) for p in pos)
        if self.box_count:
            self._box["a_position"] = concat(pos, 3)
            self._box["a_normal"] = concat(nrm, 3)
            self._box["a_color"] = concat(col, 3)
        self._pick["a_position"] = concat(pick_pos, 3)
        self._pick["a_layer"] = concat(pick_lay, 1).reshape(-1)
        return concat(outline, 3)

    def set_charts(self, lo: np.ndarray, hi: np.ndarray, rgb: np.ndarray) -> None:
        """Bars from ``lo`` to ``hi`` corners with one colour each; empty arrays remove them."""
        self.chart_count = 0
        if len(lo) == 0:
            return
        corners, normals = unit_cube()
        pos = (lo[:, None, :] + corners[None] * (hi - lo)[:, None, :]).reshape(-1, 3)
        self._charts["a_position"] = pos.astype(np.float32)
        self._charts["a_normal"] = np.tile(normals, (len(lo), 1)).astype(np.float32)
        self._charts["a_color"] = np.repeat(rgb, len(corners), axis=0).astype(np.float32)
        self.chart_count = len(pos)

    def draw(self, mvp: np.ndarray, cut_z: float) -> None:
        for prog, count in ((self._box, self.box_count), (self._charts, self.chart_count)):
            if count:
                prog["u_mvp"] = mvp
                prog["u_cut_z"] = cut_z
                prog.draw("triangles")

    def draw_pick(self, mvp: np.ndarray, cut_z: float) -> None:
        self._pick["u_mvp"] = mvp
        self._pick["u_cut_z"] = cut_z
        self._pick.draw("triangles")

    def delete(self) -> None:
        for prog in (self._box, self._charts, self._pick):
            prog.delete()
