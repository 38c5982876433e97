"""Comparing two steps or two checkpoints: the reference the difference views subtract (GL-free).

Mixed into :class:`~viz3d.session.session.Session`. ``compare_with(a)``
makes ``a`` (a captured trace, a training snapshot, or a state dict) the
reference; the ``difference`` view then shows the captured activations minus
the reference's, and ``weight-difference`` the model's weights minus the
reference's, both in coolwarm with one symmetric range per layer
(:mod:`viz3d.capture.difference`). The reference is copied when it is made:
an optimizer changing the weights in place later does not change it.

:func:`snapshot_difference` does the same for two snapshots of a run (two
steps, or two ranks at one step) without a session; :func:`rank_difference`
reads two ranks' snapshots of one step from a distributed run's folder.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
from torch import nn

from viz3d.capture.difference import difference_trace, state_weights_trace, trace_with_activations
from viz3d.capture.trace import Trace
from viz3d.capture.weights import weights_trace
from viz3d.errors import Viz3dError
from viz3d.session.options import ViewOptions
from viz3d.session.run_folder import load_run, load_step
from viz3d.session.timeline import Snapshot

Compared = Literal["activations", "weights"]


@dataclass(frozen=True)
class Reference:
    """What the difference views subtract: activations (node name → shown values) and weights (a state dict)."""

    label: str
    activations: Mapping[str, torch.Tensor] | None
    weights: Mapping[str, torch.Tensor] | None


def _trace_weights(trace: Trace) -> dict[str, torch.Tensor]:
    """Copies of the weights the trace's modules hold now, under state-dict names."""
    out = {}
    for node in trace.nodes:
        w = getattr(node.module, "weight", None) if isinstance(node.module, nn.Conv2d | nn.Linear) else None
        if isinstance(w, torch.Tensor):
            out[f"{node.name}.weight"] = w.detach().clone()
    return out


def make_reference(reference: Trace | Snapshot | Mapping[str, torch.Tensor]) -> Reference:
    """A :class:`Reference` from a captured trace, a snapshot or a state dict (weights only)."""
    if isinstance(reference, Trace):
        activations = {n.name: n.display for n in reference.nodes if n.display is not None}
        return Reference("a captured trace", activations, _trace_weights(reference))
    if isinstance(reference, Snapshot):
        return Reference(f"step {reference.step}", reference.activations, reference.weights)
    if isinstance(reference, Mapping) and all(isinstance(v, torch.Tensor) for v in reference.values()):
        weights = {k: v.detach().clone() for k, v in reference.items()}
        return Reference("a state dict", None, weights)
    raise Viz3dError(
        f"cannot compare with a {type(reference).__name__}: pass a captured Trace, a Snapshot or a state dict"
    )


def activation_difference(reference: Reference, captured: Trace) -> Trace:
    """``captured``'s activations minus the reference's."""
    if reference.activations is None:
        raise Viz3dError(
            f"the reference ({reference.label}) has no activations: use the weight-difference view, "
            "or compare with a captured trace or a snapshot"
        )
    return difference_trace(trace_with_activations(captured, reference.activations), captured)


def weight_difference(reference: Reference, captured: Trace) -> Trace:
    """The weights the captured trace's modules hold now minus the reference's."""
    if not reference.weights:
        raise Viz3dError(f"the reference ({reference.label}) has no weights to compare with")
    return difference_trace(state_weights_trace(captured, reference.weights), weights_trace(captured))


def snapshot_difference(structure: Trace, a: Snapshot, b: Snapshot, what: Compared = "activations") -> Trace:
    """``b - a`` for two snapshots (two steps, or two ranks at one step) as a trace to draw.

    ``structure`` is a capture of the network on the probe (e.g. ``b.trace``, or
    ``viz3d.capture.capture(model, probe)``): it gives the layers and edges;
    the values all come from the snapshots.
    """
    if what == "activations":
        before, after = (
            trace_with_activations(structure, a.activations),
            trace_with_activations(structure, b.activations),
        )
    elif what == "weights":
        before, after = state_weights_trace(structure, a.weights), state_weights_trace(structure, b.weights)
    else:
        raise Viz3dError(f"unknown comparison {what!r}: use 'activations' or 'weights'")
    return difference_trace(before, after)


