"""Box geometry shared by the passes that draw boxes (numpy only)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from viz3d.layout.slabs import SlabLayout

_FACES = (
    ((0, 0, 1), ((0, 0, 1), (1, 0, 1), (1, 1, 1), (0, 1, 1))),
    ((0, 0, -1), ((1, 0, 0), (0, 0, 0), (0, 1, 0), (1, 1, 0))),
    ((1, 0, 0), ((1, 0, 1), (1, 0, 0), (1, 1, 0), (1, 1, 1))),
    ((-1, 0, 0), ((0, 0, 0), (0, 0, 1), (0, 1, 1), (0, 1, 0))),
    ((0, 1, 0), ((0, 1, 1), (1, 1, 1), (1, 1, 0), (0, 1, 0))),
    ((0, -1, 0), ((0, 0, 0), (1, 0, 0), (1, 0, 1), (0, 0, 1))),
)  # unit-cube faces, counter-clockwise seen from outside (front face first)


def unit_cube(skip_front: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Triangles of the unit cube [0, 1]^3: corners and normals."""
    corners, normals = [], []
    for normal, quad in _FACES[1:] if skip_front else _FACES:
        for k in (0, 1, 2, 0, 2, 3):
            corners.append(quad[k])
            normals.append(normal)
    return np.array(corners, np.float32), np.array(normals, np.float32)


def box_outline(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The 12 edges of a box as 24 line endpoints."""
    c = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    pairs = [(0, 1), (2, 3), (4, 5), (6, 7), (0, 2), (1, 3), (4, 6), (5, 7), (0, 4), (1, 5), (2, 6), (3, 7)]
    return np.array([c[i] for p in pairs for i in p], np.float32)


def gl_matrix(m: np.ndarray) -> np.ndarray:
    """A column-vector-style numpy matrix as GLSL reads uniforms (column-major)."""
    return np.ascontiguousarray(m.T, dtype=np.float32)


def concat(parts: list[np.ndarray], width: int) -> np.ndarray:
    """Stack float32 rows, or an empty (0, width) array."""
    return np.concatenate(parts).astype(np.float32) if parts else np.zeros((0, width), np.float32)


def slab_uniforms(slab: SlabLayout) -> dict[str, Any]:
    """The per-slab uniforms of the face programs (``slab_face.vert``): box corner and size, tile grid."""
    return {
        "u_lo": tuple(float(v) for v in slab.lo),
        "u_size": tuple(float(v) for v in slab.size),
        "u_channels": slab.channels,
        "u_cols": slab.cols,
        "u_tile": (slab.tile_w, slab.tile_h),
        "u_gap": slab.gap,
    }


def face_corners(slabs: Sequence[SlabLayout]) -> np.ndarray:
    """(n, 4, 4) homogeneous corners of the slabs' front faces (what ``slab_face*.vert`` draws)."""
    out = np.ones((len(slabs), 4, 4))
    for i, s in enumerate(slabs):
        lo, hi = s.lo, s.hi
        out[i, :, 0] = (lo[0], hi[0], lo[0], hi[0])
        out[i, :, 1] = (hi[1], hi[1], lo[1], lo[1])
        out[i, :, 2] = hi[2]
    return out


def quads_in_view(corners: np.ndarray, view_projection: np.ndarray) -> np.ndarray:
    """Which quads may show: False only for those wholly beyond one side of the view volume.

    The usual clip-space test (every corner outside the same plane), exact in
    homogeneous coordinates, so corners behind the eye never drop a quad
    that crosses the view.
    """
    clip = corners @ view_projection.T  # (n, 4, 4)
    xyz, w = clip[..., :3], clip[..., 3:]
    outside = (xyz > w).all(axis=1) | (xyz < -w).all(axis=1)  # (n, 3) per axis
    return ~outside.any(axis=1)
