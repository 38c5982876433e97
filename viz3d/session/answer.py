"""The ends of the network in a session: the input as a picture and the answer in words (GL-free).

Mixed into :class:`~viz3d.session.session.Session`. It keeps the
preprocessing the inputs went through (whose normalization the input picture
undoes) and the class names of the classifier output, builds the layout with
the answer panel's place in it, and turns a chosen class into a selected unit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from torch import nn

from viz3d.capture.trace import Trace
from viz3d.class_names import class_names_for
from viz3d.errors import Viz3dError
from viz3d.layout import Layout, layout_trace
from viz3d.layout.panel import PanelQuad, place_panel
from viz3d.preprocess import Preprocess, preprocessing
from viz3d.scene.camera import overview_angles
from viz3d.session.events import SessionEvents
from viz3d.session.input_picture import input_picture
from viz3d.session.options import ViewOptions
from viz3d.session.prediction import Prediction, classifier_node, predict
from viz3d.session.views import VIEWS

Labels = Sequence[str] | str | Path | None


class Answer:
    """Input picture, prediction and answer panel; needs ``captured``, ``trace``, ``options``, ``events``, ``model``."""

    captured: Trace
    trace: Trace
    layout: Layout
    options: ViewOptions
    events: SessionEvents
    model: nn.Module | None
    say: Callable[[str], None]
    select: Callable[..., None]
    update: Callable[..., None]

    def _init_answer(self, preprocess: str | Preprocess | None, labels: Labels) -> None:
        self.preprocess = preprocessing(preprocess)
        node = classifier_node(self.captured)
        self.class_names: tuple[str, ...] = ()
        if node is not None:
            where = f" ({node.name})"
            self.class_names = class_names_for(int(node.shape[1]), labels, self.model, where)
        elif labels is not None:
            raise Viz3dError("labels were given but the network has no classifier output (an (N, K) output, K >= 2)")
        self._prediction: tuple[Trace, Prediction | None] | None = None

    def _picture(self, trace: Trace) -> Trace:
        """The shown trace with the input as a colour picture, when asked and the view shows activations."""
        if self.options.input_rgb and VIEWS[self.options.show].input_picture:
            return input_picture(trace, self.preprocess)
        return trace

    def prediction(self) -> Prediction | None:
        """Softmax and top classes of the classifier output for the shown input (None without one)."""
        if self._prediction is None or self._prediction[0] is not self.captured:
            node = classifier_node(self.captured)
            value = predict(self.captured, node, self.class_names) if node is not None else None
            self._prediction = (self.captured, value)
        return self._prediction[1]

    def shown_prediction(self) -> Prediction | None:
        """The prediction when its panel is shown: asked for, and the slabs show this input's activations."""
        if not (self.options.prediction and VIEWS[self.options.show].uses_input):
            return None
        return self.prediction()

    def answer_panel(self) -> PanelQuad | None:
        """Where the answer panel stands in the current layout (None when it is not shown)."""
        p = self.shown_prediction()
        return None if p is None else place_panel(self.layout, p.node_id, overview_angles(self.layout)[0])

    def _lay_out(self, trace: Trace) -> Layout:
        """The layout of ``trace`` with the answer panel's corners in it, so framing keeps it in view."""
        arrangement = self.options.arrangement
        shown = getattr(self, "layout", None)
        if arrangement == "auto" and self.options.open_blocks and shown is not None:
            arrangement = shown.arrangement  # opening a block must not turn a line into rows under the user
        layout = layout_trace(trace, self.options.layout_mode, arrangement)
        p = self.shown_prediction()
        quad = None if p is None else place_panel(layout, p.node_id, overview_angles(layout)[0])
        if quad is not None:
            layout.extras.append(quad.corners())
        return layout

    def toggle_input_picture(self) -> None:
        """The input slab as one colour picture, or as its channels' heatmaps."""
        self.update(input_rgb=not self.options.input_rgb)
        self.say("input: " + ("true-colour picture" if self.options.input_rgb else "per-channel heatmaps"))

    def select_class(self, index: int) -> None:
        """Select the classifier unit of class ``index`` (its logit): weights and receptive field follow it."""
        p = self.prediction()
        if p is None:
            raise Viz3dError("the network has no classifier output to choose a class of")
        if not 0 <= index < p.classes:
            raise Viz3dError(f"class {index} is out of range: the classifier has classes 0..{p.classes - 1}")
        self.select(p.unit(index))
        self.say(f"class {index}: {self.class_names[index]} (logit unit of {p.node_name})")

    def selected_class(self) -> int | None:
        """The class whose logit is selected, if the selection is a classifier cell."""
        p = self.prediction()
        return None if p is None else p.class_of(getattr(self, "selection", None))
