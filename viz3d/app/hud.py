"""The viewer's 2D layer: status lines, key help, minimap, the selected map's inset, captions, the timeline.

Panels are Pillow pictures (:mod:`viz3d.app.panels`) uploaded to an
:class:`~viz3d.renderer.overlay.Overlay` only when their content changes. The
inset's value range comes from the same function the renderer normalizes
with, so the colorbar always matches the slab. Text panels (HUD, messages,
the tour's caption) are drawn at the device's resolution and the font
scale. In presenter mode only the caption, the inset and status messages
(large, at the top) show. :meth:`Hud.prepare` places the panels before the
scene is drawn, so no layer label is drawn under one (:meth:`Hud.rects`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from viz3d.app.compare import inset_range, map_range, pinned_maps
from viz3d.app.explain_panel import feature_vis_panel, patches_panel, side_by_side
from viz3d.app.minimap import Minimap
from viz3d.app.panels import help_panel, inset_panel, search_panel, text_panel
from viz3d.app.pin_panel import pins_panel
from viz3d.app.timeline_panel import timeline_panels
from viz3d.layout.charts import ACTIVATION_RGB, WEIGHT_RGB
from viz3d.renderer.captions import caption_picture, message_picture
from viz3d.renderer.layer_textures import layer_display_range
from viz3d.renderer.scene_view import SceneView
from viz3d.scene import keymap
from viz3d.scene.picking import PickHit
from viz3d.session.session import Session
from viz3d.session.views import VIEWS

Histograms = list[tuple[str, list[int], tuple[float, float, float]]]
HUD_FONT_PX = 14
PRESENT_FONT_SCALE = 1.5  # presenter mode's text, on top of the font scale option


class Hud:
    """Everything drawn over the 3D view of one session."""

    def __init__(self, session: Session, view: SceneView, keys: Sequence[keymap.KeyBinding]) -> None:
        self.session = session
        self.view = view
        self.keys = keys
        self.hover_text = ""
        self.minimap_hover: int | None = None  # the minimap node under the pointer
        self._overlay: Any = None
        self._drawn: dict[str, Any] = {}  # panel name → the key of what it shows
        self._minimap: Minimap | None = None
        session.events.scene.connect(self._drop_minimap)  # a new network: a new map

    def _drop_minimap(self) -> None:
        self._minimap = None

    # --- text ---------------------------------------------------------------------
    def status_lines(self, fps: float | None) -> list[str]:
        """The HUD text: the state line (fps only while animating), the hover line, a status message."""
        s, o = self.session, self.session.options
        head = [f"{fps:.0f} fps"] if fps else []
        head += [s.camera.mode, o.colormap, f"{o.normalization} normalization", f"{o.layout_mode} mode", o.show]
        # Settings away from their defaults, so a change made from Python or a training loop shows too.
        if o.group_depth is not None:
            head.append(f"blocks folded at depth {o.group_depth}")
        if o.texture_format != "r32f":
            head.append(o.texture_format.upper())
        budget_note = self.view.renderer.budget_note if self.view.renderer is not None else ""
        if budget_note:
            head.append(f"texture budget: {budget_note}")
        if o.shared_filter_range and o.show == "weights":
            head.append("one range per layer's filters")
        if VIEWS[o.show].explains:
            head.append(f"of {s.target_words()} (U: the selected unit)")
        head.append("H: help")
        if s.cut_z != float("inf"):
            head.append("layers in front hidden (Home: all)")
        uploader = self.view.renderer.uploader if self.view.renderer is not None else None
        if uploader is not None and uploader.name == "cuda":
            head.append("zero-copy CUDA upload")
        elif getattr(uploader, "failure", None):
            head.append("CUDA path failed: host upload")
        if self.view.renderer is not None:
            drawn, total = self.view.renderer.thinned
            if drawn < total:
                head.append(f"connections thinned: {drawn:,} of {total:,} drawn")
        lines = [" | ".join(head)]
        prediction = s.shown_prediction()
        if prediction is not None:
            lines.append(prediction.headline())
        if self.hover_text:
            lines.append(self.hover_text)
        message = s.current_message()
        if message:
            lines.append(message)
        return lines

    def hover(self, hit: PickHit | None, on_minimap: bool = False) -> bool:
        """Show what the pointer is over: the hover line and, on the minimap, the node outlined and named
        beside it. True when the view must be redrawn."""
        text = self.describe(hit)
        if on_minimap and text:
            text += " | minimap: click flies there"
        node = hit.node_id if on_minimap and hit is not None else None
        changed = text != self.hover_text or node != self.minimap_hover
        self.hover_text, self.minimap_hover = text, node
        return changed

    def describe(self, hit: PickHit | None) -> str:
        """The hover line: layer, type, shape, channel, (y, x), value and the channel's statistics."""
        if hit is None:
            return ""
        node = self.session.trace.nodes[hit.node_id]
        text = f"{node.name} ({node.op}) {'x'.join(map(str, node.shape)) or '-'}"
        if hit.channel is None or node.display is None:
            return text
        if node.display_rgb:
            rgb = node.display[3 * hit.channel : 3 * hit.channel + 3, hit.y, hit.x].tolist()
            what = "picture" if node.kind == "input" else f"filter {hit.channel}"
            return text + f" | {what} (y {hit.y}, x {hit.x}) = RGB " + ", ".join(f"{v:.3g}" for v in rgb)
        value = float(node.display[hit.channel, hit.y, hit.x])
        text += f" | channel {hit.channel} (y {hit.y}, x {hit.x}) = {value:.4g}"
        renderer = self.view.renderer
        layer = renderer.layer_for(hit.node_id) if renderer is not None else None
        if renderer is not None and layer is not None:
            # The range the colours (and the inset's colorbar) use, not another one: see viz3d.app.compare.
            lo, hi = inset_range(self.session, renderer, hit.node_id, hit.channel)
            text += f" | colour range {lo:.4g} .. {hi:.4g} | channel mean {layer.stats.mean[hit.channel]:.3g}"
            if layer.plan.downsample > 1:  # the value above is the map's own; the tile shows block means
                text += f" | drawn {layer.plan.downsample}x downsampled"
        return text

    # --- panels ---------------------------------------------------------------------
    def minimap(self, size: tuple[int, int]) -> Minimap:
        """The minimap of the shown network, in the bottom-left corner of a view of ``size``."""
        if self._minimap is None:
            self._minimap = Minimap(self.session.trace, max_height=max(120, int(size[1] * 0.55)))
        self._minimap.position = (10.0, float(size[1] - self._minimap.size[1] - 10))
        return self._minimap

    def minimap_node_at(self, x: float, y: float, size: tuple[int, int]) -> int | None:
        """The node under a click on the minimap (None off the map or while it is hidden)."""
        return self.minimap(size).node_at(x, y) if self.session.options.minimap else None

    def _histograms(self, node_id: int) -> Histograms:
        s = self.session.statistics().get(node_id)
        out: Histograms = []
        kinds = (("act_hist", "activations", ACTIVATION_RGB), ("weight_hist", "weights", WEIGHT_RGB))
        for attribute, what, rgb in kinds:
            hist = getattr(s, attribute, None)
            if hist is not None:
                out.append((f"{what} {hist.edges[0]:.3g} .. {hist.edges[-1]:.3g}", hist.counts, rgb))
        return out

    def inset(self) -> Any:
        """The map inset (:meth:`map_inset`) with, left of it, the selected channel's feature vis and top patches."""
        base = self.map_inset()
        if base is None or self.session.pins:
            return base
        s = self.session
        top, run = s.shown_top_patches(), s.shown_feature_vis()
        extra = ([feature_vis_panel(run)] if run else []) + ([patches_panel(*top)] if top is not None else [])
        return side_by_side([*extra, base]) if extra else base

    def map_inset(self) -> Any:
        """The pinned maps side by side, else the selected map (or colour filter) enlarged, or None."""
        s = self.session
        renderer = self.view.renderer
        if renderer is None:
            return None
        if s.pins:
            return pins_panel(pinned_maps(s, renderer), s.options.colormap, s.options.pin_ranges == "shared")[0]
        if s.selection is None:
            return None
        node_id, c, _, _ = s.selection
        node, layer = s.trace.nodes[node_id], renderer.layer_for(node_id)
        assert node.display is not None and layer is not None
        colormap = node.display_colormap or s.options.colormap
        histograms = self._histograms(node_id)
        if node.display_rgb:
            overall = renderer.textures.global_range()
            lo, hi = layer_display_range(node, layer.stats, overall, s.options.colormap, s.options.normalization)
            values = node.display[3 * c : 3 * c + 3].detach().float().cpu().numpy()
            lo_c, hi_c = float(lo[3 * c : 3 * c + 3].min()), float(hi[3 * c : 3 * c + 3].max())
            what = "picture" if node.kind == "input" else f"filter {c}"
            title = f"{node.name} {what}  {values.shape[1]}x{values.shape[2]} RGB"
            return inset_panel(values, lo_c, hi_c, colormap, title, rgb=True, histograms=histograms)
        values = node.display[c].detach().float().cpu().numpy()
        what = "kernel" if node.grid_cols else "channel"
        title = f"{node.name} {what} {c}  {values.shape[0]}x{values.shape[1]}"
        return inset_panel(values, *map_range(s, renderer, node_id, c), colormap, title, histograms=histograms)

    def _show(self, name: str, key: Any, make: Any, place: Any, density: float = 1.0) -> None:
        """Keep panel ``name`` showing ``make()`` at ``place(image)``; rebuilt only when ``key`` changes."""
        if key is None:
            if name in self._overlay:
                self._overlay.remove(name)
            self._drawn.pop(name, None)
            return
        if self._drawn.get(name) != key or name not in self._overlay:
            image = make()
            self._overlay.set(name, image, place(image), density)
            self._drawn[name] = key

    def _show_text(self, physical: tuple[int, int], unit: float) -> None:
        """The caption (lower third) and, in presenter mode, the status message (top), at device resolution."""
        s, o = self.session, self.session.options
        scale = o.font_scale * (PRESENT_FONT_SCALE if o.present else 1.0)
        caption, message = s.caption(), s.current_message() if o.present else ""
        for name, text, picture in (("caption", caption, caption_picture), ("message", message, message_picture)):
            made: dict[str, tuple[int, int]] = {}

            def make(text: str = text, picture: Any = picture, made: dict[str, tuple[int, int]] = made) -> Any:
                image, made["at"] = picture(text, physical, scale)
                return image

            def place(image: Any, made: dict[str, tuple[int, int]] = made) -> tuple[float, float]:
                return made["at"][0] / unit, made["at"][1] / unit  # made at device pixels, placed in logical ones

            self._show(name, (text, physical, scale) if text else None, make, place, unit)

    def prepare(self, size: tuple[int, int], physical: tuple[int, int], fps: float | None) -> None:
        """Update the panels that changed (call before drawing the scene: :meth:`rects` says where they are)."""
        from viz3d.renderer.overlay import Overlay

        if self._overlay is None:
            self._overlay = Overlay()
        s, o = self.session, self.session.options
        w, h = size
        unit = physical[0] / w
        lines = tuple(self.status_lines(fps)) if o.hud and not o.present else None
        px = round(HUD_FONT_PX * o.font_scale * unit)
        self._show("hud", lines, lambda: text_panel(list(lines or ()), size=px), lambda img: (10, 10), unit)
        self._show_text(physical, unit)
        mini = self.minimap(size) if o.minimap and not o.present else None
        tip_key = None
        if mini is not None:
            mini.mark(s.camera_node())
            mini.hover(self.minimap_hover)
            image = mini.image()  # cached until the mark or the hovered node moves
            key = (id(image), mini.position)
            self._show("minimap", key, lambda: image, lambda img: mini.position)
            if self.minimap_hover is not None:
                tip_key = (self.minimap_hover, mini.position, s.shown_version)
        else:
            self._show("minimap", None, None, None)
        node = s.trace.nodes[self.minimap_hover] if tip_key is not None and self.minimap_hover is not None else None
        make_tip = lambda: text_panel([f"{node.name}  {node.op}" if node else ""], size=12, pad=5)  # noqa: E731
        place_tip = lambda img: (  # noqa: E731
            mini.position[0] + mini.size[0] + 6 if mini else 0.0,
            (mini.node_y(self.minimap_hover) if mini and self.minimap_hover is not None else 0.0) - img.shape[0] / 2,
        )
        self._show("minimap_tip", tip_key, make_tip, place_tip)
        help_key = (w, h) if o.help and not o.present else None
        place_help = lambda img: (max(10, (w - img.shape[1]) / 2), max(50, (h - img.shape[0]) / 2))  # noqa: E731
        self._show("help", help_key, lambda: help_panel(keymap.help_lines(self.keys)), place_help)
        inset_key = None
        if s.selection is not None or s.pins:
            shown = (s.selection, tuple(s.pins), o.pin_ranges, s.shown_version, s.explain_version)
            inset_key = (*shown, o.colormap, o.normalization, self.view.builds, w, h)
        self._show("inset", inset_key, self.inset, lambda img: (w - img.shape[1] - 10, h - img.shape[0] - 10))
        results = s.search_results()
        search_key = (s.search_query, s.search_choice, tuple(results), s.shown_version, w) if s.search_open else None
        rows = [(s.trace.nodes[i].name, s.trace.nodes[i].op) for i in results]
        make_search = lambda: search_panel(s.search_query or "", rows, s.search_choice)  # noqa: E731
        place_search = lambda img: (max(10, (w - img.shape[1]) / 2), max(10, (h - img.shape[0]) / 3))  # noqa: E731
        self._show("search", search_key, make_search, place_search)  # a third down: clear of the HUD's lines
        for name, key, make, place in timeline_panels(s, size, unit):  # the sparkline and the scrubber
            self._show(name, key, make, place, unit)

    def rects(self, unit: float = 1.0) -> list[tuple[float, float, float, float]]:
        """Where the panels sit, in device pixels (``unit``: device pixels per logical pixel)."""
        return self._overlay.rects(unit) if self._overlay is not None else []

    def draw(self, physical: tuple[int, int], unit: float = 1.0) -> None:
        """Draw the panels placed by :meth:`prepare` over the frame."""
        if self._overlay is not None:
            self._overlay.draw(physical, unit)

    def names(self) -> list[str]:
        """Panels currently shown."""
        return self._overlay.names() if self._overlay is not None else []

    def delete(self) -> None:
        self.session.events.scene.disconnect(self._drop_minimap)
        if self._overlay is not None:
            self._overlay.delete()
            self._overlay = None
