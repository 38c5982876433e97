"""Draw a laid-out Trace: one object that sets up the passes, orders them, and tears them down.

The renderer reads the Trace and the Layout and never changes them. Each
kind of thing drawn is its own module: layer textures (upload and ranges),
slab faces, boxes, connection curves, lines (outlines, flags, highlight),
volume blocks, labels, and the pick pass. The renderer decides nothing about
what to show: a :class:`~viz3d.renderer.scene_view.SceneView` feeds it the
session's state.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from viz3d.capture.trace import Node, Trace
from viz3d.errors import Viz3dError
from viz3d.layout import Layout
from viz3d.layout.connections import ConnectionSet
from viz3d.layout.panel import PanelQuad
from viz3d.renderer.boxes import SLAB_COLOR, BoxLayer
from viz3d.renderer.connections import ConnectionLayer
from viz3d.renderer.face_pass import FaceItem, FacePass, default_filter_taps, slab_rows
from viz3d.renderer.geometry import face_corners, gl_matrix, quads_in_view
from viz3d.renderer.labels import LabelLayer
from viz3d.renderer.layer_textures import LayerTextures, LayerTextureSet
from viz3d.renderer.lines import LineBatch
from viz3d.renderer.picking import PickPass
from viz3d.renderer.prediction import PredictionPanel
from viz3d.renderer.volume_pass import VolumePass, eye_from
from viz3d.scene.colormaps import COLORMAPS, DIVERGING
from viz3d.scene.normalization import NORMALIZATIONS
from viz3d.session.options import CONNECTION_BUDGET, TEXTURE_FORMATS
from viz3d.session.prediction import Prediction

BACKGROUND = (0.075, 0.08, 0.095, 1.0)
OUTLINE_RGBA = (0.55, 0.6, 0.7, 0.6)
HIGHLIGHT_RGBA = (1.0, 1.0, 1.0, 1.0)


class SceneRenderer:
    """Renders one Trace with its Layout into the current GL context.

    Parameters
    ----------
    trace, layout
        What to draw and where.
    colormap, normalization
        The view's colour mapping (layers with their own keep theirs).
    texture_format
        ``"r32f"`` or ``"r16f"`` (half the texture memory).
    max_texture_size
        Override the GL limit on 3D texture sides (tests use it to force packing).
    texture_budget
        Bytes the activation textures may take (``"auto"``: sized to the GL
        implementation's memory; None: no limit); past it layers take R16F
        or are downsampled (see :mod:`viz3d.gpu.budget`).
    labels
        Draw layer names.
    upload
        ``"auto"``, ``"host"``, ``"cuda"`` or None (``VIZ3D_UPLOAD``).
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
        upload: str | None = None,
        label_px: int = 15,
        texture_budget: int | str | None = "auto",
    ) -> None:
        if texture_format not in TEXTURE_FORMATS:
            raise Viz3dError(f"unknown texture format {texture_format!r}; use one of {', '.join(TEXTURE_FORMATS)}")
        if colormap not in COLORMAPS:
            raise Viz3dError(f"unknown colormap {colormap!r}; choose one of {', '.join(COLORMAPS)}")
        if normalization not in NORMALIZATIONS:
            raise Viz3dError(f"unknown normalization {normalization!r}; choose one of {', '.join(NORMALIZATIONS)}")
        self.trace = trace
        self.layout = layout
        self.texture_format = texture_format
        self.show_labels = labels
        self.colormap = colormap
        self.normalization = normalization
        self.label_px = label_px
        self.connection_budget = CONNECTION_BUDGET
        self.connections: dict[str, list[ConnectionSet]] = {}  # what is asked to be drawn, by kind
        self.cut_z = float("inf")  # hide everything with a larger z (nearer the input)
        # Far tiles averaged over each pixel's footprint, at most this many samples an axis (1: one a
        # pixel); None until the GL is known: 4 on a GPU, 2 on software GL (see face_pass).
        self.filter_taps: int | None = None
        self._max_texture_size = max_texture_size
        self._texture_budget = texture_budget
        self._upload_request = upload
        self._gl_ready = False

    # --- set-up -------------------------------------------------------------
    def initialize(self) -> None:
        """Create every pass and upload the activations; needs a current GL context."""
        from vispy import gloo

        if self._gl_ready:
            return
        self.canvas = gloo.get_current_canvas()  # the context that owns every object below
        if self.canvas is None:
            raise Viz3dError("SceneRenderer needs a current GL canvas (use viz3d.render or a ViewerWindow)")
        self.textures = LayerTextureSet(
            self.trace,
            self.texture_format,
            self._max_texture_size,
            self._upload_request,
            self.canvas,
            self._texture_budget,
        )
        if self.filter_taps is None:
            from viz3d.renderer.context import gl_info

            self.filter_taps = default_filter_taps(gl_info()["renderer"])
        self.textures.set_colormap(self.colormap)
        self._faces = FacePass(self.canvas)
        self._face_items: list[FaceItem] = []
        self._face_fronts = np.zeros(0)
        self._face_corners = np.zeros((0, 4, 4))
        self._boxes = BoxLayer()
        self._curves = ConnectionLayer()
        self._outlines = LineBatch(1.0, 1.0, blend=True)
        self._flags = LineBatch(1.5, 2.0)
        self._highlight = LineBatch(2.0, 2.5, on_top=True)
        self._volumes = VolumePass()
        self._pick = PickPass()
        self._labels = LabelLayer(self.label_px)
        self._panel = PredictionPanel(self.canvas)
        self._gl_ready = True
        self._build_geometry()
        self._curves.set(self.connections, self.connection_budget)  # curves given before GL existed
        self.textures.upload(self.trace)
        self._build_faces()  # the budget may have changed the layers' plans
        self._update_ranges()

    @property
    def uploader(self) -> Any:
        return self.textures.uploader if self._gl_ready else None

    @property
    def upload_reason(self) -> str:
        """Which upload path the renderer uses, and why."""
        return self.textures.upload_reason if self._gl_ready else "not initialized"

    @property
    def layers(self) -> list[LayerTextures]:
        return self.textures.layers if self._gl_ready else []

    def layer_for(self, node_id: int) -> LayerTextures | None:
        """GL resources of a node's layer (None for generic boxes)."""
        return self.textures.layer_for(node_id) if self._gl_ready else None

    @property
    def budget_note(self) -> str:
        """What the texture budget changed ("3 layers in R16F, 2 downsampled"), or "" when nothing."""
        return self.textures.budget_note if self._gl_ready else ""

    @property
    def thinned(self) -> tuple[int, int]:
        """(drawn, total) connection curves after the budget."""
        return self._curves.thinned if self._gl_ready else (0, 0)

    # --- settings -----------------------------------------------------------------
    def set_colormap(self, name: str) -> None:
        if name not in COLORMAPS:
            raise Viz3dError(f"unknown colormap {name!r}; choose one of {', '.join(COLORMAPS)}")
        was_diverging = self.colormap in DIVERGING
        self.colormap = name
        if self._gl_ready:
            self.textures.set_colormap(name)
            if was_diverging != (name in DIVERGING):
                self._update_ranges()

    def set_normalization(self, mode: str) -> None:
        if mode not in NORMALIZATIONS:
            raise Viz3dError(f"unknown normalization {mode!r}; choose one of {', '.join(NORMALIZATIONS)}")
        self.normalization = mode
        if self._gl_ready:
            self._update_ranges()

    def set_layout(self, layout: Layout) -> None:
        """Show the same layers in another arrangement (tile/volume mode); textures are kept."""
        self.layout = layout
        if self._gl_ready:
            self._build_geometry()

    def update_activations(self, trace: Trace) -> None:
        """Upload new values of the same network (same shapes) and recompute statistics and ranges."""
        self.trace = trace
        if self._gl_ready:
            self.textures.upload(trace)
            self._build_faces()
            self._update_ranges()

    def set_connections(self, sets_by_kind: dict[str, list[ConnectionSet]]) -> None:
        """The curves to draw, by kind (every kind given is visible), thinned to the budget."""
        self.connections = dict(sets_by_kind)
        if self._gl_ready:
            self._curves.set(self.connections, self.connection_budget)

    def set_highlight(self, segments: np.ndarray | None) -> None:
        """Bright line segments (pairs of points) drawn over the scene, e.g. around the selected tile."""
        self.initialize()
        self._highlight.set(segments, HIGHLIGHT_RGBA)

    def set_prediction(self, prediction: Prediction | None, quad: PanelQuad | None, selected: int | None) -> None:
        """The answer panel: ``prediction`` drawn on ``quad`` (None: no panel), class ``selected`` outlined."""
        self.initialize()
        self._panel.set(prediction, quad, selected)
        self._labels.set_obstacles(None if prediction is None or quad is None else quad.corners())

    def set_charts(self, lo: np.ndarray, hi: np.ndarray, rgb: np.ndarray) -> None:
        """Shaded boxes (histogram bars) drawn with the scene; empty arrays remove them."""
        self.initialize()
        self._boxes.set_charts(lo, hi, rgb)

    def set_flags(self, segments: np.ndarray, rgba: np.ndarray) -> None:
        """Coloured outlines (segment endpoint pairs, one RGBA per segment) for flagged channels."""
        self.initialize()
        self._flags.set(segments, rgba)

    def _update_ranges(self) -> None:
        self.textures.update_ranges(self.trace, self.colormap, self.normalization)

    def _build_geometry(self) -> None:
        outline = self._boxes.build(self.layout)
        self._outlines.set(outline, OUTLINE_RGBA)
        self._labels.build(self.layout.slabs, self.label_texts())
        self._build_faces()

    def _build_faces(self) -> None:
        """The slab table and the face list, once per layout or upload rather than per frame."""
        items: list[FaceItem] = []
        rows: list[tuple[Any, int, int, bool]] = []
        fronts: list[float] = []
        shown: list[int] = []
        for i, slab in enumerate(self.layout.slabs):
            layer = self.layer_for(slab.node_id)
            if layer is not None:
                node = self.trace.nodes[slab.node_id]
                shown.append(i)
                items.append(FaceItem(len(rows), layer, self.textures.lut_for(node)))
                rows.append((slab, layer.plan.pack, layer.plan.depth, node.display_rgb))
                fronts.append(slab.front_z)
        slabs, packs, depths, rgb = zip(*rows, strict=True) if rows else ((), (), (), ())
        self._faces.set_slabs(slab_rows(slabs, packs, depths, rgb))
        self._face_items, self._face_fronts = items, np.array(fronts, float)
        self._face_corners = face_corners([self.layout.slabs[i] for i in shown])

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
                if node.kind == "slice":
                    detail = f"{node.op} {detail}"  # which part of its source: split[:, 3:] 5x8x8
                layers = folded_layers(node)
                if layers:
                    detail = f"{node.op} ({layers} layers, O opens)  {detail}"  # a folded block
            out.append(f"{node.name}  {detail}".strip())
        return out

    # --- drawing: the order of the passes ------------------------------------------------
    def draw(
        self,
        view_projection: np.ndarray,
        size: tuple[int, int],
        pixel_scale: float = 1.0,
        eye: np.ndarray | None = None,
        keep_out: Sequence[tuple[float, float, float, float]] = (),
        moving: bool = False,
    ) -> None:
        """Draw the whole scene into the bound framebuffer of ``size`` pixels.

        ``eye`` (the camera position) is used in volume mode for the rays;
        it is recovered from the matrix when omitted. No label is drawn
        under a ``keep_out`` rectangle (device pixels: panels drawn on top).
        ``moving`` (the view is being dragged or flown) draws faces with one
        sample a pixel, the prefilter's cost going to the still frame after,
        and lets a label decision serve a few frames.
        """
        from vispy import gloo

        self.initialize()
        mvp = gl_matrix(view_projection)
        gloo.set_viewport(0, 0, size[0], size[1])
        gloo.set_state(depth_test=True, blend=False, cull_face=False)
        gloo.set_depth_mask(True)
        gloo.set_clear_color(BACKGROUND)
        gloo.clear(color=True, depth=True)
        cut = min(self.cut_z, 3.0e38)
        self._boxes.draw(mvp, cut)
        volume = self.layout.mode == "volume"
        if not volume:
            # Faces wholly off-screen cost a draw each and show nothing: a close view of a deep network skips most.
            keep = quads_in_view(self._face_corners, view_projection)
            if self.cut_z != float("inf"):
                keep &= self._face_fronts <= self.cut_z
            taps = 1 if moving else (self.filter_taps or 1)
            self._faces.draw(mvp, tuple(SLAB_COLOR * 1.4), self._face_items, keep, taps)
        self._panel.draw(mvp)
        if not self._curves.empty:
            gloo.set_state(blend=True, blend_func=("src_alpha", "one_minus_src_alpha"), depth_test=True)
            gloo.set_depth_mask(False)
            self._curves.draw(mvp, size, pixel_scale, cut)
            gloo.set_depth_mask(True)
        self._outlines.draw(mvp, pixel_scale, cut)
        if volume:
            shown = [s for s in self.layout.slabs if s.front_z <= self.cut_z]
            items = [(s, layer) for s in shown if (layer := self.layer_for(s.node_id)) is not None]
            eye_at = eye if eye is not None else eye_from(view_projection)
            self._volumes.draw(mvp, eye_at, items, lambda node_id: self.textures.lut_for(self.trace.nodes[node_id]))
        self._flags.draw(mvp, pixel_scale, cut)
        self._highlight.draw(mvp, pixel_scale, cut)
        if self.show_labels:
            self._labels.draw(mvp, view_projection, size, pixel_scale, self.cut_z, keep_out, moving)
        gloo.set_state(blend=False, depth_test=True, cull_face=False)
        gloo.set_depth_mask(True)

    def draw_pick(
        self, view_projection: np.ndarray, size: tuple[int, int], pixel: tuple[int, int] | None = None
    ) -> None:
        """Draw (layer + 1, channel, y, x) ids into the bound float framebuffer (see :mod:`.picking`)."""
        self.initialize()
        self._pick.draw(self.trace, self.layout, self._boxes.draw_pick, view_projection, size, self.cut_z, pixel)
        self._panel.draw_pick(gl_matrix(view_projection))

    # --- teardown ---------------------------------------------------------------------
    def delete(self) -> None:
        """Free every GL object of this renderer (its context must be current)."""
        if not self._gl_ready:
            return
        self.textures.delete()  # CUDA registrations go before the GL objects they refer to
        for part in (
            self._labels,
            self._boxes,
            self._curves,
            self._outlines,
            self._flags,
            self._highlight,
            self._volumes,
            self._pick,
            self._panel,
        ):
            part.delete()
        self._faces.delete()
        self._gl_ready = False

    def texture_bytes(self) -> int:
        """Bytes of activation texture memory (what the GL driver holds for them)."""
        return self.textures.texture_bytes() if self._gl_ready else 0


def activation_bytes(trace: Trace) -> int:
    """Bytes of the shown activations in float32."""
    return sum(int(n.display.numel()) * 4 for n in trace.nodes if n.display is not None)


def folded_layers(node: Node) -> int:
    """How many leaf modules a folded block holds (0: the node is one layer)."""
    if node.module is None or not any(True for _ in node.module.children()):
        return 0
    return sum(1 for m in node.module.modules() if not any(True for _ in m.children()))
