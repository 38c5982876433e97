"""Where layer labels go: every near slab labelled, far ones where space allows, none hidden or misplaced.

Numpy only, run on the CPU each time the view changes. For each shown slab
the places of :data:`CANDIDATES` are tried in turn: standing on the top edge
of its front face (centred, or reaching left or right from a point of it),
hanging inside the face under that edge (a near slab whose neighbours crowd
the space above it), and hanging under the bottom edge. A place is taken when

- the label lies wholly in the view and under no ``keep_out`` rectangle (the
  panels drawn over the scene);
- the slab is seen where the label attaches: the ray through that point of the
  face meets no other box first (an exact ray/box test, so slabs hidden behind
  nearer ones lose their labels, in perspective and orthographic views alike);
- the label covers no other slab's silhouette (a separating-axis test against
  the projected box edges), so it never sits over a neighbour; where no such
  place is left, one over no nearer slab ("layer3" over layer2's slab) whose
  edges at most reach over farther ones (:data:`MAX_COVERED` of sample points)
  is taken; a label inside its own face must lie wholly inside that face, seen
  at its corners and middle;
- it overlaps no label placed before it.

Slabs go in order of their projected face area, so near slabs (a face at least
:data:`NEAR_FACE_LABELS` label heights tall) are placed before far ones, and
only the :data:`CONTENDERS_PER_CELL` largest whose face centres share a cell of
the screen grid compete at all (a cell holds about that many labels). The costly tests run on
pairs found through a coarse screen grid, in chunks that skip places a label
already covers, so a crowded overview does not pay for every slab twice over.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from viz3d.scene.screen_geometry import (
    GRID_CELL_PX,
    edge_axes,
    overlapping_pairs,
    pixel_rays,
    project_points,
    ray_enters,
    silhouettes_meet,
)

Rect = tuple[float, float, float, float]  # x0, y0, x1, y1 pixels, y down


@dataclass(frozen=True)
class Candidate:
    """One place a label may take: pinned to a point ``along`` an edge of the face, on a side of it, aligned."""

    name: str
    edge: str  # "top" or "bottom" edge of the front face, or "view": where the view's top edge crosses the face
    along: float  # where on that edge, 0 = left end, 1 = right end
    side: str  # "out": beyond the edge (above the top, below the bottom); "in": on the face under the top edge
    align: float  # -1: the label ends at the point, 0: centred on it, 1: starts at it


# Tried in this order: above the slab first, then on its face, then below it.
CANDIDATES = (
    Candidate("above", "top", 0.5, "out", 0.0),
    Candidate("above, ending over the right part", "top", 0.85, "out", -1.0),
    Candidate("above, starting over the left part", "top", 0.15, "out", 1.0),
    Candidate("above, ending at the middle", "top", 0.5, "out", -1.0),
    Candidate("above, starting at the middle", "top", 0.5, "out", 1.0),
    Candidate("inside", "top", 0.5, "in", 0.0),
    Candidate("below", "bottom", 0.5, "out", 0.0),
    Candidate("inside, under the top of the view", "view", 0.5, "in", 0.0),  # a face whose top edge is out of view
)
NEAR_FACE_LABELS = 4.0  # a face this many label heights tall is "near": it is always labelled when seen
CONTENDERS_PER_CELL = 4  # per 64-pixel cell of the screen, the slabs largest on screen that may get a label
BIG_OCCLUDERS = 32  # the boxes largest on screen, tested against every probe at once
PAD_PX = 2.0  # free space kept around each label
MAX_COVERED = 0.25  # a label may reach over farther slabs with this much of itself, where no clear place is left
SAMPLES = np.stack(np.meshgrid(np.linspace(0, 1, 5), (0.25, 0.75)), axis=-1).reshape(-1, 2)  # points in a label
ATTACH_FRACTION = 0.02  # the attachment point sits this far into the face (of its height) from the edge


@dataclass(frozen=True)
class LabelPlan:
    """The labels to draw: which slab, where (a world anchor plus a pixel box around its projection)."""

    slab: np.ndarray  # (k,) indices into the slabs given
    place: tuple[str, ...]  # the name of the candidate taken, per label
    anchor: np.ndarray  # (k, 3) world point the label is pinned to
    offset: np.ndarray  # (k, 4) x0, y0, x1, y1 of the label relative to the anchor's pixel, y up
    rect: np.ndarray  # (k, 4) x0, y0, x1, y1 device pixels, y down, as drawn
    near: np.ndarray  # (n,) bool per slab given: its face is big enough on screen to be always labelled
    seen: np.ndarray  # (n,) bool per slab given: near, and seen in the view where a label of it would attach


def place_labels(
    lo: np.ndarray,
    hi: np.ndarray,
    front_z: np.ndarray,
    extents: np.ndarray,
    view_projection: np.ndarray,
    size: tuple[int, int],
    shown: np.ndarray | None = None,
    keep_out: Sequence[Rect] = (),
    lift: float = 4.0,
    pad: float = PAD_PX,
    labelled: np.ndarray | None = None,
) -> LabelPlan:
    """Decide the labels of slabs with boxes ``lo``..``hi`` (n, 3) and label sizes ``extents`` (n, 2: w, h pixels).

    ``front_z``: z of each slab's tiled face; ``shown``: slabs drawn (hidden ones
    neither get labels nor hide others); ``lift``: pixels between an edge and its label;
    ``pad``: free pixels kept around each label (both scale with the text);
    ``labelled``: which boxes want a label (the others, such as the answer panel, only take room).
    """
    n = len(lo)
    lo, hi = np.asarray(lo, float).reshape(n, 3), np.asarray(hi, float).reshape(n, 3)
    ext = np.asarray(extents, float).reshape(n, 2)
    shown = np.ones(n, bool) if shown is None else np.asarray(shown, bool)
    vp = np.asarray(view_projection, float)
    bits = np.arange(8)
    corner_pick = np.stack([bits & 1, (bits >> 1) & 1, (bits >> 2) & 1], axis=1).astype(bool)  # (8, 3)
    corners3 = np.where(corner_pick[None], hi[:, None], lo[:, None])  # (n, 8, 3)
    corners, w, _ = project_points(corners3, vp, size)
    whole = np.asarray(
        (w > 1e-9).all(axis=1)
    )  # wholly in front of the camera: its silhouette is the hull of its corners
    axes = edge_axes(corners)
    depth = project_points((lo + hi) / 2, vp, size)[2]
    bbox = np.concatenate([corners.min(axis=1), corners.max(axis=1)], axis=1)
    bbox[~whole] = (-1e9, -1e9, 1e9, 1e9)  # straddles the camera: may cover anything
    bbox[~shown] = (-3e9, -3e9, -2e9, -2e9)  # never meets anything on screen
    face = np.stack([np.stack([x, y, front_z], 1) for x, y in ((lo[:, 0], lo[:, 1]), (hi[:, 0], hi[:, 1]))], 1)
    face_px = project_points(face, vp, size)[0]
    face_w, face_h = np.abs(face_px[:, 1] - face_px[:, 0]).T  # the projected face diagonal's extent
    near = shown & whole & (face_h >= NEAR_FACE_LABELS * ext[:, 1])
    area = face_w * face_h
    # The rest still hide others; a crowded cell has no room for their labels anyway.
    cell_px = GRID_CELL_PX * pad / PAD_PX  # the same cells of the picture at any pixel scale
    centre = np.clip((face_px[:, 0] + face_px[:, 1]) / 2 // cell_px, -1, 1e4).astype(np.int64)
    cell = centre[:, 1] * 100003 + centre[:, 0]
    by_cell = np.lexsort((-np.where(shown & whole, area, -1.0), cell))
    first = np.r_[0, np.flatnonzero(np.diff(cell[by_cell])) + 1]
    rank = np.arange(n) - np.repeat(first, np.diff(np.r_[first, n]))
    contender = np.zeros(n, bool)
    contender[by_cell] = rank < CONTENDERS_PER_CELL
    if labelled is not None:
        contender &= np.asarray(labelled, bool)
    inv_vp = np.linalg.inv(vp)
    tol = 1e-6 * max(float(np.abs(np.concatenate([lo, hi])).max(initial=1.0)), 1.0)

    extent = np.clip(bbox[:, 2:], 0, size) - np.clip(bbox[:, :2], 0, size)
    screen_area = np.where(shown, extent[:, 0] * extent[:, 1], -1.0)
    big = np.argsort(-screen_area, kind="stable")[:BIG_OCCLUDERS]
    big = big[screen_area[big] > 0]
    is_big = np.zeros(n, bool)
    is_big[big] = True

    def seen(px: np.ndarray, owner: np.ndarray) -> np.ndarray:
        """Whether the ray through each pixel meets its owner's box, and no other box before it.

        The largest boxes on screen are tested against every pixel at once (in a
        close view they hide most of the others); the rest only where their
        bounding boxes hold the pixel, for the pixels still seen.
        """
        origin, direction = pixel_rays(px, inv_vp, size)
        t_own = ray_enters(origin, direction, lo[owner], hi[owner])
        ok = np.isfinite(t_own)
        if len(big):
            b = bbox[big]
            p, k = np.nonzero(
                (px[:, None, 0] >= b[None, :, 0]) & (px[:, None, 0] <= b[None, :, 2])
                & (px[:, None, 1] >= b[None, :, 1]) & (px[:, None, 1] <= b[None, :, 3])
            )  # fmt: skip
            j = big[k]
            keep = j != owner[p]
            p, j = p[keep], j[keep]
            ok[p[ray_enters(origin[p], direction[p], lo[j], hi[j]) < t_own[p] - tol]] = False
        rest = np.flatnonzero(ok)
        pairs = overlapping_pairs(np.c_[px[rest], px[rest]], bbox, size)
        p, j = rest[pairs[:, 0]], pairs[:, 1]
        keep = (j != owner[p]) & ~is_big[j]
        p, j = p[keep], j[keep]
        ok[p[ray_enters(origin[p], direction[p], lo[j], hi[j]) < t_own[p] - tol]] = False
        return ok

    def clear_of(rects: np.ndarray, owner: np.ndarray, loose: bool) -> np.ndarray:
        """Whether each label rectangle covers no silhouette of a slab but its ``owner`` (``loose``: no
        nearer slab's, and farther ones' only at its edges, at most :data:`MAX_COVERED` of it)."""
        pairs = overlapping_pairs(rects, bbox, size)
        k, j = pairs[:, 0], pairs[:, 1]
        keep = (owner[k] != j) & shown[j]
        k, j = k[keep], j[keep]
        meets = ~whole[j]  # a box across the camera plane: no silhouette to test, counted as in the way
        hull = whole[j]
        jh = j[hull]
        meets[hull] = silhouettes_meet(rects[k[hull]], axes[0][jh], axes[1][jh], axes[2][jh])
        mostly = np.ones(len(rects), bool)
        if not loose:
            mostly[k[meets]] = False
            return mostly
        mostly[k[meets & (depth[j] < depth[owner[k]])]] = False
        pick = meets & hull & mostly[k]  # how much is covered matters only where no nearer slab is
        k, j = k[pick], j[pick]
        covered = np.zeros((len(rects), len(SAMPLES)), bool)
        if len(k):
            r = rects[k]
            pts = r[:, None, :2] + SAMPLES[None] * (r[:, None, 2:] - r[:, None, :2])  # (P, samples, 2)
            spread = np.matmul(pts, axes[0][j].transpose(0, 2, 1))  # (P, samples, 12)
            inside = ((spread >= axes[1][j][:, None]) & (spread <= axes[2][j][:, None])).all(axis=2)
            np.logical_or.at(covered, k, inside)
        return mostly & (covered.mean(axis=1) <= MAX_COVERED)

    dy = ATTACH_FRACTION * (hi[:, 1] - lo[:, 1])
    places = sorted({(c.edge, c.along) for c in CANDIDATES})
    edge_points: dict[tuple[str, float], np.ndarray] = {}
    probes = []
    for edge, f in places:
        if edge == "view":
            edge_points[edge, f] = _under_view_top(lo, hi, front_z, face_px, ext[:, 0] + 2 * pad, inv_vp, size)
            probes.append(edge_points[edge, f] - np.c_[np.zeros(n), dy, np.zeros(n)])
            continue
        x = lo[:, 0] + f * (hi[:, 0] - lo[:, 0])
        y, into = (hi[:, 1], -dy) if edge == "top" else (lo[:, 1], dy)
        edge_points[edge, f] = np.stack([x, y, front_z], axis=1)
        probes.append(np.stack([x, y + into, front_z], axis=1))
    # Where each candidate's label attaches: a point just inside the face, tested in the costly step.
    probe_px, probe_w, _ = project_points(np.stack(probes), vp, size)  # (places, n, 2)
    probe_of = np.array([places.index((c.edge, c.along)) for c in CANDIDATES])
    attach_known = np.full((len(places), n), -1, np.int8)
    wl, hl = ext[:, 0], ext[:, 1]
    ends = project_points(np.stack([np.stack([x, hi[:, 1], front_z], 1) for x in (lo[:, 0], hi[:, 0])], 1), vp, size)[0]
    run = ends[:, 1] - ends[:, 0]
    slope = np.abs(run[:, 1]) / np.maximum(np.abs(run[:, 0]), 1e-9)
    drop = np.minimum(slope, 1.0) * wl / 2 + pad  # on the face: low enough that the sloping top edge clears it
    rects, ok, anchors, offsets = [], [], [], []
    for c in CANDIDATES:
        anchor = edge_points[c.edge, c.along]
        x0 = -wl * (1 - c.align) / 2
        y0 = lift + np.zeros(n) if c.side == "out" and c.edge == "top" else -lift - hl
        if c.side == "in" and c.edge == "top":
            y0 = y0 - drop
        off = np.stack([x0, y0, x0 + wl, y0 + hl], axis=1)
        a_px, a_w, _ = project_points(anchor, vp, size)
        r = np.stack(
            [a_px[:, 0] + off[:, 0], a_px[:, 1] - off[:, 3], a_px[:, 0] + off[:, 2], a_px[:, 1] - off[:, 1]], 1
        )
        r += (-pad, -pad, pad, pad)
        good = contender & shown & whole & (a_w > 1e-9) & (probe_w[places.index((c.edge, c.along))] > 1e-9)
        good &= (r[:, 0] >= 0) & (r[:, 1] >= 0) & (r[:, 2] <= size[0]) & (r[:, 3] <= size[1])
        for b in keep_out:
            good &= ~((r[:, 0] < b[2]) & (b[0] < r[:, 2]) & (r[:, 1] < b[3]) & (b[1] < r[:, 3]))
        rects.append(r)
        ok.append(good)
        anchors.append(anchor)
        offsets.append(off)
    rect_table = np.stack(rects)  # (candidates, n, 4)
    outside = np.array([c.side == "out" for c in CANDIDATES])

    def costly(slab: np.ndarray, cand: np.ndarray, loose: bool) -> np.ndarray:
        """The costly tests of (slab, candidate) pairs: attached where the slab is seen, and clear of every other
        slab, or clear of nearer ones and over farther ones only at its edges."""
        r = rect_table[cand, slab]
        p = probe_of[cand]
        unknown = attach_known[p, slab] < 0  # the slab is seen where its label attaches: tested once per point
        if unknown.any():
            attach_known[p[unknown], slab[unknown]] = seen(probe_px[p[unknown], slab[unknown]], slab[unknown])
        attached = attach_known[p, slab] > 0
        good = attached.copy()
        slab, cand, r = slab[attached], cand[attached], r[attached]
        out = outside[cand]
        at = np.flatnonzero(attached)
        if out.any():
            good[at[out]] = clear_of(r[out], slab[out], loose)
        inner = ~out
        if inner.any():  # on its own face: every corner and the middle look onto that slab first
            q = r[inner]
            px = np.concatenate([q[:, [0, 1]], q[:, [2, 1]], q[:, [2, 3]], q[:, [0, 3]], (q[:, :2] + q[:, 2:]) / 2])
            good[at[inner]] = seen(px, np.tile(slab[inner], 5)).reshape(5, -1).all(axis=0)
        return good

    order = sorted(range(n), key=lambda k: (not near[k], -area[k], k))
    groups = [[i for i in order if near[i]], [i for i in order if not near[i]]]
    chosen = _greedy(groups, np.stack(ok, axis=1), rect_table, costly)
    near_seen = np.zeros(n, bool)  # for near slabs: is any attachment point seen (else hiding its label is right)
    w = np.flatnonzero(near)
    if len(w):
        k = len(places)
        px = probe_px[:, w].reshape(-1, 2)
        on_screen = np.flatnonzero((px >= 0).all(axis=1) & (px[:, 0] <= size[0]) & (px[:, 1] <= size[1]))
        hits = np.zeros(len(px), bool)
        hits[on_screen] = seen(px[on_screen], np.tile(w, k)[on_screen])
        near_seen[w] = hits.reshape(k, -1).any(axis=0)

    def pick(table: list[np.ndarray], width: int) -> np.ndarray:
        return np.array([table[c][i] for i, c in chosen], float).reshape(-1, width)

    return LabelPlan(
        slab=np.array([i for i, _ in chosen], np.int64),
        place=tuple(CANDIDATES[c].name for _, c in chosen),
        anchor=pick(anchors, 3),
        offset=pick(offsets, 4),
        rect=pick(rects, 4) + np.array([pad, pad, -pad, -pad]),
        near=near,
        seen=near_seen,
    )


def _greedy(
    groups: list[list[int]],
    cheap: np.ndarray,
    rects: np.ndarray,
    costly: Callable[[np.ndarray, np.ndarray, bool], np.ndarray],
) -> list[tuple[int, int]]:
    """(slab, candidate) of each label taken: in priority order, each slab's first good place free of placed labels.

    ``cheap`` (n, candidates) says which places pass the cheap tests. Slabs go in
    chunks that double in size; the costly tests run once per chunk, and only on
    places no label placed so far covers, so a crowded view stops paying for
    slabs that could not be labelled anyway. Within a chunk, places clear of
    every other slab are taken first, then places that only edge over farther ones.
    """
    grid: dict[tuple[int, int], list[list[float]]] = {}
    chosen: list[tuple[int, int]] = []
    placed: list[list[float]] = []
    boxes = rects.transpose(1, 0, 2).tolist()  # [slab][candidate] -> [x0, y0, x1, y1]
    for group in groups:
        start, step = 0, 32
        while start < len(group):
            chunk = np.array(group[start : start + step], np.int64)
            start, step = start + step, step * 2
            for loose in (False, True):  # clear places first; then, for slabs still unlabelled, looser ones
                taken = {i for i, _ in chosen}
                rows, cand = np.nonzero(cheap[chunk])
                slab = chunk[rows]
                keep = np.array([i not in taken for i in slab.tolist()], bool).reshape(-1)
                slab, cand = slab[keep], cand[keep]
                if placed and len(slab):
                    r, b = rects[cand, slab], np.array(placed)
                    covered = (r[:, None, 0] < b[None, :, 2]) & (b[None, :, 0] < r[:, None, 2])
                    covered &= (r[:, None, 1] < b[None, :, 3]) & (b[None, :, 1] < r[:, None, 3])
                    free = ~covered.any(axis=1)
                    slab, cand = slab[free], cand[free]
                if not len(slab):
                    continue
                verdict = costly(slab, cand, loose)
                places: dict[int, list[int]] = {}
                for i, c in zip(slab[verdict].tolist(), cand[verdict].tolist(), strict=True):
                    places.setdefault(i, []).append(c)
                for i in chunk.tolist():
                    for c in places.get(i, ()):
                        if _free(boxes[i][c], grid):
                            chosen.append((i, c))
                            placed.append(boxes[i][c])
                            break
    return chosen


def _free(box: list[float], grid: dict[tuple[int, int], list[list[float]]]) -> bool:
    """Whether ``box`` overlaps no box in ``grid``; if so it is added there."""
    x0, y0, x1, y1 = box
    cells = [
        (cx, cy)
        for cx in range(int(x0 // GRID_CELL_PX), int(x1 // GRID_CELL_PX) + 1)
        for cy in range(int(y0 // GRID_CELL_PX), int(y1 // GRID_CELL_PX) + 1)
    ]
    for cell in cells:
        for b in grid.get(cell, ()):
            if x0 < b[2] and b[0] < x1 and y0 < b[3] and b[1] < y1:
                return False
    for cell in cells:
        grid.setdefault(cell, []).append(box)
    return True


def _under_view_top(
    lo: np.ndarray,
    hi: np.ndarray,
    front_z: np.ndarray,
    face_px: np.ndarray,
    label_w: np.ndarray,
    inv_vp: np.ndarray,
    size: tuple[int, int],
) -> np.ndarray:
    """The point of each front face under the view's top edge, above the face's middle (NaN where there is none)."""
    x = np.clip((face_px[:, 0, 0] + face_px[:, 1, 0]) / 2, label_w / 2, size[0] - label_w / 2)
    origin, direction = pixel_rays(np.c_[x, np.zeros(len(x))], inv_vp, size)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (front_z - origin[:, 2]) / direction[:, 2]
    point = origin + t[:, None] * direction
    on_face = (t > 0) & (point[:, 0] >= lo[:, 0]) & (point[:, 0] <= hi[:, 0])
    on_face &= (point[:, 1] >= lo[:, 1]) & (point[:, 1] < hi[:, 1])  # below the top edge: the edge is out of view
    point[~on_face] = np.nan
    return point
