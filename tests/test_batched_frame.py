"""Per-unit work batched: the slab table draws the same pixels; grouped statistics are the per-layer ones."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

import viz3d.gpu.stats as stats_module
from viz3d.capture import synthetic_trace
from viz3d.gpu.stats import channel_stats, channel_stats_many
from viz3d.layout import layout_trace
from viz3d.renderer.geometry import quads_in_view
from viz3d.renderer.offscreen import render_frame
from viz3d.renderer.scene_renderer import SceneRenderer
from viz3d.scene.camera import OrbitCamera, camera_for


def test_grouped_statistics_equal_the_per_layer_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    g = torch.Generator().manual_seed(1)
    shapes = [(3, 4, 4), (5, 4, 4), (2, 8, 2), (7, 4, 4), (1, 3, 5), (4, 16, 1), (6, 4, 4)]
    displays = [torch.randn(s, generator=g) * (i + 1) for i, s in enumerate(shapes)]
    displays[3][2, 1, 1] = float("nan")  # its group falls back to per-layer reductions
    monkeypatch.setattr(stats_module, "GROUP_VALUES", 120)  # several chunks of the 4x4 group
    monkeypatch.setattr(stats_module, "SMALL_LAYER", 100)  # layer 3 (112 values) reduced alone
    for got, d in zip(channel_stats_many(displays), displays, strict=True):
        want = channel_stats(d)
        np.testing.assert_array_equal(got.minimum, want.minimum)
        np.testing.assert_array_equal(got.maximum, want.maximum)
        np.testing.assert_allclose(got.mean, want.mean, rtol=1e-6, atol=1e-7)
        assert got.nonfinite == want.nonfinite
    assert channel_stats_many(displays)[3].nonfinite == 1


def front_camera(slab: Any, size: tuple[int, int]) -> OrbitCamera:
    """Looking straight at one slab from near, so that most others are out of the picture."""
    target = np.array([slab.center[0], slab.center[1], slab.front_z])
    return OrbitCamera(target=target, distance=slab.size[1] * 1.2, scene_radius=20.0)


def test_quads_in_view_drops_only_what_is_wholly_outside() -> None:
    vp = OrbitCamera(target=np.zeros(3), distance=5.0, scene_radius=5.0).view_projection(1.0)

    def quad(x0: float, x1: float, z: float) -> np.ndarray:
        return np.array([[x0, -0.5, z, 1], [x1, -0.5, z, 1], [x0, 0.5, z, 1], [x1, 0.5, z, 1]])

    corners = np.stack(
        [quad(-0.5, 0.5, 0), quad(50, 51, 0), quad(-100, 100, 0), quad(-0.5, 0.5, 20), quad(-0.5, 0.5, 4)]
    )
    # In view; far right; wider than the view (crosses it); behind the eye; between the eye and the target.
    np.testing.assert_array_equal(quads_in_view(corners, vp), [True, False, True, False, True])


class PerLayerGloo:
    """The reference: every face through gloo with its own uniforms (slab_face.vert, no slab table)."""

    def __init__(self, renderer: SceneRenderer) -> None:
        from vispy import gloo

        from viz3d.renderer.shaders import load_shader

        self.r = renderer
        self.program = gloo.Program(load_shader("slab_face.vert"), load_shader("slab_face.frag"))
        self.program["a_corner"] = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], np.float32)

    def draw(self, mvp: np.ndarray, base_color: Any, _items: Any, _keep: Any = None, taps: int = 1) -> None:
        from OpenGL import GL

        from viz3d.renderer.geometry import slab_uniforms

        p, r = self.program, self.r
        r.canvas.context.flush_commands()  # the instanced passes before leave divisors on shared attributes
        for index in range(4):
            GL.glVertexAttribDivisor(index, 0)
        p["u_mvp"], p["u_base_color"], p["u_filter_taps"] = mvp, base_color, taps
        for slab in r.layout.slabs:
            layer = r.layer_for(slab.node_id)
            if layer is None or slab.front_z > r.cut_z:
                continue
            node = r.trace.nodes[slab.node_id]
            for name, value in slab_uniforms(slab).items():
                p[name] = value
            p["u_activation"], p["u_ranges"], p["u_lut"] = layer.activation, layer.ranges, r.textures.lut_for(node)
            p["u_pack"], p["u_depth"], p["u_rgb"] = layer.plan.pack, layer.plan.depth, int(node.display_rgb)
            p.draw("triangle_strip")

    def delete(self) -> None:
        self.program.delete()


@pytest.mark.gl
def test_slab_table_draws_the_same_pixels_as_per_layer_uniforms(gl: Any) -> None:
    trace = synthetic_trace([(3, 12, 12), (20, 6, 6), (6, 9, 5), (40, 3, 3), (8, 6, 6), (3, 10, 10)], skip_every=2)
    trace.nodes[0].display_rgb = True  # one colour tile: the rgb flag comes from the table too
    layout = layout_trace(trace)
    size = (480, 270)
    vp = camera_for(layout, "overview", size).view_projection(size[0] / size[1])
    renderer = SceneRenderer(trace, layout, labels=False, max_texture_size=16)  # 20 and 40 channels: packed
    renderer.initialize()
    assert [la.plan.pack for la in renderer.layers] == [1, 2, 1, 3, 1, 1]
    batched = renderer._faces
    reference = PerLayerGloo(renderer)
    near = front_camera(layout.slabs[3], size).view_projection(size[0] / size[1])
    assert 1 <= quads_in_view(renderer._face_corners, near).sum() < len(layout.slabs)  # the others are skipped
    try:
        for cut, view in ((float("inf"), vp), (layout.slabs[2].front_z, vp), (float("inf"), near)):
            renderer.cut_z = cut
            renderer._faces = batched
            got = render_frame(renderer, view, size)
            renderer._faces = reference  # type: ignore[assignment]
            want = render_frame(renderer, view, size)
            assert (want[..., :3] != np.round(np.array([0.075, 0.08, 0.095]) * 255)).any(-1).mean() > 0.1
            np.testing.assert_array_equal(got, want)
    finally:
        renderer._faces = batched
        reference.delete()
        renderer.delete()
