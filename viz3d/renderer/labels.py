"""Layer-name labels: text from one atlas, screen-aligned beside each slab (placed by scene.label_placement).

Which labels show and where is decided on the CPU (near slabs always, far ones
where space allows, none hidden behind a nearer slab, over a neighbour or under
a panel) and kept until the view changes, so a redraw of a still view costs
only the draw call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from viz3d.layout import SlabLayout
from viz3d.renderer.shaders import load_shader
from viz3d.renderer.text_atlas import build_atlas
from viz3d.scene.label_placement import PAD_PX, LabelPlan, place_labels
from viz3d.scene.labels import project

Rect = tuple[float, float, float, float]  # x0, y0, x1, y1 device pixels, y down
LIFT_PX = 4.0  # gap between a slab's edge and its label
MOVING_REUSE = 2  # during a flight, a decision serves this many more frames (its labels still follow their slabs)


class LabelLayer:
    """One label per slab, pinned to its front face's top or bottom edge."""

    def __init__(self, font_px: int = 15) -> None:
        from vispy import gloo

        self.font_px = font_px
        self._prog = gloo.Program(load_shader("label.vert"), load_shader("label.frag"))
        self._atlas: Any = None
        self._plan: tuple[Any, LabelPlan] | None = None  # (what the plan was made for, the plan)
        self._reused = 0
        self._obstacle: tuple[np.ndarray, np.ndarray] | None = None
        self.anchors = np.zeros((0, 3))

    def build(self, slabs: Sequence[SlabLayout], texts: Sequence[str]) -> None:
        """Rasterize ``texts`` (one per slab) and keep the slabs' boxes."""
        from vispy import gloo

        atlas = build_atlas(list(texts), self.font_px)
        if self._atlas is not None:
            self._atlas.delete()
        self._atlas = gloo.Texture2D(atlas.image, interpolation="linear")
        self._prog["u_atlas"] = self._atlas
        self._atlas_size = atlas.image.shape[1], atlas.image.shape[0]
        self._rects = atlas.rects
        self.anchors = np.array([[s.center[0], s.hi[1], s.front_z] for s in slabs]).reshape(-1, 3)
        self._lo = np.array([s.lo for s in slabs], float).reshape(-1, 3)
        self._hi = np.array([s.hi for s in slabs], float).reshape(-1, 3)
        self._front = np.array([s.front_z for s in slabs], float)
        self._extent = np.array([[r[2], r[3]] for r in atlas.rects], np.float64).reshape(-1, 2)
        self._plan = None

    def set_obstacles(self, corners: np.ndarray | None) -> None:
        """Points of something drawn in the scene that is not a slab (the answer panel): labels keep off its box."""
        self._obstacle = None if corners is None else (np.min(corners, axis=0), np.max(corners, axis=0))
        self._plan = None

    def plan(
        self,
        view_projection: np.ndarray,
        size: tuple[int, int],
        scale: float = 1.0,
        keep_out: Sequence[Rect] = (),
        cut_z: float = float("inf"),
        moving: bool = False,
    ) -> LabelPlan:
        """The labels drawn for this view (cached until the view, the panels or the cutaway change).

        While ``moving`` (a camera flight) a decision is reused for up to
        :data:`MOVING_REUSE` frames: the labels stay pinned to their slabs, only the
        choice of which lags; the frame the flight ends on is decided afresh.
        """
        key = (np.asarray(view_projection, float).tobytes(), tuple(size), scale, tuple(map(tuple, keep_out)), cut_z)
        same_frame = self._plan is not None and self._plan[0][1:3] == key[1:3] and self._plan[0][4] == key[4]
        if moving and same_frame and self._reused < MOVING_REUSE and self._plan is not None:
            self._reused += 1
            return _clear_of_panels(self._plan[1], view_projection, size, keep_out)  # panels move too (the fps counter)
        if self._plan is None or self._plan[0] != key:
            self._reused = 0
            lo, hi, front, extent = self._lo, self._hi, self._front, self._extent
            if self._obstacle is not None:
                lo, hi = np.vstack([lo, self._obstacle[0]]), np.vstack([hi, self._obstacle[1]])
                front, extent = np.r_[front, self._obstacle[1][2]], np.vstack([extent, np.ones((1, 2))])
            shown = front <= cut_z
            labelled = np.arange(len(lo)) < len(self._lo)
            plan = place_labels(
                lo, hi, front, extent * scale, view_projection, size, shown, keep_out,
                LIFT_PX * scale, PAD_PX * scale, labelled,
            )  # fmt: skip
            self._plan = (key, plan)
        return self._plan[1]

    def _vertices(self, plan: LabelPlan) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        aw, ah = self._atlas_size
        anchors, offsets, uvs = [], [], []
        for i, anchor, (x0, y0, x1, y1) in zip(plan.slab, plan.anchor, plan.offset, strict=True):
            x, y, w, h = self._rects[i]
            quad = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
            uv = [(x, y + h), (x + w, y + h), (x + w, y), (x, y)]
            for k in (0, 1, 2, 0, 2, 3):
                anchors.append(anchor)
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
        moving: bool = False,
    ) -> None:
        """Draw the placed labels on top of everything (no depth test), premultiplied."""
        from vispy import gloo

        if not len(self.anchors):
            return
        anchors, offsets, uvs = self._vertices(self.plan(view_projection, size, scale, keep_out, cut_z, moving))
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


def _clear_of_panels(
    plan: LabelPlan, view_projection: np.ndarray, size: tuple[int, int], keep_out: Sequence[Rect]
) -> LabelPlan:
    """``plan``'s labels where this view draws them, without those a panel now covers."""
    (x, y), off = project(plan.anchor, view_projection, size)[0].T, plan.offset
    r = np.stack([x + off[:, 0], y - off[:, 3], x + off[:, 2], y - off[:, 1]], axis=1)
    keep = np.ones(len(r), bool)
    for b in keep_out:
        keep &= ~((r[:, 0] < b[2]) & (b[0] < r[:, 2]) & (r[:, 1] < b[3]) & (b[1] < r[:, 3]))
    chosen = np.flatnonzero(keep)
    return replace(
        plan,
        slab=plan.slab[keep],
        place=tuple(plan.place[i] for i in chosen),
        anchor=plan.anchor[keep],
        offset=plan.offset[keep],
        rect=r[keep],
    )
