"""Volume mode: each layer a translucent block ray-marched through its channels, composited back to front."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from viz3d.layout.slabs import SlabLayout
from viz3d.renderer.geometry import unit_cube
from viz3d.renderer.layer_textures import LayerTextures
from viz3d.renderer.shaders import load_shader


def eye_from(view_projection: np.ndarray) -> np.ndarray:
    """The camera position of a view-projection matrix: where every view ray starts."""
    inv = np.linalg.inv(view_projection)
    a, b = inv @ np.array([0.0, 0.0, -1.0, 1.0]), inv @ np.array([0.0, 0.0, 0.0, 1.0])
    a, b = a[:3] / a[3], b[:3] / b[3]
    return np.asarray(a - (b - a) * 1e3)


class VolumePass:
    """One draw of the ``slab_volume`` program per layer."""

    def __init__(self) -> None:
        from vispy import gloo

        self._prog = gloo.Program(load_shader("slab_volume.vert"), load_shader("slab_volume.frag"))
        self._prog["a_corner"] = unit_cube()[0]

    def draw(
        self,
        mvp: np.ndarray,
        eye: np.ndarray,
        items: Sequence[tuple[SlabLayout, LayerTextures]],
        lut_for: Callable[[int], Any],
    ) -> None:
        """Draw ``items`` (slab, its textures) seen from ``eye``; ``lut_for(node_id)`` gives each colormap."""
        from vispy import gloo

        prog = self._prog
        prog["u_mvp"] = mvp
        prog["u_eye"] = tuple(float(v) for v in eye)
        gloo.set_state(blend=True, blend_func=("one", "one_minus_src_alpha"), depth_test=True, cull_face=True)
        gloo.set_cull_face("back")
        gloo.set_depth_mask(False)
        # Back to front, so the translucent blocks composite correctly.
        for slab, layer in sorted(items, key=lambda it: -float(np.linalg.norm(it[0].center - eye))):
            prog["u_lo"] = tuple(float(v) for v in slab.lo)
            prog["u_size"] = tuple(float(v) for v in slab.size)
            prog["u_activation"] = layer.activation
            prog["u_ranges"] = layer.ranges
            prog["u_pack"] = layer.plan.pack
            prog["u_depth"] = layer.plan.depth
            prog["u_lut"] = lut_for(slab.node_id)
            prog["u_channels"] = layer.plan.channels  # volume depth: every channel, colour tiles too
            prog["u_density"] = 10.0 / max(float(min(slab.size)), 1e-3)
            prog.draw("triangles")
        gloo.set_depth_mask(True)

    def delete(self) -> None:
        self._prog.delete()
