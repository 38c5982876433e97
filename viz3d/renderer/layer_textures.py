"""Layer textures: one float 3D texture per layer, its range texture, and the colormap lookups.

Planning (channels as depth, packing and downsampling beyond the GL limit),
uploading through the chosen path (host or CUDA, see :mod:`viz3d.gpu`), and
the per-channel display ranges the face shader normalizes with. The range of
a layer comes from :func:`layer_display_range`, which the inset panel uses
too, so the picture and the colorbar always agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from viz3d.capture.trace import Node, Trace
from viz3d.errors import Viz3dError, warn_once
from viz3d.gpu import TexturePlan, pack_for_texture, plan_texture, select_uploader
from viz3d.gpu.budget import BudgetFit, bytes_text, fit_to_budget
from viz3d.gpu.half import half_precision_problem
from viz3d.scene.colormaps import colormap_lut
from viz3d.scene.normalization import ChannelStats, display_range, global_range

RANGES_PER_ROW = 1024


@dataclass
class LayerTextures:
    """GL resources of one layer (they outlive layout changes)."""

    node_id: int
    plan: TexturePlan
    activation: Any  # gloo.Texture3D
    ranges: Any  # gloo.Texture2D, per-channel (lo, hi)
    stats: ChannelStats
    format: str  # "r32f" or "r16f": R16F only where the layer survives half precision


def layer_display_range(
    node: Node, stats: ChannelStats, global_lo_hi: tuple[float, float], colormap: str, normalization: str
) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi) per channel of a node under the view's colormap and normalization (its own override first)."""
    return display_range(
        stats,
        global_lo_hi,
        normalization=node.display_norm or normalization,
        colormap=node.display_colormap or colormap,
        rgb=node.display_rgb,
        centred=node.display_centred,
        fixed=node.display_range,
    )


def _activation_texture(plan: TexturePlan, texture_format: str) -> Any:
    from vispy import gloo

    return gloo.Texture3D(
        shape=(*plan.texture_shape, 1), format="red", interpolation="nearest", internalformat=texture_format
    )


def lut_image(name: str) -> np.ndarray:
    """A colormap as a (1, 256, 4) RGBA8 texture image."""
    lut = colormap_lut(name)
    return np.concatenate([lut, np.full((256, 1), 255, np.uint8)], axis=1)[None]


