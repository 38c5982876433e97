"""Screenshots of a window's 3D view: k× its size with lines and text k× as wide, never over an existing file."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from viz3d.files import save_png
from viz3d.renderer.offscreen import read_frame
from viz3d.renderer.scene_view import SceneView


def save_screenshot(
    view: SceneView, canvas: Any, size: tuple[int, int], physical: tuple[int, int], scale: int, folder: Path
) -> Path:
    """Render ``view`` at ``scale`` × the window's device size into a new time-stamped PNG in ``folder``."""
    w, h = size
    unit = physical[0] / w  # device pixels per window pixel (HiDPI)

    def draw(big: tuple[int, int], ssaa: float) -> None:
        view.draw(big, pixel_scale=ssaa * scale * unit)

    image = read_frame(draw, (round(w * scale * unit), round(h * scale * unit)), canvas=canvas)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = folder / f"viz3d-screenshot-{stamp}{f'-{scale}x' if scale > 1 else ''}.png"
    n = 1
    while path.exists():
        n += 1
        path = path.with_name(f"{path.stem}-{n}.png")
    save_png(image, path)
    return path
