"""Draw a laid-out Trace: slab boxes, heatmap faces, edges and labels.

The renderer reads the Trace and the Layout and never changes them. It owns
the GL objects (through vispy.gloo) of one context: one 3D texture per layer
holding that layer's activation, a per-channel range texture for the
normalization, one colormap lookup texture, and shared vertex buffers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from viz3d.capture.trace import Trace
from viz3d.errors import Viz3dError
from viz3d.gpu import TexturePlan, channel_stats, pack_for_texture, plan_texture, select_uploader
from viz3d.layout import Layout, SlabLayout
from viz3d.render.shaders import load_shader
from viz3d.render.text_atlas import build_atlas
from viz3d.scene import labels as label_math
from viz3d.scene.colormaps import COLORMAPS, DIVERGING, colormap_lut
from viz3d.scene.normalization import NORMALIZATIONS, ChannelStats, global_range, value_range

BACKGROUND = (0.075, 0.08, 0.095, 1.0)
SLAB_COLOR = np.array([0.16, 0.17, 0.20])
GENERIC_COLOR = np.array([0.42, 0.45, 0.55])
EDGE_COLORS = {
    "sequential": (0.62, 0.66, 0.74, 0.85),
    "merge": (0.45, 0.75, 1.00, 0.95),
    "skip": (1.00, 0.66, 0.25, 0.95),
}
RANGES_PER_ROW = 1024
TEXTURE_FORMATS = ("r32f", "r16f")


@dataclass
class LayerTextures:
    """GL resources of one layer."""

    slab: SlabLayout
    plan: TexturePlan
    activation: Any  # gloo.Texture3D
    ranges: Any  # gloo.Texture2D, per-channel (lo, hi)
    stats: ChannelStats


def _cube(lo: np.ndarray, hi: np.ndarray, color: np.ndarray, skip_front: bool) -> tuple[np.ndarray, ...]:
    """Triangles of an axis-aligned box: positions, normals, colours."""
    x0, y0, z0 = lo
    x1, y1, z1 = hi
    faces = [
        ((0, 0, 1), [(x0, y0, z1), (x1, y0, z1), (x1, y1, z1), (x0, y1, z1)]),
        ((0, 0, -1), [(x1, y0, z0), (x0, y0, z0), (x0, y1, z0), (x1, y1, z0)]),
        ((1, 0, 0), [(x1, y0, z1), (x1, y0, z0), (x1, y1, z0), (x1, y1, z1)]),
        ((-1, 0, 0), [(x0, y0, z0), (x0, y0, z1), (x0, y1, z1), (x0, y1, z0)]),
        ((0, 1, 0), [(x0, y1, z1), (x1, y1, z1), (x1, y1, z0), (x0, y1, z0)]),
        ((0, -1, 0), [(x0, y0, z0), (x1, y0, z0), (x1, y0, z1), (x0, y0, z1)]),
    ]
    if skip_front:
        faces = faces[1:]
    pos, nrm = [], []
    for normal, quad in faces:
        for k in (0, 1, 2, 0, 2, 3):
            pos.append(quad[k])
            nrm.append(normal)
    n = len(pos)
    return np.array(pos, np.float32), np.array(nrm, np.float32), np.tile(color.astype(np.float32), (n, 1))


def _gl_matrix(m: np.ndarray) -> np.ndarray:
    # numpy matrices here are column-vector style; GLSL reads uniforms column-major.
    return np.ascontiguousarray(m.T, dtype=np.float32)


class SceneRenderer:
    """Renders one Trace with its Layout into the current GL context.

    Parameters
    ----------
    trace, layout
        What to draw and where.
    colormap
        One of :data:`viz3d.scene.COLORMAPS`.
    normalization
        ``"layer"``, ``"channel"`` or ``"global"``.
    texture_format
        ``"r32f"`` or ``"r16f"`` (half the texture memory).
    max_texture_size
        Override the GL limit on 3D texture sides (tests use it to force packing).
    """

    def __init__(
        self,
        trace: Trace,
        layout: Layout,
        *,
        colormap: str = "viridis",
        normalization: str = "layer",
        texture_format: str = "r32f",
        max_texture_size: int | None = None,
        labels: bool = True,
        edges: bool = True,
        upload: str | None = None,
        label_px: int = 15,
    ) -> None:
        if texture_format not in TEXTURE_FORMATS:
            raise Viz3dError(f"unknown texture format {texture_format!r}; use one of {', '.join(TEXTURE_FORMATS)}")
        self.trace = trace
        self.layout = layout
        self.texture_format = texture_format
        self.show_labels = labels
        self.show_edges = edges
        self.label_px = label_px
        self._colormap = ""
        self._normalization = ""
        self._max_texture_size = max_texture_size
        self.uploader, self.upload_reason = select_uploader(upload)
        self.layers: list[LayerTextures] = []
        self._gl_ready = False
        self.set_colormap(colormap)
        self.set_normalization(normalization)

    # --- settings -------------------------------------------------------
    @property
    def colormap(self) -> str:
        return self._colormap

    def set_colormap(self, name: str) -> None:
        if name not in COLORMAPS:
            raise Viz3dError(f"unknown colormap {name!r}; choose one of {', '.join(COLORMAPS)}")
        changed = name != self._colormap
        was_diverging = self._colormap in DIVERGING
        self._colormap = name
        if self._gl_ready and changed:
            self._lut.set_data(self._lut_data())
            if was_diverging != (name in DIVERGING):
                self._update_ranges()

    @property
    def normalization(self) -> str:
        return self._normalization

    def set_normalization(self, mode: str) -> None:
        if mode not in NORMALIZATIONS:
            raise Viz3dError(f"unknown normalization {mode!r}; choose one of {', '.join(NORMALIZATIONS)}")
        self._normalization = mode
        if self._gl_ready:
            self._update_ranges()

    # --- GL resources -----------------------------------------------------
    def _lut_data(self) -> np.ndarray:
        lut = colormap_lut(self._colormap)
        return np.concatenate([lut, np.full((256, 1), 255, np.uint8)], axis=1)[None]

    def initialize(self) -> None:
        """Create programs, buffers and textures; needs a current GL context."""
        from vispy import gloo

        from viz3d.render.context import gl_limits

        if self._gl_ready:
            return
        limit = self._max_texture_size or gl_limits()["max_3d_texture_size"]
        self._face_prog = gloo.Program(load_shader("slab_face.vert"), load_shader("slab_face.frag"))
        self._face_prog["a_corner"] = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], np.float32)
        self._lut = gloo.Texture2D(self._lut_data(), interpolation="nearest", internalformat="rgba8")
        self._face_prog["u_lut"] = self._lut

        self._box_prog = gloo.Program(load_shader("slab_box.vert"), load_shader("slab_box.frag"))
        self._build_boxes()
        self._edge_prog = gloo.Program(load_shader("edge.vert"), load_shader("edge.frag"))
        self._edge_count = self._build_edges()
        self._label_prog = gloo.Program(load_shader("label.vert"), load_shader("label.frag"))
        self._build_labels()

        for slab in self.layout.slabs:
            node = self.trace.nodes[slab.node_id]
            if slab.is_generic or node.display is None:
                continue
            c, h, w = (int(s) for s in node.display.shape)
            plan = plan_texture(c, h, w, limit)
            if plan.downsample > 1:
                from viz3d.capture.common import warn_once

                warn_once(
                    f"layer {node.name}: {h}x{w} maps exceed the GL texture limit {limit}; "
                    f"shown downsampled {plan.downsample}x"
                )
            tex = gloo.Texture3D(
                shape=(*plan.texture_shape, 1),
                format="red",
                interpolation="nearest",
                internalformat=self.texture_format,
            )
            rows = (c + RANGES_PER_ROW - 1) // RANGES_PER_ROW
            ranges = gloo.Texture2D(
                shape=(rows, min(c, RANGES_PER_ROW), 2), format="rg", interpolation="nearest", internalformat="rg32f"
            )
            empty = ChannelStats(np.zeros(c), np.zeros(c), np.zeros(c), 0)
            self.layers.append(LayerTextures(slab, plan, tex, ranges, empty))
        self._gl_ready = True
        self.update_activations(self.trace)

    def update_activations(self, trace: Trace) -> None:
        """Upload new activations of the same network (same shapes) and recompute statistics."""
        if not self._gl_ready:
            self.trace = trace
            return
        for layer in self.layers:
            node = trace.nodes[layer.slab.node_id]
            if node.display is None or int(node.display.shape[0]) != layer.plan.channels:
                raise Viz3dError(f"layer {node.name} changed shape; capture the same network to update a view")
            layer.stats = channel_stats(node.display)
            self.uploader.upload(layer.activation, pack_for_texture(node.display, layer.plan))
        self.trace = trace
        self._update_ranges()

    def _update_ranges(self) -> None:
        stats = [layer.stats for layer in self.layers]
        g = global_range(stats)
        symmetric = self._colormap in DIVERGING
        for layer in self.layers:
            lo, hi = value_range(self._normalization, layer.stats, g, symmetric)
            c = len(lo)
            rows = (c + RANGES_PER_ROW - 1) // RANGES_PER_ROW
            data = np.zeros((rows * min(c, RANGES_PER_ROW), 2), np.float32)
            data[:c, 0], data[:c, 1] = lo, hi
            layer.ranges.set_data(data.reshape(rows, min(c, RANGES_PER_ROW), 2))

    def _build_boxes(self) -> None:
        parts = []
        for slab in self.layout.slabs:
            color = GENERIC_COLOR if slab.is_generic else SLAB_COLOR
            parts.append(_cube(slab.lo, slab.hi, color, skip_front=not slab.is_generic))
        if parts:
            pos = np.concatenate([p[0] for p in parts])
            nrm = np.concatenate([p[1] for p in parts])
            col = np.concatenate([p[2] for p in parts])
        else:
            pos = nrm = col = np.zeros((0, 3), np.float32)
        self._box_prog["a_position"] = pos
        self._box_prog["a_normal"] = nrm
        self._box_prog["a_color"] = col
        self._box_count = len(pos)

    def _build_edges(self) -> int:
        segs, cols = [], []
        for route in self.layout.routes:
            p = route.points.astype(np.float32)
            a, b = p[:-1], p[1:]
            seg = np.empty((2 * len(a), 3), np.float32)
            seg[0::2], seg[1::2] = a, b
            segs.append(seg)
            cols.append(
                np.tile(np.array(EDGE_COLORS.get(route.kind, EDGE_COLORS["sequential"]), np.float32), (len(seg), 1))
            )
        if not segs:
            return 0
        self._edge_prog["a_position"] = np.concatenate(segs)
        self._edge_prog["a_color"] = np.concatenate(cols)
        return int(sum(len(s) for s in segs))

    def label_texts(self) -> list[str]:
        """The text shown beside each slab: name and shown shape."""
        out = []
        for slab in self.layout.slabs:
            node = self.trace.nodes[slab.node_id]
            shape = "x".join(str(int(s)) for s in node.display.shape) if node.display is not None else node.op
            out.append(f"{node.name}  {shape}")
        return out

    def _build_labels(self) -> None:
        from vispy import gloo

        atlas = build_atlas(self.label_texts(), self.label_px)
        self._label_atlas = gloo.Texture2D(atlas.image, interpolation="linear")
        self._label_prog["u_atlas"] = self._label_atlas
        ah, aw = atlas.image.shape[:2]
        self._label_anchor = np.array(
            [[s.center[0], s.hi[1], s.front_z] for s in self.layout.slabs], np.float64
        ).reshape(-1, 3)
        self._label_extent = np.array([[r[2], r[3]] for r in atlas.rects], np.float64).reshape(-1, 2)
        self._label_rects = atlas.rects
        self._label_uv_scale = (aw, ah)
        self._label_priority = np.array([s.size[0] * s.size[1] for s in self.layout.slabs])
        self._label_prog["a_anchor"] = np.zeros((1, 3), np.float32)
        self._label_prog["a_offset"] = np.zeros((1, 2), np.float32)
        self._label_prog["a_uv"] = np.zeros((1, 2), np.float32)

    def visible_labels(self, view_projection: np.ndarray, size: tuple[int, int], scale: float = 1.0) -> np.ndarray:
        """Mask of labels drawn for this view (overlapping ones are thinned out)."""
        px, in_front = label_math.project(self._label_anchor, view_projection, size)
        return label_math.thin_labels(px, self._label_extent * scale, in_front, self._label_priority, size)

    def _label_vertices(self, keep: np.ndarray, scale: float) -> tuple[np.ndarray, ...]:
        aw, ah = self._label_uv_scale
        anchors, offsets, uvs = [], [], []
        for i in np.flatnonzero(keep):
            x, y, w, h = self._label_rects[i]
            sw, sh = w * scale, h * scale
            lift = 4.0 * scale
            quad = [
                (-sw / 2, lift),
                (sw / 2, lift),
                (sw / 2, lift + sh),
                (-sw / 2, lift),
                (sw / 2, lift + sh),
                (-sw / 2, lift + sh),
            ]
            uv = [(x, y + h), (x + w, y + h), (x + w, y), (x, y + h), (x + w, y), (x, y)]
            for (ox, oy), (u, v) in zip(quad, uv, strict=True):
                anchors.append(self._label_anchor[i])
                offsets.append((ox, oy))
                uvs.append((u / aw, v / ah))
        return (
            np.array(anchors, np.float32).reshape(-1, 3),
            np.array(offsets, np.float32).reshape(-1, 2),
            np.array(uvs, np.float32).reshape(-1, 2),
        )

    # --- drawing ------------------------------------------------------------
    def draw(self, view_projection: np.ndarray, size: tuple[int, int], pixel_scale: float = 1.0) -> None:
        """Draw the whole scene into the bound framebuffer of ``size`` pixels."""
        from vispy import gloo

        self.initialize()
        mvp = _gl_matrix(view_projection)
        gloo.set_viewport(0, 0, size[0], size[1])
        gloo.set_state(depth_test=True, blend=False, cull_face=False)
        gloo.set_clear_color(BACKGROUND)
        gloo.clear(color=True, depth=True)

        if self._box_count:
            self._box_prog["u_mvp"] = mvp
            self._box_prog.draw("triangles")

        fp = self._face_prog
        fp["u_mvp"] = mvp
        fp["u_base_color"] = tuple(SLAB_COLOR * 1.4)
        for layer in self.layers:
            s = layer.slab
            fp["u_lo"] = tuple(float(v) for v in s.lo)
            fp["u_size"] = tuple(float(v) for v in s.size)
            fp["u_activation"] = layer.activation
            fp["u_ranges"] = layer.ranges
            fp["u_channels"] = s.channels
            fp["u_cols"] = s.cols
            fp["u_pack"] = layer.plan.pack
            fp["u_depth"] = layer.plan.depth
            fp["u_tile"] = (s.tile_w, s.tile_h)
            fp["u_gap"] = s.gap
            fp.draw("triangle_strip")

        if self.show_edges and self._edge_count:
            gloo.set_state(blend=True, blend_func=("src_alpha", "one_minus_src_alpha"), depth_test=True)
            gloo.set_line_width(max(1.0, pixel_scale * 1.5))
            self._edge_prog["u_mvp"] = mvp
            self._edge_prog.draw("lines")

        if self.show_labels and self.layout.slabs:
            keep = self.visible_labels(view_projection, size, pixel_scale)
            anchors, offsets, uvs = self._label_vertices(keep, pixel_scale)
            if len(anchors):
                gloo.set_state(blend=True, blend_func=("one", "one_minus_src_alpha"), depth_test=False)
                lp = self._label_prog
                lp["a_anchor"], lp["a_offset"], lp["a_uv"] = anchors, offsets, uvs
                lp["u_mvp"] = mvp
                lp["u_viewport"] = (float(size[0]), float(size[1]))
                lp.draw("triangles")
        gloo.set_state(blend=False, depth_test=True)

    def texture_bytes(self) -> int:
        """Bytes of activation texture memory (what the GL driver holds for them)."""
        per = 4 if self.texture_format == "r32f" else 2
        return sum(layer.plan.texel_count * per for layer in self.layers)


def activation_bytes(trace: Trace) -> int:
    """Bytes of the shown activations in float32."""
    return sum(int(n.display.numel()) * 4 for n in trace.nodes if n.display is not None)
