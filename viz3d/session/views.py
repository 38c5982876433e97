"""What the slabs show: a registry of views (activations, weights, gradients, attribution, Grad-CAM, differences).

A view turns what the session has (the captured trace, and on demand the
gradients of the target) into the trace that is drawn. A new view is one
function and one row in :data:`VIEWS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from viz3d.capture.gradients import Explanation
from viz3d.capture.trace import Trace
from viz3d.capture.weights import weights_trace
from viz3d.errors import Viz3dError
from viz3d.preprocess import Preprocess
from viz3d.session.comparing import Reference, activation_difference, weight_difference
from viz3d.session.explain_views import attribution_trace, gradcam_trace, gradient_trace


@dataclass(frozen=True)
class ViewSource:
    """What a view may draw from.

    ``explanation()`` runs the backward pass on first call (views that do not
    call it cost nothing); ``focus`` is the selected node, if any.
    """

    captured: Trace
    shared_filter_range: bool
    explanation: Callable[[], Explanation]
    preprocess: Preprocess
    focus: int | None = None


@dataclass(frozen=True)
class View:
    """One way of filling the slabs.

    ``build(source)`` returns the trace to draw. ``uses_input`` says whether
    it changes with the input (the weights view does not, so switching inputs
    there uploads nothing); ``input_picture`` whether the input slab may be
    drawn as its true-colour picture; ``explains`` whether it needs the model
    for a backward pass (and changes with the target); ``follows_selection``
    whether it changes with the selected layer. A difference view has
    ``compare(reference, captured)`` instead: it needs the session's
    reference (``Session.compare_with``).
    """

    name: str
    label: str
    build: Callable[[ViewSource], Trace]
    uses_input: bool = True
    input_picture: bool = False
    explains: bool = False
    follows_selection: bool = False
    compare: Callable[[Reference, Trace], Trace] | None = None


def _activations(source: ViewSource) -> Trace:
    return source.captured


def _weights(source: ViewSource) -> Trace:
    return weights_trace(source.captured, shared_normalization=source.shared_filter_range)


def _gradients(source: ViewSource) -> Trace:
    return gradient_trace(source.explanation(), source.preprocess)


def _attribution(source: ViewSource) -> Trace:
    return attribution_trace(source.explanation(), source.preprocess)


def _gradcam(source: ViewSource) -> Trace:
    return gradcam_trace(source.explanation(), source.preprocess, source.focus)


def _needs_reference(source: ViewSource) -> Trace:
    raise Viz3dError("a difference view needs a reference: call session.compare_with(trace, snapshot or state dict)")


VIEWS: dict[str, View] = {
    "activations": View("activations", "activations view", _activations, input_picture=True),
    "weights": View("weights", "weights view: conv filters and weight matrices", _weights, uses_input=False),
    "gradients": View("gradients", "gradients view: d target / d activation, red +, blue -", _gradients, explains=True),
    "attribution": View(
        "attribution",
        "attribution view: activation x gradient; gradient x input on the picture",
        _attribution,
        explains=True,
    ),
    "gradcam": View(
        "gradcam",
        "Grad-CAM view: each layer's map; the selected layer's on the picture",
        _gradcam,
        explains=True,
        follows_selection=True,
    ),
    "difference": View(
        "difference",
        "difference view: activations minus the reference's (coolwarm, one symmetric range per layer)",
        _needs_reference,
        compare=activation_difference,
    ),
    "weight-difference": View(
        "weight-difference",
        "weight difference view: weights minus the reference's (coolwarm, one symmetric range per layer)",
        _needs_reference,
        uses_input=False,
        compare=weight_difference,
    ),
}
# The order X steps through.
EXPLAIN_CYCLE: tuple[str, ...] = ("gradients", "attribution", "gradcam")


def register_view(view: View) -> None:
    """Add a view (its name must be new)."""
    if view.name in VIEWS:
        raise ValueError(f"a view named {view.name!r} exists already")
    VIEWS[view.name] = view