class LayerTextureSet:
    """Every layer's textures for one trace, in the current GL context."""

    def __init__(
        self,
        trace: Trace,
        texture_format: str,
        max_texture_size: int | None,
        upload: str | None,
        canvas: Any,
        texture_budget: int | str | None = None,
    ) -> None:
        from vispy import gloo

        from viz3d.renderer.context import gl_info, gl_limits
        from viz3d.renderer.gl_memory import resolve_budget

        self.canvas = canvas
        self.texture_format = texture_format  # what was asked for; layers may keep R32F (see upload)
        limit = self._limit = max_texture_size or gl_limits()["max_3d_texture_size"]
        self.budget, self.budget_source = resolve_budget(texture_budget, gl_info()["renderer"])
        self.fit: BudgetFit | None = None  # what the budget changed, after the first upload
        devices = [n.display.device for n in trace.nodes if n.display is not None]
        self._upload_choice = (upload, devices[0] if devices else None, gl_info()["vendor"])
        self._staging_format = texture_format  # the CUDA path's one staging type
        self.uploader, self._upload_reason = select_uploader(*self._upload_choice, texture_format)
        self.layers: list[LayerTextures] = []
        for node in trace.nodes:
            if node.display is None:
                continue
            c, h, w = (int(v) for v in node.display.shape)
            plan = plan_texture(c, h, w, limit)
            if plan.downsample > 1:
                warn_once(
                    f"layer {node.name}: {h}x{w} maps exceed the GL texture limit {limit}; "
                    f"shown downsampled {plan.downsample}x"
                )
            tex = None  # made by the first upload, once the budget's plan is known
            rows = (c + RANGES_PER_ROW - 1) // RANGES_PER_ROW
            ranges = gloo.Texture2D(
                shape=(rows, min(c, RANGES_PER_ROW), 2), format="rg", interpolation="nearest", internalformat="rg32f"
            )
            empty = ChannelStats(np.zeros(c), np.zeros(c), np.zeros(c), 0)
            self.layers.append(LayerTextures(node.id, plan, tex, ranges, empty, texture_format))
        self._by_node = {layer.node_id: layer for layer in self.layers}
        self._view_lut = gloo.Texture2D(lut_image("viridis"), interpolation="nearest", internalformat="rgba8")
        self._view_colormap = "viridis"
        self._fixed_luts: dict[str, Any] = {}

    @property
    def upload_reason(self) -> str:
        """Which upload path runs, and why."""
        failure = getattr(self.uploader, "failure", None)
        return f"host path: {failure}" if failure else self._upload_reason

    def layer_for(self, node_id: int) -> LayerTextures | None:
        return self._by_node.get(node_id)

    def upload(self, trace: Trace) -> None:
        """Upload new activations of the same network (same shapes) and compute their statistics."""
        displays = []
        for layer in self.layers:
            node = trace.nodes[layer.node_id]
            if node.display is None or int(node.display.shape[0]) != layer.plan.channels:
                raise Viz3dError(f"layer {node.name} changed shape; capture the same network to update a view")
            displays.append(node.display)
        for layer, stats in zip(self.layers, self.uploader.stats(displays), strict=True):
            layer.stats = stats
        self._fit(trace, displays)
        items = [(la.activation, pack_for_texture(d, la.plan)) for la, d in zip(self.layers, displays, strict=True)]
        self.uploader.upload_all(items, self.canvas)

    def _fit(self, trace: Trace, displays: list[Any]) -> None:
        """Formats and plans within the texture budget; textures (re)made where they changed.

        R16F where asked and safe (R32F, said once per layer, where half
        precision would change the picture); past the budget, R16F where safe
        and then smaller maps (see :mod:`viz3d.gpu.budget`), said once. The
        CUDA path stages every layer in one buffer of one type, so a mix there
        means R32F for all.
        """
        half_safe = []
        for layer in self.layers:
            problem = half_precision_problem(layer.stats)
            if problem is not None and self.texture_format == "r16f":
                warn_once(f"layer {trace.nodes[layer.node_id].name}: {problem}; kept in 32-bit float textures (R32F)")
            half_safe.append(problem is None)
        shapes = [(int(d.shape[0]), int(d.shape[1]), int(d.shape[2])) for d in displays]
        cuda = self.uploader.name == "cuda"
        fit = self.fit = fit_to_budget(shapes, self._limit, self.texture_format, half_safe, self.budget, cuda)
        if fit.changed:
            warn_once(
                f"activation textures ({bytes_text(fit.full_bytes)}) exceed the texture budget "
                f"({bytes_text(self.budget or 0)}, {self.budget_source}): {self.budget_note}; "
                "set ViewOptions.texture_budget to change it"
            )
        if cuda and fit.formats and self._staging_format != fit.formats[0]:
            # One staging type for all layers: start over with the common one (its registrations go too).
            self.uploader.release()
            self._staging_format = fit.formats[0]
            self.uploader, self._upload_reason = select_uploader(*self._upload_choice, self._staging_format)
        replaced = False
        for layer, plan, fmt in zip(self.layers, fit.plans, fit.formats, strict=True):
            if layer.activation is None or layer.format != fmt or layer.plan != plan:
                if layer.activation is not None:
                    layer.activation.delete()
                    replaced = True
                layer.activation, layer.format, layer.plan = _activation_texture(plan, fmt), fmt, plan
        if replaced and cuda:
            self.uploader.release()  # its buffers were registered for the old textures: register anew

    @property
    def budget_note(self) -> str:
        """What the texture budget changed ("3 layers in R16F, 2 downsampled"), or "" when nothing."""
        fit = self.fit
        if fit is None or not fit.changed:
            return ""
        parts = [f"{fit.halved} layer{'s' * (fit.halved != 1)} in R16F"] if fit.halved else []
        parts += [f"{fit.downsampled} downsampled"] if fit.downsampled else []
        return ", ".join(parts)

    def update_ranges(self, trace: Trace, colormap: str, normalization: str) -> None:
        """Write every layer's per-channel (lo, hi) for the view's colormap and normalization."""
        overall = self.global_range()
        for layer in self.layers:
            node = trace.nodes[layer.node_id]
            lo, hi = layer_display_range(node, layer.stats, overall, colormap, normalization)
            c = len(lo)
            rows = (c + RANGES_PER_ROW - 1) // RANGES_PER_ROW
            data = np.zeros((rows * min(c, RANGES_PER_ROW), 2), np.float32)
            data[:c, 0], data[:c, 1] = lo, hi
            layer.ranges.set_data(data.reshape(rows, min(c, RANGES_PER_ROW), 2))

    def global_range(self) -> tuple[float, float]:
        """(lo, hi) over every layer (``global`` normalization), computed once per call, not per layer."""
        return global_range([layer.stats for layer in self.layers])

    def set_colormap(self, name: str) -> None:
        """The view's colormap (layers with their own keep theirs)."""
        if name != self._view_colormap:
            self._view_lut.set_data(lut_image(name))
            self._view_colormap = name

    def lut_for(self, node: Node) -> Any:
        """The lookup texture a layer uses: its own colormap (weights view) or the view's."""
        name = node.display_colormap
        if name is None:
            return self._view_lut
        if name not in self._fixed_luts:
            from vispy import gloo

            self._fixed_luts[name] = gloo.Texture2D(lut_image(name), interpolation="nearest", internalformat="rgba8")
        return self._fixed_luts[name]

    def texture_bytes(self) -> int:
        """Bytes of activation texture memory (what the GL driver holds for them)."""
        return sum(layer.plan.texel_count * (4 if layer.format == "r32f" else 2) for layer in self.layers)

    def delete(self) -> None:
        """Free the textures (CUDA registrations first: they refer to them)."""
        self.uploader.release()
        for obj in [self._view_lut, *self._fixed_luts.values()]:
            obj.delete()
        for layer in self.layers:
            if layer.activation is not None:
                layer.activation.delete()
            layer.ranges.delete()
        self.layers, self._by_node, self._fixed_luts = [], {}, {}
