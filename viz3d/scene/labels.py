"""Projecting world points to pixels (numpy only); where labels go is :mod:`viz3d.scene.label_placement`."""

from __future__ import annotations

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
