"""What the slabs show: a registry of views (activations, weights, and more to come).

A view turns the captured trace (activations of one input) into the trace
that is drawn. A new view is one function and one row in :data:`VIEWS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from viz3d.capture.trace import Trace
from viz3d.capture.weights import weights_trace
from viz3d.errors import Viz3dError
from viz3d.session.comparing import Reference, activation_difference, weight_difference


@dataclass(frozen=True)
class View:
    """One way of filling the slabs.

    ``build(captured, shared_filter_range)`` returns the trace to draw;
    ``uses_input`` says whether it changes with the input (the weights view
    does not, so switching inputs there uploads nothing). A difference view
    has ``compare(reference, captured)`` instead: it needs the session's
    reference (``Session.compare_with``).
    """

    name: str
    label: str
    build: Callable[[Trace, bool], Trace]
    uses_input: bool = True
    compare: Callable[[Reference, Trace], Trace] | None = None


def _activations(trace: Trace, shared_filter_range: bool) -> Trace:
    return trace


def _weights(trace: Trace, shared_filter_range: bool) -> Trace:
    return weights_trace(trace, shared_normalization=shared_filter_range)


def _needs_reference(trace: Trace, shared_filter_range: bool) -> Trace:
    raise Viz3dError("a difference view needs a reference: call session.compare_with(trace, snapshot or state dict)")


VIEWS: dict[str, View] = {
    "activations": View("activations", "activations view", _activations),
    "weights": View("weights", "weights view: conv filters and weight matrices", _weights, uses_input=False),
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


def register_view(view: View) -> None:
    """Add a view (its name must be new)."""
    if view.name in VIEWS:
        raise ValueError(f"a view named {view.name!r} exists already")
    VIEWS[view.name] = view
