"""Where layer labels go (numpy only): near slabs labelled, hidden ones not, none over a neighbour or a panel."""

from __future__ import annotations

import numpy as np

from viz3d.scene.camera import OrbitCamera
from viz3d.scene.label_placement import place_labels
from viz3d.scene.labels import project
from viz3d.scene.screen_geometry import overlapping_pairs

SIZE = (640, 360)
EXTENT = (90.0, 16.0)


def front_camera(distance: float = 30.0) -> np.ndarray:
    """Looking straight down -z at the origin from +z (perspective)."""
    cam = OrbitCamera(target=np.zeros(3), distance=distance, azimuth=0.0, elevation=0.0, scene_radius=40.0)
    return cam.view_projection(SIZE[0] / SIZE[1])


def slabs(*boxes: tuple[tuple[float, float, float], tuple[float, float, float]]) -> tuple[np.ndarray, ...]:
    lo = np.array([b[0] for b in boxes], float)
    hi = np.array([b[1] for b in boxes], float)
    return lo, hi, hi[:, 2].copy(), np.tile(EXTENT, (len(boxes), 1))


def test_a_slab_hidden_behind_a_nearer_one_gets_no_label() -> None:
    # A big slab in front (z 0..1) hides a smaller one right behind it (z -5..-4); a third stands clear to the left.
    lo, hi, front, ext = slabs(((-6, -6, 0), (6, 6, 1)), ((-3, -3, -5), (3, 3, -4)), ((-20, -2, 0), (-16, 2, 1)))
    plan = place_labels(lo, hi, front, ext, front_camera(), SIZE)
    assert set(plan.slab.tolist()) == {0, 2}
    assert plan.near[0] and plan.seen[0]  # the big one is near: it must be labelled
    assert plan.near[1] and not plan.seen[1]  # near too, but no point of its edges is seen: the ray test says so
    # Move the hidden one up so its top edge shows above the front slab: now it is labelled too.
    lo[1, 1], hi[1, 1] = 0.0, 9.0
    plan = place_labels(lo, hi, front, ext, front_camera(), SIZE)
    assert plan.seen[1] and 1 in plan.slab.tolist()


def test_labels_never_cover_a_nearer_slab_nor_each_other_nor_a_panel() -> None:
    rng = np.random.default_rng(3)
    centres = np.c_[rng.uniform(-20, 20, 40), rng.uniform(-10, 10, 40), rng.uniform(-30, 0, 40)]
    half = np.c_[rng.uniform(0.5, 3, 40), rng.uniform(0.5, 3, 40), np.full(40, 0.2)]
    lo, hi = centres - half, centres + half
    panel = (0.0, 0.0, 200.0, 120.0)
    vp = front_camera(45.0)
    plan = place_labels(lo, hi, hi[:, 2], np.tile(EXTENT, (40, 1)), vp, SIZE, keep_out=[panel])
    assert len(plan.slab) >= 5
    r = plan.rect
    assert (r[:, 0] >= 0).all() and (r[:, 2] <= SIZE[0]).all() and (r[:, 1] >= 0).all() and (r[:, 3] <= SIZE[1]).all()
    assert not ((r[:, 0] < panel[2]) & (r[:, 1] < panel[3])).any()  # nothing under the panel
    for a in range(len(r)):  # no two labels overlap
        for b in range(a + 1, len(r)):
            assert r[a, 2] <= r[b, 0] or r[b, 2] <= r[a, 0] or r[a, 3] <= r[b, 1] or r[b, 3] <= r[a, 1]
    # A slab's silhouette holds its front face's rectangle: no label meets a nearer slab's, and a label
    # reaches over farther ones only with its edges (most labels over nothing at all).
    cam_p = np.c_[lo[:, :2], hi[:, 2]], np.c_[hi[:, :2], hi[:, 2]]
    p0, p1 = project(cam_p[0], vp, SIZE)[0], project(cam_p[1], vp, SIZE)[0]
    faces = np.c_[np.minimum(p0, p1), np.maximum(p0, p1)]
    gx, gy = np.meshgrid(np.linspace(0, 1, 17), np.linspace(0, 1, 5))
    clear = 0
    for k, i in enumerate(plan.slab):
        others = np.flatnonzero(np.arange(len(lo)) != i)
        for j in others[hi[others, 2] > hi[i, 2]]:  # nearer the camera
            f = faces[j]
            assert r[k, 2] <= f[0] or f[2] <= r[k, 0] or r[k, 3] <= f[1] or f[3] <= r[k, 1], (i, j)
        x, y = r[k, 0] + gx * (r[k, 2] - r[k, 0]), r[k, 1] + gy * (r[k, 3] - r[k, 1])
        f = faces[others]
        under = (
            (x[..., None] > f[:, 0]) & (x[..., None] < f[:, 2]) & (y[..., None] > f[:, 1]) & (y[..., None] < f[:, 3])
        )
        covered = under.any(axis=-1).mean()
        assert covered <= 0.4, (i, covered)
        clear += covered == 0
    assert clear >= len(plan.slab) / 2


