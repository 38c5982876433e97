"""Label decisions per view: which slabs get a label and where, for 176 and ~700 slabs (CPU, numpy).

A label decision runs whenever the view changes (a flight, a drag), before the
labels are drawn. Measured on a synthetic chain of ResNet-like shapes laid out
as the viewer lays out a network, at 1280×720, from the overview and from a
camera framing a middle slab (the slabs in front cut away, as a flight does),
with

- the placement as it is (:func:`viz3d.scene.label_placement.place_labels`: every
  near slab, far ones where space allows, occluded ones hidden, none over a
  neighbour or a panel);
- the baseline, measured in the same run: the previous rule (project one anchor
  per slab, drop overlapping labels by slab size, no occlusion test).

Run: ``python benchmarks/bench_labels.py`` (prints medians, the ratio and how many labels each rule draws).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from common import median_time, row

from viz3d.capture import synthetic_trace
from viz3d.layout import layout_trace
from viz3d.renderer.text_atlas import build_atlas
from viz3d.scene.camera import box_corners, frame_points
from viz3d.scene.flight import focus_camera
from viz3d.scene.label_placement import place_labels
from viz3d.scene.labels import project

SIZE = (1280, 720)
STAGES = ((256, 56), (512, 28), (1024, 14), (2048, 7))


def chain_shapes(units: int) -> list[tuple[int, int, int]]:
    """``units`` (C, H, W) shapes in four stages, like a deep ResNet."""
    return [
        (STAGES[i * 4 // units][0] // 4, STAGES[i * 4 // units][1], STAGES[i * 4 // units][1]) for i in range(units)
    ]


def previous_rule(anchors: np.ndarray, extents: np.ndarray, priority: np.ndarray, vp: np.ndarray) -> int:
    """The baseline: one anchor per slab, overlapping labels dropped by priority (no occlusion test)."""
    px, in_front = project(anchors, vp, SIZE)
    kept: list[tuple[float, float, float, float]] = []
    for i in sorted(range(len(px)), key=lambda k: (-priority[k], k)):
        x, y = px[i]
        w, h = extents[i]
        box = (x - w / 2 - 2, y - h - 2, x + w / 2 + 2, y + 2)
        if not in_front[i] or box[0] < 0 or box[2] > SIZE[0] or box[1] < 0 or box[3] > SIZE[1]:
            continue
        if any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in kept):
            continue
        kept.append(box)
    return len(kept)


def bench(units: int, repeats: int) -> None:
    trace = synthetic_trace(chain_shapes(units), skip_every=3)
    layout = layout_trace(trace)
    slabs = layout.slabs
    lo = np.array([s.lo for s in slabs])
    hi = np.array([s.hi for s in slabs])
    front = np.array([s.front_z for s in slabs])
    texts = [f"{trace.nodes[s.node_id].name}  {'x'.join(map(str, trace.nodes[s.node_id].shape[1:]))}" for s in slabs]
    atlas = build_atlas(texts, 15)
    extents = np.array([r[2:] for r in atlas.rects], float)
    anchors = np.array([[s.center[0], s.hi[1], s.front_z] for s in slabs])
    priority = np.array([s.size[0] * s.size[1] for s in slabs])
    overview = frame_points(layout.corner_points(), "overview", aspect=SIZE[0] / SIZE[1])
    middle = slabs[len(slabs) // 2]
    near = focus_camera(box_corners(middle.lo, middle.hi), overview, SIZE[0] / SIZE[1])
    print(f"{units} slabs")
    for name, camera, cut in (("overview", overview, np.inf), ("near a middle slab", near, middle.front_z)):
        vp = camera.view_projection(SIZE[0] / SIZE[1])
        shown = front <= cut
        plan = place_labels(lo, hi, front, extents, vp, SIZE, shown)
        new = median_time(lambda vp=vp, shown=shown: place_labels(lo, hi, front, extents, vp, SIZE, shown), repeats)
        old = median_time(lambda vp=vp: previous_rule(anchors, extents, priority, vp), repeats)
        count = previous_rule(anchors[shown], extents[shown], priority[shown], vp)
        near_seen = int((plan.near & plan.seen).sum())
        labelled_near = int(np.isin(np.flatnonzero(plan.near & plan.seen), plan.slab).sum())
        row(f"{name}: placement (median)", f"{new * 1e3:7.2f} ms, {len(plan.slab)} labels")
        row(f"{name}: previous rule (median)", f"{old * 1e3:7.2f} ms, {count} labels (ratio {new / old:.2f}x)")
        row(f"{name}: near slabs seen / labelled", f"{near_seen} / {labelled_near}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, nargs="*", default=[176, 700])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    for units in args.units:
        bench(units, args.repeats)


if __name__ == "__main__":
    main()