def rank_difference(
    run_dir: str | Path, structure: Trace, step: int, ranks: tuple[int, int] = (0, 1), what: Compared = "activations"
) -> Trace:
    """Rank ``ranks[1]``'s snapshot of ``step`` minus rank ``ranks[0]``'s, from a distributed run's folder.

    Under DDP the weights' difference is zero (the replicas stay in sync) and
    the activations' shows how the ranks' probes differ; ``structure`` as in
    :func:`snapshot_difference`.
    """
    a, b = (load_step(run_dir, step, rank) for rank in ranks)
    return snapshot_difference(structure, a, b, what)


def rank_difference_snapshots(run_dir: str | Path, snapshots: Sequence[Snapshot], other_rank: int) -> list[Snapshot]:
    """Each of ``snapshots`` minus ``other_rank``'s snapshot of the same step (steps only one rank has are left out).

    The differences are snapshots themselves (activations and weights b − a,
    the metrics of ``snapshots``), so a timeline scrubs them like any run.
    """
    others = {s.step: s for s in load_run(run_dir, rank=other_rank)[0]}
    out = []
    for snap in snapshots:
        other = others.get(snap.step)
        if other is None:
            continue
        theirs = other.activations
        acts = {k: v.float() - theirs[k].float() for k, v in snap.activations.items() if k in theirs}
        weights = {k: v.float() - other.weights[k].float() for k, v in snap.weights.items() if k in other.weights}
        out.append(Snapshot(snap.step, snap.wall_time, dict(snap.metrics), acts, weights, difference=True))
    if not out:
        raise Viz3dError(f"rank {other_rank} of {run_dir} has no snapshot of the same steps to compare with")
    return out


class Comparing:
    """The reference and its actions; needs ``options``, ``update``, ``_show`` and ``say`` of the session."""

    options: ViewOptions
    update: Callable[..., None]
    say: Callable[[str], None]
    _show: Callable[[bool], bool]

    def _init_comparing(self) -> None:
        self.reference: Reference | None = None

    def compare_with(self, reference: Trace | Snapshot | Mapping[str, torch.Tensor], show: str = "difference") -> None:
        """Show what changed since ``reference`` (a trace, a snapshot or a state dict) in view ``show``.

        ``show`` is ``"difference"`` (activations) or ``"weight-difference"``. A
        trace's weights are read now, from its modules: for an earlier step of a
        model still training, pass that step's snapshot (or a state-dict copy).
        A reference that does not fit is a one-line error and changes nothing.
        """
        from viz3d.session.views import VIEWS

        if show not in VIEWS or VIEWS[show].compare is None:
            names = [v.name for v in VIEWS.values() if v.compare is not None]
            raise Viz3dError(f"{show!r} is not a difference view: use one of {', '.join(names)}")
        previous, options = self.reference, self.options
        self.reference = make_reference(reference)
        try:
            if self.options.show == show:
                self._show(True)
            else:
                self.update(show=show)
        except BaseException:
            # A reference that does not fit fails before anything is shown: the session stays as it was.
            self.reference, self.options = previous, options
            raise
        self.say(f"{VIEWS[show].label} (since {self.reference.label})")

    def toggle_difference(self) -> None:
        """Z: the activations' difference ↔ the weights' difference (from any other view: the activations')."""
        if self.reference is None:
            self.say("nothing to compare with: open two checkpoints with viz3d diff, or call session.compare_with")
            return
        show = "weight-difference" if self.options.show == "difference" else "difference"
        self._show_difference(show)

    def _show_difference(self, show: str) -> None:
        from viz3d.session.views import VIEWS

        self.update(show=show)
        assert self.reference is not None
        self.say(f"{VIEWS[show].label} (since {self.reference.label})")

    def difference(self, view: str, captured: Trace) -> Trace:
        """The trace a difference view draws: ``captured`` (or the model's weights now) minus the reference."""
        from viz3d.session.views import VIEWS

        compare = VIEWS[view].compare
        assert compare is not None
        if self.reference is None:
            raise Viz3dError(
                f"the {view} view needs a reference: call session.compare_with(trace, snapshot or state dict) first"
            )
        return compare(self.reference, captured)
