"""Screen-space geometry of boxes (numpy only): projecting, grid-found overlaps, pixel rays, silhouettes.

The pieces :mod:`viz3d.scene.label_placement` tests labels with: a ray through
a pixel and the distance at which it enters a box (exact occlusion, in
perspective and orthographic views), rectangle pairs found through a coarse
grid, and a separating-axis test of a rectangle against the convex silhouette
of a projected box.
"""

from __future__ import annotations

import numpy as np

GRID_CELL_PX = 64.0
# The 12 edges of a box, as pairs of corner indices (corner k: x from bit 0, y from bit 1, z from bit 2).
BOX_EDGES = np.array([(a, a | b) for b in (1, 2, 4) for a in range(8) if not a & b])


def project_points(
    points: np.ndarray, vp: np.ndarray, size: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pixels (y down), clip w and NDC depth of world ``points`` (..., 3)."""
    p = points @ vp[:3, :3].T + vp[:3, 3]
    w = points @ vp[3, :3] + vp[3, 3]
    safe = np.where(np.abs(w) > 1e-12, w, 1e-12)
    px = np.stack([(p[..., 0] / safe * 0.5 + 0.5) * size[0], (0.5 - p[..., 1] / safe * 0.5) * size[1]], axis=-1)
    return px, w, p[..., 2] / safe


def overlapping_pairs(a: np.ndarray, b: np.ndarray, size: tuple[int, int], cell: float = GRID_CELL_PX) -> np.ndarray:
    """(P, 2) pairs (i, j) where rectangle ``a[i]`` overlaps ``b[j]`` (rows x0, y0, x1, y1; a coarse grid first)."""
    gx, gy = int(np.ceil(size[0] / cell)), int(np.ceil(size[1] / cell))

    def cell_of(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        cx = np.clip(np.floor(x / cell), 0, gx - 1).astype(np.int64)
        return cx, np.clip(np.floor(y / cell), 0, gy - 1).astype(np.int64)

    def cells(r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        (x0, y0), (x1, y1) = cell_of(r[:, 0], r[:, 1]), cell_of(r[:, 2], r[:, 3])
        w, counts = x1 - x0 + 1, (x1 - x0 + 1) * (y1 - y0 + 1)
        owner = np.repeat(np.arange(len(r)), counts)
        local = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        wide = np.repeat(w, counts)
        return owner, (np.repeat(y0, counts) + local // wide) * gx + np.repeat(x0, counts) + local % wide

    if not len(a) or not len(b):
        return np.zeros((0, 2), np.int64)
    a_owner, a_cell = cells(a)
    b_owner, b_cell = cells(b)
    order = np.argsort(b_cell, kind="stable")
    b_owner, b_cell = b_owner[order], b_cell[order]
    lo, hi = np.searchsorted(b_cell, a_cell, "left"), np.searchsorted(b_cell, a_cell, "right")
    n = hi - lo
    i, at = np.repeat(a_owner, n), np.repeat(a_cell, n)
    j = b_owner[np.repeat(lo, n) + np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)]
    ra, rb = a[i], b[j]
    hit = (ra[:, 0] <= rb[:, 2]) & (rb[:, 0] <= ra[:, 2]) & (ra[:, 1] <= rb[:, 3]) & (rb[:, 1] <= ra[:, 3])
    # A pair shares several cells: keep it only in the cell of its overlap's top-left corner.
    cx, cy = cell_of(np.maximum(ra[:, 0], rb[:, 0]), np.maximum(ra[:, 1], rb[:, 1]))
    hit &= cy * gx + cx == at
    return np.stack([i[hit], j[hit]], axis=1)


def pixel_rays(px: np.ndarray, inv_vp: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """World origin (on the near plane) and unit direction of the ray through each pixel (y down)."""
    ndc = np.stack([px[:, 0] / size[0] * 2 - 1, 1 - px[:, 1] / size[1] * 2], axis=1)
    ends = []
    for z in (-1.0, 1.0):
        h = np.c_[ndc, np.full(len(ndc), z), np.ones(len(ndc))] @ inv_vp.T
        ends.append(h[:, :3] / h[:, 3:])
    d = ends[1] - ends[0]
    return ends[0], d / np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-30)


def ray_enters(origin: np.ndarray, direction: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Distance along each ray to where it enters its box (inf: it misses)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / direction
        t0, t1 = (lo - origin) * inv, (hi - origin) * inv
    near = np.nan_to_num(np.minimum(t0, t1), nan=-np.inf)
    far = np.nan_to_num(np.maximum(t0, t1), nan=np.inf)
    enter, leave = near.max(axis=1), far.min(axis=1)
    return np.where((enter <= leave) & (leave >= 0), np.maximum(enter, 0.0), np.inf)


def edge_axes(corners: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normals of each box's 12 projected edges and the extent of its corners along them (for the axis test)."""
    edges = corners[:, BOX_EDGES[:, 1]] - corners[:, BOX_EDGES[:, 0]]  # (n, 12, 2)
    normals = np.stack([-edges[..., 1], edges[..., 0]], axis=-1)
    spread = np.einsum("nkd,ned->nek", corners, normals)  # (n, 12, 8)
    return normals, spread.min(axis=-1), spread.max(axis=-1)


def silhouettes_meet(rects: np.ndarray, normals: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Whether each rectangle meets the convex hull of its box's projected corners (bounding boxes already meet).

    Separating axes: x and y (the bounding boxes, tested before) and the box's
    projected edge normals (the hull's edges are among them); an axis-aligned
    rectangle's extent along a normal is read off its corners in closed form.
    """
    nx, ny = normals[..., 0], normals[..., 1]
    x0, y0, x1, y1 = (rects[:, k, None] for k in range(4))
    r_low = np.where(nx > 0, x0, x1) * nx + np.where(ny > 0, y0, y1) * ny
    r_high = np.where(nx > 0, x1, x0) * nx + np.where(ny > 0, y1, y0) * ny
    return ~((high < r_low) | (r_high < low)).any(axis=1)
