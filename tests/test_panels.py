"""The viewer's 2D panels, drawn with Pillow: exact colours where it matters."""

from __future__ import annotations

import numpy as np

from viz3d.app.panels import help_panel, inset_panel, text_panel
from viz3d.scene.colormaps import apply_colormap


def test_inset_cells_show_the_values_colours() -> None:
    values = np.arange(12, dtype=np.float32).reshape(3, 4)
    img = inset_panel(values, 0.0, 11.0, "viridis", "t", side=240, size=13)
    scale = 240 // 4
    top, pad = 10 + 13 + 6, 10
    for y, x in [(0, 0), (2, 3), (1, 2)]:
        corner = img[top + y * scale + 2, pad + x * scale + 2, :3]
        np.testing.assert_array_equal(corner, apply_colormap(values[y : y + 1, x], 0.0, 11.0)[0])


def test_rgb_filter_inset_maps_each_component_and_adds_histograms() -> None:
    values = np.stack([np.full((2, 2), v, np.float32) for v in (-1.0, 0.0, 1.0)])
    plain = inset_panel(values, -1.0, 1.0, "viridis", "f", side=200, rgb=True)
    with_hist = inset_panel(
        values, -1.0, 1.0, "viridis", "f", side=200, rgb=True, histograms=[("w", [1, 2], (1, 0, 0))]
    )
    np.testing.assert_array_equal(plain[29 + 2, 10 + 2, :3], [0, 128, 255])  # (-1, 0, 1) -> 0, mid, full
    assert with_hist.shape[0] > plain.shape[0]


def test_text_and_help_panels_fit_their_text() -> None:
    short = text_panel(["a"])
    long = text_panel(["a much longer line of text"])
    assert long.shape[1] > short.shape[1]
    rows = [(f"K{i}", f"action {i}") for i in range(30)]
    one, two = help_panel(rows, columns=1), help_panel(rows, columns=2)
    assert two.shape[0] < one.shape[0] and two.shape[1] > one.shape[1]
