"""Pixels of a session's scene that no lower-level test covers: selection, flags, global ranges, the public render.

Real GL (Mesa llvmpipe through EGL); every probe is at a position the layout gives.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

import viz3d
from tests.test_render_pixels import SIZE, front_camera, one_layer, texel_center
from viz3d.capture import capture
from viz3d.capture.trace import Node, Trace
from viz3d.export.offscreen import OffscreenView
from viz3d.layout.charts import DEAD_RGBA, SATURATED_RGBA
from viz3d.renderer import shaders
from viz3d.scene.colormaps import apply_colormap
from viz3d.scene.labels import project
from viz3d.session import Session, ViewOptions

pytestmark = pytest.mark.gl
QUIET = ViewOptions(labels=False, connections=frozenset(), minimap=False)


def near(image: np.ndarray, world: np.ndarray, vp: np.ndarray, radius: int = 2) -> np.ndarray:
    """The pixels around where ``world`` projects, as (k, 3) ints."""
    (x, y), _ = project(np.asarray(world, float)[None], vp, SIZE)[0][0], None
    x, y = round(float(x)), round(float(y))
    return image[y - radius : y + radius + 1, x - radius : x + radius + 1, :3].reshape(-1, 3).astype(int)


def top_edge(slab: Any, channel: int) -> np.ndarray:
    x0, _, x1, y1 = slab.tile_rects()[channel]
    return np.array([(x0 + x1) / 2, y1, slab.front_z])


def looking_at_first_slab(session: Session) -> np.ndarray:
    slab = session.layout.slabs[0]
    session.set_camera(front_camera(slab))
    return session.view_projection(SIZE[0] / SIZE[1])


def test_the_selection_outline_is_drawn_around_the_tile_and_pixel(gl: Any) -> None:
    session = Session(one_layer(torch.zeros(4, 8, 8)), options=QUIET, size=SIZE)
    vp = looking_at_first_slab(session)
    slab = session.layout.slabs[0]
    with OffscreenView(session) as view:
        before = view.frame()
        session.select((0, 2, 3, 5))
        after = view.frame()
    white = lambda px: ((px >= 240).all(axis=1)).any()  # noqa: E731
    assert white(near(after, top_edge(slab, 2), vp)) and not white(near(before, top_edge(slab, 2), vp))
    assert not white(near(after, top_edge(slab, 0), vp))  # only the selected tile
    x0, y0, x1, y1 = slab.tile_rects()[2]
    pixel_left = np.array([x0 + 5 / 8 * (x1 - x0), y1 - 3.5 / 8 * (y1 - y0), slab.front_z])  # left edge of (3, 5)
    assert white(near(after, pixel_left, vp, radius=1))


def test_dead_and_saturated_channels_are_outlined_in_their_colours(gl: Any) -> None:
    g = torch.Generator().manual_seed(3)
    display = torch.rand(4, 8, 8, generator=g) * 0.8
    display[1] = 0.0  # dead: zero everywhere
    display[2] = 1.0  # saturated: always at the layer's maximum
    session = Session(one_layer(display), options=QUIET.with_(stats=True), size=SIZE)
    vp = looking_at_first_slab(session)
    slab = session.layout.slabs[0]
    with OffscreenView(session) as view:
        image = view.frame()

    def has(colour: tuple[float, ...], channel: int) -> bool:
        rgb = np.round(np.array(colour[:3]) * 255)
        return bool((np.abs(near(image, top_edge(slab, channel), vp) - rgb).max(axis=1) <= 3).any())

    assert has(DEAD_RGBA, 1) and not has(DEAD_RGBA, 0) and not has(DEAD_RGBA, 2)
    assert has(SATURATED_RGBA, 2) and not has(SATURATED_RGBA, 3)


def test_global_normalization_shares_one_range_across_layers(gl: Any) -> None:
    small = torch.full((2, 4, 4), 1.0)
    small[0] = 0.0
    big = torch.full((2, 4, 4), 10.0)
    big[0] = 0.0
    nodes = [
        Node(i, f"l{i}", "Conv2d", "conv", (1, *d.shape), "float32", 0, d[None], d) for i, d in enumerate((small, big))
    ]
    trace = Trace(nodes=nodes, edges=[], method="synthetic")
    colours = {}
    for mode in ("layer", "global"):
        session = Session(trace, options=QUIET.with_(normalization=mode), size=SIZE)
        slab = session.layout.slabs[0]
        session.set_camera(front_camera(slab))
        vp = session.view_projection()
        with OffscreenView(session) as view:
            image = view.frame()
        (x, y), _ = project(slab.tile_center(1)[None], vp, SIZE)[0][0], None
        colours[mode] = image[int(y), int(x), :3]
    np.testing.assert_array_equal(colours["layer"], apply_colormap(np.array([1.0]), 0.0, 1.0)[0])
    np.testing.assert_array_equal(colours["global"], apply_colormap(np.array([1.0]), 0.0, 10.0)[0])


def test_render_shows_weights_and_outlines_the_selected_filter(gl: Any) -> None:
    conv = nn.Conv2d(3, 6, 3, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.linspace(-1.0, 2.0, conv.weight.numel()).reshape(conv.weight.shape))
    model, x = nn.Sequential(conv, nn.ReLU()), torch.rand(1, 3, 8, 8)
    session = Session(capture(model, x), options=QUIET.with_(show="weights"), size=SIZE)
    slab = session.layout.slab(session.trace.node("0").id)
    cam = front_camera(slab)
    vp = cam.view_projection(SIZE[0] / SIZE[1])
    image = viz3d.render(model, x, size=SIZE, camera=cam, focus="0", ssaa=1, show="weights", select="0:4", labels=False)
    w = conv.weight.detach()
    lo, hi = float(w[4].min()), float(w[4].max())
    got = near(image, texel_center(slab, 4, 1, 1, 3, 3), vp, radius=0)[0]
    np.testing.assert_allclose(got, np.round((w[4, :, 1, 1].numpy() - lo) / (hi - lo) * 255), atol=1)
    assert ((near(image, top_edge(slab, 4), vp) >= 240).all(axis=1)).any()  # the selected filter's outline
    plain = viz3d.render(model, x, size=SIZE, camera=cam, focus="0", ssaa=1, show="weights", labels=False)
    assert not ((near(plain, top_edge(slab, 4), vp) >= 240).all(axis=1)).any()
    with pytest.raises(viz3d.Viz3dError, match="need a selected unit"):
        viz3d.render(model, x, size=SIZE, connections=("rf",))


def test_every_shader_program_compiles_and_links_on_this_gl(gl: Any) -> None:
    from OpenGL import GL

    names = shaders.available_shaders()
    pairs = [(v, v.replace(".vert", ".frag")) for v in names if v.endswith(".vert")]
    pairs.append(("slab_face.vert", "slab_pick.frag"))  # the pick pass reuses the face's vertex shader
    pairs.append(("prediction.vert", "prediction_pick.frag"))  # and the answer panel's pick, its panel's
    pairs.append(("slab_face_table.vert", "slab_face.frag"))  # the face pass: slab_face.frag with SLAB_TABLE
    defines = {"slab_face_table.vert": ("SLAB_TABLE",)}
    stages = {"vert": GL.GL_VERTEX_SHADER, "frag": GL.GL_FRAGMENT_SHADER}
    linked = set()
    for vert, frag in pairs:
        if frag not in names:
            continue
        program = GL.glCreateProgram()
        for name in (vert, frag):
            shader = GL.glCreateShader(stages[name.rsplit(".", 1)[1]])
            source = shaders.load_shader(name)
            if name.endswith(".frag"):
                source = shaders.with_defines(source, *defines.get(vert, ()))
            GL.glShaderSource(shader, source)
            GL.glCompileShader(shader)
            assert GL.glGetShaderiv(shader, GL.GL_COMPILE_STATUS), f"{name}: {GL.glGetShaderInfoLog(shader)}"
            GL.glAttachShader(program, shader)
            GL.glDeleteShader(shader)
        GL.glLinkProgram(program)
        assert GL.glGetProgramiv(program, GL.GL_LINK_STATUS), f"{vert}+{frag}: {GL.glGetProgramInfoLog(program)}"
        GL.glDeleteProgram(program)
        linked |= {vert, frag}
    stage_files = {n for n in names if n.endswith((".vert", ".frag"))}
    assert linked == stage_files, f"shaders never linked: {sorted(stage_files - linked)}"
