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
from viz3d.capture.weights import mean_abs_activation
from viz3d.errors import Viz3dError
from viz3d.gpu import TexturePlan, pack_for_texture, plan_texture, select_uploader
from viz3d.layout import Layout, SlabLayout
from viz3d.layout.connections import ConnectionSet, apply_budget, graph_connections
from viz3d.render.connections import ConnectionBatch
from viz3d.render.face_pass import FaceItem, FacePass
from viz3d.render.labels import LabelLayer
from viz3d.render.shaders import load_shader
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
# Segments drawn at most per frame: keeps llvmpipe interactive; a GPU can take
# far more (set SceneRenderer.connection_budget).
CONNECTION_BUDGET = 20_000
TEXTURE_FORMATS = ("r32f", "r16f")


@dataclass
class LayerTextures:
    """GL resources of one layer (they outlive layout changes)."""

    node_id: int
    plan: TexturePlan
    activation: Any  # gloo.Texture3D
    ranges: Any  # gloo.Texture2D, per-channel (lo, hi)
    stats: ChannelStats


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


def _box_outline(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The 12 edges of a box as 24 line endpoints."""
    c = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    pairs = [(0, 1), (2, 3), (4, 5), (6, 7), (0, 2), (1, 3), (4, 6), (5, 7), (0, 4), (1, 5), (2, 6), (3, 7)]
    return np.array([c[i] for p in pairs for i in p], np.float32)


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
        # Connection kinds drawn: "graph" (dataflow), "rf" (receptive field), "weights".
        self.connection_kinds: set[str] = {"graph"} if edges else set()
        self.connection_budget = CONNECTION_BUDGET
        self.connections: dict[str, list[ConnectionSet]] = {}
        self.thinned: tuple[int, int] = (0, 0)  # (drawn, total) curves after the budget
        self._batches: dict[tuple[str, int], ConnectionBatch] = {}
        self.label_px = label_px
        self._colormap = ""
        self._normalization = ""
        self._max_texture_size = max_texture_size
        self._upload_request = upload
        self.uploader: Any = None
        self._upload_reason = "not initialized"
        self._flow: dict[int, float] | None = None  # mean |activation| per node, for edge widths
        self.layers: list[LayerTextures] = []
        self.cut_z = float("inf")  # hide everything with a larger z (nearer the input)
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
    def _lut_data(self, name: str | None = None) -> np.ndarray:
        lut = colormap_lut(name or self._colormap)
        return np.concatenate([lut, np.full((256, 1), 255, np.uint8)], axis=1)[None]

    def _lut_for(self, node_id: int) -> Any:
        """The LUT texture a layer uses: its own colormap (weights mode) or the view's."""
        name = self.trace.nodes[node_id].display_colormap
        if name is None:
            return self._lut
        if name not in self._fixed_luts:
            from vispy import gloo

            self._fixed_luts[name] = gloo.Texture2D(
                self._lut_data(name), interpolation="nearest", internalformat="rgba8"
            )
        return self._fixed_luts[name]

    def initialize(self) -> None:
        """Create programs, buffers and textures; needs a current GL context."""
        from vispy import gloo

        from viz3d.render.context import gl_limits

        if self._gl_ready:
            return
        self.canvas = gloo.get_current_canvas()  # the context that owns every object below
        if self.canvas is None:
            raise Viz3dError("SceneRenderer needs a current GL canvas (use viz3d.render or a ViewerWindow)")
        limit = self._max_texture_size or gl_limits()["max_3d_texture_size"]
        from viz3d.render.context import gl_info

        devices = [n.display.device for n in self.trace.nodes if n.display is not None]
        self.uploader, self._upload_reason = select_uploader(
            self._upload_request, devices[0] if devices else None, gl_info()["vendor"], self.texture_format
        )
        quad = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], np.float32)
        self._lut = gloo.Texture2D(self._lut_data(), interpolation="nearest", internalformat="rgba8")
        self._fixed_luts: dict[str, Any] = {}
        self._face_prog = gloo.Program(load_shader("slab_face.vert"), load_shader("slab_face.frag"))
        self._face_corners = gloo.VertexBuffer(quad)
        self._face_prog["a_corner"] = self._face_corners
        self._face_pass = FacePass(self._face_prog, self._face_corners, self.canvas)
        self._face_pick_prog = gloo.Program(load_shader("slab_face.vert"), load_shader("slab_pick.frag"))
        self._face_pick_prog["a_corner"] = quad
        self._volume_prog = gloo.Program(load_shader("slab_volume.vert"), load_shader("slab_volume.frag"))
        self._volume_prog["a_corner"] = unit_cube()[0]
        self._volume_prog["u_lut"] = self._lut
        self._box_prog = gloo.Program(load_shader("slab_box.vert"), load_shader("slab_box.frag"))
        self._box_pick_prog = gloo.Program(load_shader("box_pick.vert"), load_shader("box_pick.frag"))
        self._edge_prog = gloo.Program(load_shader("edge.vert"), load_shader("edge.frag"))
        self._highlight_prog = gloo.Program(load_shader("edge.vert"), load_shader("edge.frag"))
        self._flag_prog = gloo.Program(load_shader("edge.vert"), load_shader("edge.frag"))
        self._chart_prog = gloo.Program(load_shader("slab_box.vert"), load_shader("slab_box.frag"))
        self._flag_count = self._chart_count = 0
        self._labels = LabelLayer(self.label_px)
        self._highlight_count = 0

        for node in self.trace.nodes:
            if node.display is None:
                continue
            c, h, w = (int(v) for v in node.display.shape)
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
            self.layers.append(LayerTextures(node.id, plan, tex, ranges, empty))
        self._layer_by_node = {layer.node_id: layer for layer in self.layers}
        self._gl_ready = True
        self._build_geometry()
        self._upload_activations(self.trace)

    @property
    def upload_reason(self) -> str:
        """Which upload path the renderer uses, and why."""
        failure = getattr(self.uploader, "failure", None)
        return f"host path: {failure}" if failure else self._upload_reason

    def layer_for(self, node_id: int) -> LayerTextures | None:
        """GL resources of a node's layer (None for generic boxes)."""
        return self._layer_by_node.get(node_id) if self._gl_ready else None

    def set_layout(self, layout: Layout) -> None:
        """Show the same layers in another arrangement (tile/volume mode); textures are kept."""
        self.layout = layout
        if self._gl_ready:
            self._build_geometry()

    def update_activations(self, trace: Trace) -> None:
        """Upload new activations of the same network (same shapes) and recompute statistics."""
        if not self._gl_ready:
            self.trace, self._flow = trace, None
            return
        self._upload_activations(trace)
        self._flow = mean_abs_activation(trace)  # widths follow the new input's activations
        self._build_graph_connections()

    def _upload_activations(self, trace: Trace) -> None:
        displays = []
        for layer in self.layers:
            node = trace.nodes[layer.node_id]
            if node.display is None or int(node.display.shape[0]) != layer.plan.channels:
                raise Viz3dError(f"layer {node.name} changed shape; capture the same network to update a view")
            displays.append(node.display)
        for layer, stats in zip(self.layers, self.uploader.stats(displays), strict=True):
            layer.stats = stats
        items = [(la.activation, pack_for_texture(d, la.plan)) for la, d in zip(self.layers, displays, strict=True)]
        self.uploader.upload_all(items, self.canvas)
        self.trace = trace
        self._update_ranges()

    def _update_ranges(self) -> None:
        stats = [layer.stats for layer in self.layers]
        g = global_range(stats)
        for layer in self.layers:
            node = self.trace.nodes[layer.node_id]
            mode = node.display_norm or self._normalization
            colormap = node.display_colormap or self._colormap
            symmetric = colormap in DIVERGING or mode == "symmetric"
            layer_stats = layer.stats
            if node.display_rgb:
                # One range per colour tile: the min and max over its three channels.
                lo3 = layer_stats.minimum.reshape(-1, 3).min(axis=1).repeat(3)
                hi3 = layer_stats.maximum.reshape(-1, 3).max(axis=1).repeat(3)
                layer_stats = ChannelStats(lo3, hi3, layer_stats.mean, layer_stats.nonfinite)
            lo, hi = value_range("layer" if mode == "symmetric" else mode, layer_stats, g, symmetric)
            c = len(lo)
            rows = (c + RANGES_PER_ROW - 1) // RANGES_PER_ROW
            data = np.zeros((rows * min(c, RANGES_PER_ROW), 2), np.float32)
            data[:c, 0], data[:c, 1] = lo, hi
            layer.ranges.set_data(data.reshape(rows, min(c, RANGES_PER_ROW), 2))

    def _build_geometry(self) -> None:
        self._build_boxes()
        self._edge_count = self._build_edges()
        self._labels.build(self.layout.slabs, self.label_texts())
        self._build_graph_connections()

    def _build_graph_connections(self) -> None:
        """Dataflow bundles and skip arcs, as wide as the mean |activation| flowing along them.

        The flow is computed once per set of activations, not again when only the layout changes.
        """
        if self._flow is None:
            self._flow = mean_abs_activation(self.trace)
        lines, arcs = graph_connections(self.layout, self._flow)
        self.set_connections("graph", [lines, arcs])

    def _build_boxes(self) -> None:
        """Shaded boxes (slab sides; whole boxes for generic ops) and their picking twins."""
        volume = self.layout.mode == "volume"
        pos, nrm, col, pick_pos, pick_lay, outline = [], [], [], [], [], []
        for slab in self.layout.slabs:
            color = GENERIC_COLOR if slab.is_generic else SLAB_COLOR
            if volume and not slab.is_generic:
                outline.append(_box_outline(slab.lo, slab.hi))
            else:
                corners, normals = unit_cube(skip_front=not slab.is_generic)
                pos.append(slab.lo + corners * slab.size)
                nrm.append(normals)
                col.append(np.tile(color, (len(corners), 1)))
            pc = unit_cube(skip_front=not (slab.is_generic or volume))[0]
            pick_pos.append(slab.lo + pc * slab.size)
            pick_lay.append(np.full(len(pc), slab.node_id))

        def cat(parts: list[np.ndarray], width: int) -> np.ndarray:
            return np.concatenate(parts).astype(np.float32) if parts else np.zeros((0, width), np.float32)

        self._box_count = sum(len(p) for p in pos)
        if self._box_count:
            self._box_prog["a_position"] = cat(pos, 3)
            self._box_prog["a_normal"] = cat(nrm, 3)
            self._box_prog["a_color"] = cat(col, 3)
        self._box_pick_prog["a_position"] = cat(pick_pos, 3)
        self._box_pick_prog["a_layer"] = cat(pick_lay, 1).reshape(-1)
        self._outline = cat(outline, 3)

    def _build_edges(self) -> int:
        """Box outlines (volume mode), drawn as plain lines."""
        if not len(self._outline):
            return 0
        self._edge_prog["a_position"] = self._outline
        self._edge_prog["a_color"] = np.tile(np.array([0.55, 0.6, 0.7, 0.6], np.float32), (len(self._outline), 1))
        return len(self._outline)

    # --- connections ------------------------------------------------------------
    @property
    def show_edges(self) -> bool:
        return "graph" in self.connection_kinds

    @show_edges.setter
    def show_edges(self, value: bool) -> None:
        self.set_kind_visible("graph", value)

    def set_kind_visible(self, kind: str, visible: bool) -> None:
        """Show or hide one connection kind."""
        (self.connection_kinds.add if visible else self.connection_kinds.discard)(kind)
        self._sync_connections()

    def set_connections(self, kind: str, sets: list[ConnectionSet]) -> None:
        """Replace the curves of one kind (e.g. a new receptive-field cone)."""
        self.connections[kind] = sets
        self._sync_connections()

    def _sync_connections(self) -> None:
        """Apply the budget over the visible kinds (strongest first) and upload what is drawn."""
        if not self._gl_ready:
            return
        keys = [(k, s.segments) for k in sorted(self.connection_kinds) for s in self.connections.get(k, [])]
        sets = [s for k in sorted(self.connection_kinds) for s in self.connections.get(k, [])]
        kept = apply_budget(sets, self.connection_budget)
        self.thinned = (sum(len(s) for s in kept), sum(s.total for s in sets))
        for key in list(self._batches):
            if key not in keys:
                self._batches.pop(key).delete()
        for key, subset in zip(keys, kept, strict=True):
            batch = self._batches.get(key)
            if batch is None:
                batch = self._batches[key] = ConnectionBatch(key[1])
            batch.set(subset)

    def set_highlight(self, segments: np.ndarray | None, color: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0)) -> None:
        """Bright line segments (pairs of points) drawn over the scene, e.g. around the selected tile."""
        if segments is None or len(segments) == 0:
            self._highlight_count = 0
            return
        self.initialize()
        seg = np.asarray(segments, np.float32).reshape(-1, 3)
        self._highlight_prog["a_position"] = seg
        self._highlight_prog["a_color"] = np.tile(np.array(color, np.float32), (len(seg), 1))
        self._highlight_count = len(seg)

    def set_charts(self, lo: np.ndarray, hi: np.ndarray, rgb: np.ndarray) -> None:
        """Shaded boxes (histogram bars) drawn with the scene; empty arrays remove them."""
        self.initialize()
        self._chart_count = 0
        if len(lo) == 0:
            return
        corners, normals = unit_cube()
        pos = (lo[:, None, :] + corners[None] * (hi - lo)[:, None, :]).reshape(-1, 3)
        self._chart_prog["a_position"] = pos.astype(np.float32)
        self._chart_prog["a_normal"] = np.tile(normals, (len(lo), 1)).astype(np.float32)
        self._chart_prog["a_color"] = np.repeat(rgb, len(corners), axis=0).astype(np.float32)
        self._chart_count = len(pos)

    def set_flags(self, segments: np.ndarray, rgba: np.ndarray) -> None:
        """Coloured outlines (segment endpoint pairs, one RGBA per segment) for flagged channels."""
        self.initialize()
        self._flag_count = 0
        if len(segments) == 0:
            return
        self._flag_prog["a_position"] = np.asarray(segments, np.float32).reshape(-1, 3)
        self._flag_prog["a_color"] = np.repeat(np.asarray(rgba, np.float32), 2, axis=0)
        self._flag_count = len(segments)

    def label_texts(self) -> list[str]:
        """The text shown beside each slab: name and shown shape."""
        out = []
        for slab in self.layout.slabs:
            node = self.trace.nodes[slab.node_id]
            if node.display is None:
                detail = "" if node.op == node.name else node.op
            elif node.display_rgb or node.grid_cols or node.display_colormap:
                detail = node.display_note  # weights: "16 filters 5x5, RGB", "32x16 kernels 3x3"
            else:
                detail = "x".join(str(int(s)) for s in node.display.shape)
            out.append(f"{node.name}  {detail}".strip())
        return out

    # --- drawing ------------------------------------------------------------
    @staticmethod
    def _bind_slab(prog: Any, slab: SlabLayout) -> None:
        prog["u_lo"] = tuple(float(v) for v in slab.lo)
        prog["u_size"] = tuple(float(v) for v in slab.size)
        prog["u_channels"] = slab.channels

    @staticmethod
    def _bind_tiles(prog: Any, slab: SlabLayout) -> None:
        prog["u_cols"] = slab.cols
        prog["u_tile"] = (slab.tile_w, slab.tile_h)
        prog["u_gap"] = slab.gap

    @staticmethod
    def _bind_data(prog: Any, layer: LayerTextures) -> None:
        prog["u_activation"] = layer.activation
        prog["u_ranges"] = layer.ranges
        prog["u_pack"] = layer.plan.pack
        prog["u_depth"] = layer.plan.depth

    def draw(
        self,
        view_projection: np.ndarray,
        size: tuple[int, int],
        pixel_scale: float = 1.0,
        eye: np.ndarray | None = None,
    ) -> None:
        """Draw the whole scene into the bound framebuffer of ``size`` pixels.

        ``eye`` (the camera position) is used in volume mode for the rays;
        it is recovered from the matrix when omitted.
        """
        from vispy import gloo

        self.initialize()
        mvp = _gl_matrix(view_projection)
        gloo.set_viewport(0, 0, size[0], size[1])
        gloo.set_state(depth_test=True, blend=False, cull_face=False)
        gloo.set_depth_mask(True)
        gloo.set_clear_color(BACKGROUND)
        gloo.clear(color=True, depth=True)

        cut = min(self.cut_z, 3.0e38)
        for prog in (self._box_prog, self._edge_prog, self._highlight_prog, self._flag_prog, self._chart_prog):
            prog["u_cut_z"] = cut
        shown = [s for s in self.layout.slabs if s.front_z <= self.cut_z]
        if self._box_count:
            self._box_prog["u_mvp"] = mvp
            self._box_prog.draw("triangles")
        if self._chart_count:
            self._chart_prog["u_mvp"] = mvp
            self._chart_prog.draw("triangles")

        volume = self.layout.mode == "volume"
        if not volume:
            faces = []
            for slab in shown:
                layer = self.layer_for(slab.node_id)
                if layer is not None:
                    node = self.trace.nodes[slab.node_id]
                    lut = self._lut_for(slab.node_id)
                    plan = layer.plan
                    faces.append(
                        FaceItem(slab, layer.activation, layer.ranges, lut, plan.pack, plan.depth, node.display_rgb)
                    )
            self._face_pass.draw(mvp, tuple(SLAB_COLOR * 1.4), faces)

        if self._batches or self._edge_count:
            gloo.set_state(blend=True, blend_func=("src_alpha", "one_minus_src_alpha"), depth_test=True)
            gloo.set_depth_mask(False)
            for batch in self._batches.values():
                batch.draw(mvp, size, pixel_scale, cut)
            if self._edge_count:
                gloo.set_line_width(max(1.0, pixel_scale))
                self._edge_prog["u_mvp"] = mvp
                self._edge_prog.draw("lines")
            gloo.set_depth_mask(True)

        if volume:
            self._draw_volumes(mvp, view_projection, eye, shown)

        if self._flag_count:
            gloo.set_state(blend=False, depth_test=True)
            gloo.set_line_width(max(1.5, pixel_scale * 2.0))
            self._flag_prog["u_mvp"] = mvp
            self._flag_prog.draw("lines")
        if self._highlight_count:
            gloo.set_state(blend=False, depth_test=False)
            gloo.set_line_width(max(2.0, pixel_scale * 2.5))
            self._highlight_prog["u_mvp"] = mvp
            self._highlight_prog.draw("lines")

        if self.show_labels:
            self._labels.draw(mvp, view_projection, size, pixel_scale, self.cut_z)
        gloo.set_state(blend=False, depth_test=True, cull_face=False)
        gloo.set_depth_mask(True)

    def _draw_volumes(
        self, mvp: np.ndarray, view_projection: np.ndarray, eye: np.ndarray | None, shown: list[SlabLayout]
    ) -> None:
        from vispy import gloo

        if eye is None:
            # The eye is where every view ray starts: unproject two depths at the centre.
            inv = np.linalg.inv(view_projection)
            a, b = inv @ np.array([0.0, 0.0, -1.0, 1.0]), inv @ np.array([0.0, 0.0, 0.0, 1.0])
            a, b = a[:3] / a[3], b[:3] / b[3]
            eye = a - (b - a) * 1e3
        prog = self._volume_prog
        prog["u_mvp"] = mvp
        prog["u_eye"] = tuple(float(v) for v in eye)
        gloo.set_state(blend=True, blend_func=("one", "one_minus_src_alpha"), depth_test=True, cull_face=True)
        gloo.set_cull_face("back")
        gloo.set_depth_mask(False)
        slabs = [s for s in shown if self.layer_for(s.node_id) is not None]
        # Back to front, so the translucent blocks composite correctly.
        slabs.sort(key=lambda s: -float(np.linalg.norm(s.center - eye)))
        for slab in slabs:
            layer = self.layer_for(slab.node_id)
            assert layer is not None
            self._bind_slab(prog, slab)
            self._bind_data(prog, layer)
            prog["u_lut"] = self._lut_for(slab.node_id)
            prog["u_channels"] = layer.plan.channels  # volume depth: every channel, colour tiles too
            prog["u_density"] = 10.0 / max(float(min(slab.size)), 1e-3)
            prog.draw("triangles")
        gloo.set_depth_mask(True)

    def slabs_under(self, view_projection: np.ndarray, size: tuple[int, int], pixel: tuple[int, int]) -> list[int]:
        """Indices of slabs whose projected bounding box covers ``pixel`` (x, y down)."""
        slabs = self.layout.slabs
        if not slabs:
            return []
        lo = np.array([s.lo for s in slabs])
        hi = np.array([s.hi for s in slabs])
        bits = np.array([[i >> 2 & 1, i >> 1 & 1, i & 1] for i in range(8)], float)
        corners = lo[:, None, :] + bits[None] * (hi - lo)[:, None, :]
        px, in_front = label_math.project(corners.reshape(-1, 3), view_projection, size)
        px = px.reshape(len(slabs), 8, 2)
        in_front = in_front.reshape(len(slabs), 8)
        x, y = pixel
        # A box partly behind the eye may cover the pixel anywhere: keep it.
        covers = (px[..., 0].min(1) <= x + 1) & (px[..., 0].max(1) >= x - 1)
        covers &= (px[..., 1].min(1) <= y + 1) & (px[..., 1].max(1) >= y - 1)
        return [int(i) for i in np.flatnonzero(covers | ~in_front.all(1))]

    def draw_pick(
        self, view_projection: np.ndarray, size: tuple[int, int], pixel: tuple[int, int] | None = None
    ) -> None:
        """Draw (layer + 1, channel, y, x) ids into the bound float framebuffer.

        With ``pixel`` (x, y down) only slabs that can cover it are drawn: a
        pick then costs a handful of draw calls whatever the network's size.
        """
        from vispy import gloo

        self.initialize()
        mvp = _gl_matrix(view_projection)
        gloo.set_viewport(0, 0, size[0], size[1])
        gloo.set_state(depth_test=True, blend=False, cull_face=False)
        gloo.set_clear_color((0.0, 0.0, 0.0, 0.0))
        gloo.clear(color=True, depth=True)
        self._box_pick_prog["u_mvp"] = mvp
        self._box_pick_prog["u_cut_z"] = min(self.cut_z, 3.0e38)
        self._box_pick_prog.draw("triangles")
        if self.layout.mode == "volume":
            return
        fp = self._face_pick_prog
        fp["u_mvp"] = mvp
        candidates = (
            self.layout.slabs
            if pixel is None
            else [self.layout.slabs[i] for i in self.slabs_under(view_projection, size, pixel)]
        )
        for slab in candidates:
            if slab.front_z > self.cut_z:
                continue
            node = self.trace.nodes[slab.node_id]
            if slab.is_generic or node.display is None:
                continue
            self._bind_slab(fp, slab)
            self._bind_tiles(fp, slab)
            fp["u_layer"] = float(slab.node_id)
            fp["u_map_size"] = (float(node.display.shape[1]), float(node.display.shape[2]))
            fp.draw("triangle_strip")

    def delete(self) -> None:
        """Free every GL object of this renderer (its context must be current)."""
        if not self._gl_ready:
            return
        self.uploader.release()  # CUDA registrations go before the GL objects they refer to
        self._labels.delete()
        objects = [self._lut, *self._fixed_luts.values()]
        objects += [t for layer in self.layers for t in (layer.activation, layer.ranges)]
        objects += [
            self._face_prog,
            self._face_corners,
            self._face_pick_prog,
            self._volume_prog,
            self._box_prog,
            self._box_pick_prog,
            self._edge_prog,
            self._highlight_prog,
            self._flag_prog,
            self._chart_prog,
        ]
        for obj in objects:
            obj.delete()
        for batch in self._batches.values():
            batch.delete()
        self._batches = {}
        self.layers = []
        self._layer_by_node = {}
        self._gl_ready = False

    def texture_bytes(self) -> int:
        """Bytes of activation texture memory (what the GL driver holds for them)."""
        per = 4 if self.texture_format == "r32f" else 2
        return sum(layer.plan.texel_count * per for layer in self.layers)


def activation_bytes(trace: Trace) -> int:
    """Bytes of the shown activations in float32."""
    return sum(int(n.display.numel()) * 4 for n in trace.nodes if n.display is not None)
