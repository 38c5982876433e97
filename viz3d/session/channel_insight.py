"""What excites the selected channel: its top patches and its feature visualization, as session state (GL-free).

Mixed into :class:`~viz3d.session.session.Session`. A top-patches result
(:func:`viz3d.explain.top_patches`) is attached with :meth:`ChannelInsight.set_top_patches`;
selecting a channel of its layer then shows that channel's patches in the
inset. Shift-X starts a feature visualization of the selected channel
(:class:`viz3d.explain.FeatureVis`): it advances a few steps per frame in
:meth:`ChannelInsight.advance` (a time budget per frame, so the window stays
responsive) while its channel is selected, and the inset shows the image
forming. Both emit ``explain``; the front ends draw, the session decides.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from torch import nn

from viz3d.capture.trace import Trace
from viz3d.errors import Viz3dError
from viz3d.explain import FeatureVis, Patch, TopPatches
from viz3d.explain.layer_output import layer_module
from viz3d.preprocess import Preprocess
from viz3d.session.events import SessionEvents
from viz3d.session.options import ViewOptions
from viz3d.session.views import VIEWS

FEATURE_VIS_STEPS = 128
FRAME_BUDGET_SECONDS = 0.05  # optimisation time per frame: the window keeps ~20 fps while the image forms


class ChannelInsight:
    """Top patches and feature visualization; needs ``trace``, ``model``, ``selection``, ``events``, ``say``."""

    trace: Trace
    model: nn.Module | None
    selection: tuple[int, int, int, int] | None
    events: SessionEvents
    options: ViewOptions
    preprocess: Preprocess
    say: Callable[[str], None]

    def _init_channel_insight(self) -> None:
        self.top_patches: TopPatches | None = None
        self.feature_vis: FeatureVis | None = None
        self.explain_version = 0  # the inset's cache key: bumps on every change shown

    def _explained(self) -> None:
        self.explain_version += 1
        self.events.explain.emit()

    # --- top patches ------------------------------------------------------------
    def set_top_patches(self, result: TopPatches | None) -> None:
        """Attach a top-patches result (None detaches): selecting a channel of its layer shows its patches."""
        if result is not None:
            node = next((n for n in self.trace.nodes if n.name == result.layer), None)
            if node is None:
                raise Viz3dError(f"top patches of {result.layer!r}: no layer of that name is shown (unfold blocks, G)")
            channels = int(node.shape[1]) if len(node.shape) >= 2 else 0
            if channels != result.channels:
                raise Viz3dError(
                    f"top patches of {result.layer} have {result.channels} channels, the layer has {channels}: "
                    "compute them with this model"
                )
        self.top_patches = result
        self._explained()
        if result is not None:
            self.say(f"top patches of {result.layer} attached: click one of its channels")

    def shown_top_patches(self) -> tuple[str, int, list[Patch]] | None:
        """(layer, channel, patches) for the selected channel, when a result for its layer is attached."""
        unit = self._explained_unit()
        if unit is None or self.top_patches is None or unit[0] != self.top_patches.layer:
            return None
        if unit[1] >= self.top_patches.channels:
            return None
        return unit[0], unit[1], self.top_patches.patches(unit[1])

    # --- feature visualization -----------------------------------------------------
    def start_feature_vis(self) -> None:
        """Shift-X: optimise an image that excites the selected channel, shown forming in the inset."""
        unit = self._explained_unit()
        if unit is None:
            self.say("feature visualization: click a channel of a layer first (activations view)")
            return
        if self.model is None:
            self.say("feature visualization needs the model: open the viewer with viz3d.show(model, x)")
            return
        layer, channel = unit
        try:
            layer_module(self.model, layer)
        except Viz3dError:
            self.say(f"{layer} is not a module of the model: feature visualization needs a module's output")
            return
        run = self.feature_vis
        if run is None or (run.layer, run.channel) != (layer, channel):
            run = self.feature_vis = FeatureVis(
                self.model, layer, channel, FEATURE_VIS_STEPS, preprocess=self.preprocess
            )
        state = "from the cache" if run.finished else f"{FEATURE_VIS_STEPS} steps"
        self.say(f"feature visualization of {layer} channel {channel} ({state})")
        self._explained()

    def shown_feature_vis(self) -> FeatureVis | None:
        """The feature visualization of the selected channel (running or done), or None."""
        unit, run = self._explained_unit(), self.feature_vis
        return run if run is not None and unit == (run.layer, run.channel) else None

    def _explained_unit(self) -> tuple[str, int] | None:
        """(layer name, channel) of the selection in a view of activations, else None."""
        if self.selection is None or not VIEWS[self.options.show].uses_input:
            return None
        node = self.trace.nodes[self.selection[0]]
        if node.kind == "input" or node.display_rgb:
            return None
        if VIEWS[self.options.show].follows_selection:
            return None  # Grad-CAM shows one map a layer: its tile is no channel
        return node.name, self.selection[1]

    @property
    def animating(self) -> bool:
        """Flights and tours (the mixins after this one), or a shown feature visualization still forming."""
        run = self.shown_feature_vis()
        forming = run is not None and not run.finished
        return bool(super().animating) or forming  # type: ignore[misc]

    def advance(self) -> bool:
        """Move flights and tours, then the shown feature visualization by a frame's time budget."""
        moving = bool(super().advance())  # type: ignore[misc]
        run = self.shown_feature_vis()
        if run is None or run.finished:
            return moving
        start = time.perf_counter()
        try:
            run.advance(1)  # at least one step a frame, however slow the model
            while not run.finished and time.perf_counter() - start < FRAME_BUDGET_SECONDS:
                run.advance(1)
        except Viz3dError as exc:
            self.feature_vis = None
            self.say(f"feature visualization stopped: {exc}")
            self._explained()
            return moving
        if run.finished:
            self.say(f"feature visualization of {run.layer} channel {run.channel} done ({run.steps} steps)")
        self._explained()
        return moving or not run.finished
