"""The session: the one place the user's state lives (GL-free).

A session holds the model and its inputs, the captured trace, the shown trace
and its layout, the view options, the selection, the camera (with flights and
the cutaway) and the caches derived from them (statistics, signal flow,
connection curves). Every user action is a method; each emits the signals of
:class:`~viz3d.session.events.SessionEvents` saying what changed. A window,
an offscreen renderer, a notebook widget and a training hook all drive the
same object, so they behave the same; renderers subscribe and never decide.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from viz3d.capture import capture
from viz3d.capture.common import ProgressCallback
from viz3d.capture.stats import LayerStats, layer_statistics
from viz3d.capture.trace import Trace
from viz3d.capture.weights import mean_abs_activation
from viz3d.errors import Viz3dError
from viz3d.layout.charts import HealthOverlay, health_overlay
from viz3d.layout.connections import ConnectionSet
from viz3d.preprocess import Preprocess
from viz3d.scene.camera import OrbitCamera, camera_for
from viz3d.session.answer import Answer, Labels
from viz3d.session.blocks import Blocks, fitted_capture
from viz3d.session.channel_insight import ChannelInsight
from viz3d.session.comparing import Comparing
from viz3d.session.connection_kinds import CONNECTION_KINDS, ConnectionContext, Unit
from viz3d.session.events import SessionEvents
from viz3d.session.explaining import Explaining
from viz3d.session.navigation import checked_size
from viz3d.session.options import ViewOptions
from viz3d.session.pins import Pins
from viz3d.session.scrubbing import Scrubbing
from viz3d.session.search import Search
from viz3d.session.toggles import Toggles
from viz3d.session.unit_links import parse_unit, unit_outline
from viz3d.session.views import VIEWS, ViewSource

MESSAGE_SECONDS = 3.0
Input = torch.Tensor | tuple[torch.Tensor, ...]  # one input: a tensor, or a tuple for a model of several arguments


def _structure(trace: Trace) -> list[tuple[Any, ...]]:
    """What must match for new values to be uploaded in place: names and shown shapes."""
    return [
        (n.name, None if n.display is None else tuple(n.display.shape), n.display_rgb, n.grid_cols) for n in trace.nodes
    ]


def _same_node(a: Trace, b: Trace, node_id: int) -> bool:
    """Whether ``node_id`` names the same layer in both traces."""
    return node_id < len(a.nodes) and node_id < len(b.nodes) and a.nodes[node_id].name == b.nodes[node_id].name


class Session(ChannelInsight, Scrubbing, Answer, Explaining, Blocks, Toggles, Search, Pins, Comparing):
    """One network being looked at, and everything the user chose about how.

    Parameters
    ----------
    trace
        The captured trace to show (see :meth:`from_model` to capture one).
    model, inputs
        Optional: the model and its inputs, so the session can re-capture
        (next input, folding blocks).
    options
        View settings; defaults to :class:`ViewOptions`.
    size
        The front end's view size in pixels (framing uses its aspect).
    camera
        A preset (``overview``, ``front``, ``side``), a saved view.json or a camera.
    clock
        Seconds as a float; flights and messages follow it (tests pass a fake).
    preprocess
        What the inputs went through (``"none"``, ``"imagenet"`` or a
        :class:`~viz3d.preprocess.Preprocess`): the input picture undoes its normalization.
    class_names
        Names of the classifier output's classes: a list, or a labels file (text or
        JSON); by default the model's own, or ImageNet's for 1000 classes.
    """

    def __init__(
        self,
        trace: Trace,
        *,
        model: nn.Module | None = None,
        inputs: Sequence[Input] = (),
        options: ViewOptions | None = None,
        size: tuple[int, int] = (1280, 720),
        camera: str | Path | OrbitCamera = "overview",
        clock: Callable[[], float] = time.perf_counter,
        preprocess: str | Preprocess | None = None,
        class_names: Labels = None,
    ) -> None:
        self.options = options or ViewOptions()
        self.events = SessionEvents()
        self.model = model
        self.inputs = list(inputs)
        self.input_index = 0
        self.clock = clock
        self.size = checked_size(size)
        self.captured = trace  # the activations recorded for the current input
        self._init_answer(preprocess, class_names)
        self._init_explaining()
        self._init_comparing()  # before the view is applied: a difference view reads the reference
        self.selection: Unit | None = None
        self.trace = self._view_trace()  # what the slabs show (the view applied)
        self.shown_version = 0  # counts changes of the shown trace (caches key on it, not on id())
        self.layout = self._lay_out(self.trace)
        self.camera = camera_for(self.layout, camera, self.size)
        self._init_navigation()
        self._init_touring()
        self._init_scrubbing()
        self._init_search()
        self._init_pins()
        self._init_channel_insight()
        self.message = ""
        self.message_until = 0.0
        self._flow: dict[int, float] | None = None
        self._stats: tuple[Trace, dict[int, LayerStats]] | None = None
        self._curves: dict[str, list[ConnectionSet]] = {}

    @classmethod
    def from_model(
        cls,
        model: nn.Module,
        inputs: Input | Sequence[Input],
        *,
        options: ViewOptions | None = None,
        batch_index: int = 0,
        progress: ProgressCallback | None = None,
        **kwargs: Any,
    ) -> Session:
        """Capture ``model`` on the first of ``inputs`` and open a session on it."""
        # A list is several inputs to cycle through; a tensor or a tuple (a model's several arguments) is one.
        batch: list[Input] = list(inputs) if isinstance(inputs, list) else [inputs]  # type: ignore[list-item]
        if not batch:
            raise Viz3dError("an input tensor is needed to capture activations: pass at least one")
        trace, options = fitted_capture(model, batch[0], options or ViewOptions(), batch_index, progress)
        session = cls(trace, model=model, inputs=batch, options=options, **kwargs)
        folded = [note for note in trace.notes if "folded to" in note]
        if folded:
            session.say(folded[0])
        return session

    # --- settings -------------------------------------------------------------
    def update(self, **changes: Any) -> None:
        """Change view options (validated), emitting what each change affects."""
        new = self.options.with_(**changes)
        old, self.options = self.options, new
        diff = {name for name in changes if getattr(old, name) != getattr(new, name)}
        relaid = False  # whether the shown trace was laid out anew (with the new layout mode, if that changed too)
        if diff & {"group_depth", "open_blocks"}:
            if self.model is None or not self.inputs:
                self.options = old
                raise Viz3dError("folding needs the model and its inputs: open the session with Session.from_model")
            try:
                relaid = self._recapture(keep_view=False)
            except BaseException:
                self.options = old  # the shown trace is still the old one: so are the options
                raise
        elif diff & {"show", "shared_filter_range", "input_rgb"} or ("target" in diff and VIEWS[new.show].explains):
            try:
                relaid = self._show(keep_view=True)  # a view of another shape is laid out and framed anew
            except BaseException:
                # A gradient view without the model, a target that names nothing, a difference without a reference.
                self.options = old
                raise
        if diff & {"texture_format", "texture_budget", "upload"}:
            self.events.scene.emit()  # new textures or upload path: the renderer is rebuilt
        if diff & {"layout_mode", "arrangement"} and not relaid:
            self.layout = self._lay_out(self.trace)
            self._curves = {}
            self.set_cut(None)
            self.events.layout.emit()
            for signal in (self.events.connections, self.events.selection, self.events.stats):
                signal.emit()
            if "arrangement" in diff:  # the old camera framed another arrangement
                self.set_camera(self.home_camera())
        if "colormap" in diff:
            self.events.colormap.emit()
        if "normalization" in diff:
            self.events.normalization.emit()
        if diff & {"colormap", "normalization", "pin_ranges"}:
            self.events.selection.emit()  # the inset's colours and range follow
        if diff & {"connections", "connection_budget"}:
            self.events.connections.emit()
        if "labels" in diff:
            self.events.labels.emit()
        if "prediction" in diff:
            self.layout = self._lay_out(self.trace)  # the panel's place joins or leaves what is framed
            self.events.layout.emit()
            self.events.prediction.emit()
        if "stats" in diff:
            self.events.stats.emit()
        if diff & {"minimap", "hud", "help", "present", "font_scale"}:
            self.events.overlays.emit()

    def say(self, message: str) -> None:
        """A status line for the HUD, shown for a few seconds."""
        self.message = message
        self.message_until = self.clock() + MESSAGE_SECONDS
        self.events.message.emit()

    def current_message(self) -> str:
        """The status line while it has not expired ('' after)."""
        return self.message if self.message and self.clock() < self.message_until else ""

    # --- what is shown ------------------------------------------------------------
    def _view_trace(self) -> Trace:
        view = VIEWS[self.options.show]
        if view.compare is not None:  # a difference view: the captured trace minus the reference
            return self._picture(self.difference(view.name, self.captured))
        focus = self.selection[0] if self.selection is not None else None
        shown = getattr(self, "trace", None)
        if focus is not None and (shown is None or not _same_node(self.captured, shown, focus)):
            focus = None  # the selection names a layer of the network as it was shown before this capture
        source = ViewSource(
            self.captured, self.options.shared_filter_range, self.explanation, self.preprocess, focus=focus
        )
        return self._picture(view.build(source))

    def _show(self, keep_view: bool) -> bool:
        """Show the captured trace through the current view; in place when the structure is the same.

        Returns whether it was laid out anew. Raises before changing anything when the view cannot be built.
        """
        trace = self._view_trace()
        self._flow, self._curves = None, {}
        self.shown_version += 1
        if keep_view and _structure(trace) == _structure(self.trace):
            self.trace = trace
            for signal in (self.events.values, self.events.connections, self.events.selection, self.events.stats):
                signal.emit()
            return False
        self.trace = trace
        self.layout = self._lay_out(trace)
        self.selection, self.pins = None, []  # their node ids would name other layers now
        self.focus_index = -1
        self.flight = None
        self.cut_z = float("inf")
        self.camera = self.home_camera()  # the old camera framed another arrangement
        self.events.scene.emit()
        return True

    def show_trace(self, trace: Trace) -> None:
        """Show a new capture of the same model (a training step, a snapshot): in place, the view kept."""
        self._show_captured(trace, keep_view=True)

    def _show_captured(self, trace: Trace, keep_view: bool, input_index: int | None = None) -> bool:
        """Make ``trace`` the captured one and show it; when the view cannot be built, nothing changes."""
        old = (self.captured, self.input_index)
        self.captured = trace
        self.input_index = old[1] if input_index is None else input_index
        try:
            return self._show(keep_view)
        except BaseException:
            self.captured, self.input_index = old
            raise

    def _recapture(self, keep_view: bool) -> bool:
        assert self.model is not None
        return self._show_captured(self.capture_input(self.inputs[self.input_index]), keep_view)

    def capture_input(self, x: Input) -> Trace:
        """Capture one input of the session's model, folded and opened as the options say."""
        assert self.model is not None
        o = self.options
        return capture(
            self.model, x, group_depth=o.group_depth, open_blocks=o.open_blocks, batch_index=self.captured.batch_index
        )

    def flow(self) -> dict[int, float]:
        """Mean |activation| per shown node (connection widths), once per set of values."""
        if self._flow is None:
            self._flow = mean_abs_activation(self.trace)
        return self._flow

    def statistics(self) -> dict[int, LayerStats]:
        """Per-node statistics of the captured activations and weights (once per capture)."""
        if self._stats is None or self._stats[0] is not self.captured:
            self._stats = (self.captured, {s.id: s for s in layer_statistics(self.captured)})
        return self._stats[1]

    def flagged_layers(self) -> list[str]:
        """Names of layers with health flags (dead, saturated or non-finite channels, scale jumps)."""
        return [s.name for s in self.statistics().values() if s.flags]

    def connection_sets(self) -> dict[str, list[ConnectionSet]]:
        """The curves of every visible connection kind, built when first needed."""
        unit = self.selection if self.layout.mode == "tile" else None
        out = {}
        for name in sorted(self.options.connections):
            if name not in self._curves:
                context = ConnectionContext(self.trace, self.layout, unit, self.flow())
                self._curves[name] = CONNECTION_KINDS[name].build(context)
            out[name] = self._curves[name]
        return out

    def selection_outline(self) -> np.ndarray | None:
        """Segments around the selected feature map and pixel (tile mode), or None."""
        if self.selection is None or self.layout.mode != "tile":
            return None
        return unit_outline(self.trace, self.layout, *self.selection)

    def health_overlay(self) -> HealthOverlay | None:
        """Histogram bars and flag outlines while statistics are shown, else None."""
        if not self.options.stats:
            return None
        activations = VIEWS[self.options.show].uses_input  # the slabs show activations: flag their channels
        return health_overlay(self.layout, self.trace.nodes, self.statistics(), activations)

    # --- actions --------------------------------------------------------------------
    def select(self, unit: Unit | str | None) -> None:
        """Select a feature-map pixel (node id, channel, y, x) or ``"LAYER:CH[:Y:X]"``; None clears."""
        if isinstance(unit, str):
            unit = parse_unit(self.trace, unit)
        if unit is not None:
            if len(unit) != 4 or not all(isinstance(v, int) for v in unit):
                raise Viz3dError(f"a unit is (layer id, channel, y, x) or 'LAYER:CHANNEL[:Y:X]', got {unit!r}")
            if not 0 <= unit[0] < len(self.trace.nodes):
                raise Viz3dError(f"no layer with id {unit[0]}: ids are 0..{len(self.trace.nodes) - 1}")
            node = self.trace.nodes[unit[0]]
            if node.display is None:
                raise Viz3dError(f"layer {node.name} has no activation to select a unit in")
            c, h, w = (int(v) for v in node.display.shape)
            channels = c // 3 if node.display_rgb else c
            if not (0 <= unit[1] < channels and 0 <= unit[2] < h and 0 <= unit[3] < w):
                raise Viz3dError(f"unit {unit[1:]} is outside layer {node.name}'s shown shape ({channels}, {h}, {w})")
            unit = tuple(int(v) for v in unit)  # type: ignore[assignment]
        if unit == self.selection:
            return
        old_layer = self.selection[0] if self.selection is not None else None
        self.selection = unit
        self._curves = {k: v for k, v in self._curves.items() if not CONNECTION_KINDS[k].needs_selection}
        self.events.selection.emit()
        self.events.connections.emit()
        if VIEWS[self.options.show].follows_selection and (unit[0] if unit else None) != old_layer:
            self._show(keep_view=True)  # Grad-CAM: the selected layer's map goes on the picture

    def clear_selection(self) -> None:
        """Esc: close the help if open, else clear the selection and the pinned maps."""
        if self.options.help:
            self.update(help=False)
        else:
            self.select(None)
            self.clear_pins()

    def toggle_connections(self, kind: str) -> None:
        """Show or hide one connection kind."""
        visible = kind not in self.options.connections
        self.update(connections=self.options.connections ^ {kind})
        spec = CONNECTION_KINDS[kind]
        hint = " (click a feature map to select a unit)" if spec.needs_selection and not self.selection else ""
        self.say(f"{spec.label} {'shown' if visible else 'hidden'}{hint}")

    def toggle_view(self, name: str) -> None:
        """Switch to view ``name``, or back to activations when it is showing."""
        self.update(show="activations" if self.options.show == name else name)
        self.say(VIEWS[self.options.show].label)

    def toggle_folding(self) -> None:
        """Fold modules into blocks (``fold_depth``) and back to leaf modules."""
        if self.model is None or not self.inputs:
            self.say("block folding needs the model: open the viewer with viz3d.show(model, x)")
            return
        depth = None if self.options.group_depth else self.options.fold_depth
        self.update(group_depth=depth, open_blocks=frozenset())
        self.say("blocks folded" if depth else "leaf modules")

    def next_input(self) -> None:
        """Capture the next input; the view stays (in the weights view nothing is uploaded)."""
        if self.model is None or len(self.inputs) < 2:
            self.say("only one input to show")
            return
        index = (self.input_index + 1) % len(self.inputs)
        where = f"input {index + 1}/{len(self.inputs)}"
        # Capture first: if it fails, the session still shows (and points at) the input it had.
        trace = self.capture_input(self.inputs[index])
        if not VIEWS[self.options.show].uses_input:
            self.captured, self.input_index = trace, index
            self.say(f"{where} (shown in the activations view; weights do not change)")
            return
        self._show_captured(trace, keep_view=True, input_index=index)
        self.say(where)
