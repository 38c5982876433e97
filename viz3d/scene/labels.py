"""Which layer labels to show: project anchors, drop the ones that would overlap (numpy only)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def project(points: np.ndarray, view_projection: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates (x right, y down) of world ``points`` and whether each is in front of the camera."""
    p = np.c_[np.asarray(points, float), np.ones(len(points))] @ view_projection.T
    w = p[:, 3]
    in_front = w > 1e-9
    ndc = p[:, :2] / np.where(in_front, w, 1.0)[:, None]
    px = (ndc[:, 0] * 0.5 + 0.5) * size[0]
    py = (0.5 - ndc[:, 1] * 0.5) * size[1]
    return np.stack([px, py], axis=1), in_front


def thin_labels(
    anchors_px: np.ndarray,
    extents_px: np.ndarray,
    visible: np.ndarray,
    priority: np.ndarray,
    size: tuple[int, int],
    pad: float = 2.0,
    blocked: Sequence[tuple[float, float, float, float]] = (),
) -> np.ndarray:
    """Mask of labels to draw so that no two drawn labels overlap.

    Each label is a box of ``extents_px`` (w, h) centred horizontally on its
    anchor and standing on it. Higher ``priority`` wins; ties go to the
    earlier label. Labels not wholly inside the viewport, or behind the camera, are
    dropped, and so are labels that would sit under a ``blocked`` rectangle
    (x0, y0, x1, y1 pixels: the panels drawn over the view).
    """
    n = len(anchors_px)
    keep = np.zeros(n, bool)
    boxes: list[tuple[float, float, float, float]] = [tuple(map(float, b)) for b in blocked]  # type: ignore[misc]
    for i in sorted(range(n), key=lambda k: (-priority[k], k)):
        if not visible[i]:
            continue
        x, y = anchors_px[i]
        w, h = extents_px[i]
        box = (x - w / 2 - pad, y - h - pad, x + w / 2 + pad, y + pad)
        if box[0] < 0 or box[2] > size[0] or box[1] < 0 or box[3] > size[1]:
            continue  # partly off screen: a clipped label reads worse than none
        if any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in boxes):
            continue
        boxes.append(box)
        keep[i] = True
    return keep