def test_every_near_visible_slab_is_labelled_and_a_crowded_one_takes_its_own_face() -> None:
    # Three big slabs side by side fill the view; each is near. The middle one has a taller one
    # right behind it, so the space above its top edge shows a neighbour: its label goes on its own face.
    lo, hi, front, ext = slabs(
        ((-14, -6, 0), (-5, 6, 1)), ((-4, -6, 0), (4, 6, 1)), ((5, -6, 0), (14, 6, 1)), ((-4, -6, -3), (4, 9, -2))
    )
    plan = place_labels(lo, hi, front, ext, front_camera(26.0), SIZE)
    near = np.flatnonzero(plan.near & plan.seen)
    assert {0, 1, 2} <= set(near.tolist())
    assert set(near.tolist()) <= set(plan.slab.tolist())
    middle = plan.place[plan.slab.tolist().index(1)]
    assert middle == "inside"
    face = project(np.c_[np.stack([lo[1, :2], hi[1, :2]]), [1.0, 1.0]], front_camera(26.0), SIZE)[0]
    x0, y1 = face.min(axis=0)[0], face.max(axis=0)[1]
    x1, y0 = face.max(axis=0)[0], face.min(axis=0)[1]
    r = plan.rect[plan.slab.tolist().index(1)]
    assert x0 <= r[0] and r[2] <= x1 and y0 <= r[1] and r[3] <= y1  # wholly on its own face


def test_grid_pairs_match_brute_force() -> None:
    rng = np.random.default_rng(0)

    def rects(n: int, big: float) -> np.ndarray:
        xy = rng.uniform(-50, 700, (n, 2))
        return np.c_[xy, xy + rng.uniform(0, big, (n, 2))]

    a, b = rects(120, 80), rects(200, 300)
    got = {tuple(p) for p in overlapping_pairs(a, b, SIZE).tolist()}
    want = {
        (i, j)
        for i in range(len(a))
        for j in range(len(b))
        if a[i, 0] <= b[j, 2] and b[j, 0] <= a[i, 2] and a[i, 1] <= b[j, 3] and b[j, 1] <= a[i, 3]
    }
    assert got == want


def test_a_face_filling_the_view_is_labelled_under_the_top_of_the_view() -> None:
    # One slab so close that its top edge is out of view: its label hangs from the top of the view, on its face.
    lo, hi, front, ext = slabs(((-30, -30, 0), (30, 30, 1)))
    plan = place_labels(lo, hi, front, ext, front_camera(20.0), SIZE)
    assert plan.near[0] and plan.seen[0]
    assert plan.place == ("inside, under the top of the view",)
    x0, y0, x1, _ = plan.rect[0]
    assert 0 <= y0 < 12 and abs((x0 + x1) / 2 - SIZE[0] / 2) < 1  # at the top, above the face's middle
