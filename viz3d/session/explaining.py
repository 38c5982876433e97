"""Why the network answered: the target of the explaining views and their gradients, in the session (GL-free).

Mixed into :class:`~viz3d.session.session.Session`. The target is a view
option (``ViewOptions.target``: ``None`` for the predicted class, a class
index or name, or ``"LAYER:CHANNEL"`` for a unit); the explanation (one
forward and one backward pass) is computed when an explaining view first
needs it and kept until the input, the folding or the target changes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from torch import nn

from viz3d.capture.gradients import Explanation, Target, explain
from viz3d.capture.trace import Trace
from viz3d.errors import Viz3dError
from viz3d.session.options import ViewOptions
from viz3d.session.views import EXPLAIN_CYCLE, VIEWS


class Explaining:
    """Target and explanation; needs ``captured``, ``trace``, ``model``, ``inputs``, ``options``, ``selection``."""

    captured: Trace
    trace: Trace
    model: nn.Module | None
    inputs: list[Any]
    input_index: int
    options: ViewOptions
    class_names: tuple[str, ...]
    selection: tuple[int, int, int, int] | None
    update: Callable[..., None]
    say: Callable[[str], None]
    selected_class: Callable[[], int | None]

    def _init_explaining(self) -> None:
        self._explanation: tuple[Trace, Target, tuple[int | None, frozenset[str]], Explanation] | None = None

    def explanation(self) -> Explanation:
        """The gradients of the target for the shown input (computed once per input, folding and target).

        A training snapshot on show is explained with its own weights (the
        model keeps training and is never touched).
        """
        target = self.target()
        folding = (self.options.group_depth, self.options.open_blocks)
        cached = self._explanation
        # The capture by identity: traces hold tensors, and comparing them by value means nothing here.
        if cached is not None and cached[0] is self.captured and cached[1:3] == (target, folding):
            return cached[3]
        if self.model is None or not self.inputs:
            raise Viz3dError(
                f"the {self.options.show} view needs the model for a backward pass: open it with viz3d.show(model, x)"
            )
        snapshot = getattr(self, "shown_snapshot", None)
        if snapshot is not None and snapshot.difference:
            raise Viz3dError(
                f"the {self.options.show} view explains one model: a difference of two runs has none (open one rank)"
            )
        result = explain(
            self.model,
            self.inputs[self.input_index],
            target,
            batch_index=self.captured.batch_index,
            group_depth=self.options.group_depth,
            open_blocks=self.options.open_blocks,
            weights=snapshot.weights if snapshot is not None else None,
        )
        self._explanation = (self.captured, target, folding, result)
        return result

    def target(self) -> Target:
        """``ViewOptions.target`` as a :class:`Target` (class names and ``LAYER:CHANNEL`` resolved)."""
        return resolve_target(self.options.target, self.class_names, [n.name for n in self.captured.nodes])

    def target_words(self) -> str:
        """The target for the HUD, its class named: ``predicted class 3 (cross)``, ``conv2 channel 5 (mean)``."""
        target = self.target()
        cached = self._explanation
        if cached is not None and cached[1] == target:
            target = cached[3].target  # the predicted class, once known
        words = target.describe()
        index = target.class_index
        if target.unit is None and index is not None and index < len(self.class_names):
            words += f" ({self.class_names[index]})"
        return ("predicted " if self.options.target is None and index is not None else "") + words

    def cycle_explain_view(self) -> None:
        """X: gradients → attribution → Grad-CAM → activations."""
        show = self.options.show
        following = EXPLAIN_CYCLE[EXPLAIN_CYCLE.index(show) + 1] if show in EXPLAIN_CYCLE[:-1] else None
        name = following or ("activations" if show in EXPLAIN_CYCLE else EXPLAIN_CYCLE[0])
        self.update(show=name)
        if VIEWS[name].explains:
            self.say(f"{VIEWS[name].label} | of {self.target_words()} = {self.explanation().score:.4g}")
        else:
            self.say(VIEWS[name].label)

    def target_selection(self) -> None:
        """U: the explaining views explain the selected unit (a selected class cell: that class)."""
        if self.selection is None:
            self.say("select a feature map first (click), then U explains it")
            return
        node_id, channel, y, x = self.selection
        shown, captured = self.trace.nodes[node_id].display, self.captured.nodes[node_id].display
        if shown is None or captured is None or shown.shape != captured.shape:
            self.say("this view shows one map a layer: select a feature map in the gradients or activations view")
            return
        index = self.selected_class()
        node = self.captured.nodes[node_id]
        if index is not None:
            self.update(target=index)
        elif len(node.shape) == 2:  # a vector shown as cells: the selected cell is the unit
            self.update(target=f"{node.name}:{channel}:{y}:{x}")
        else:
            self.update(target=f"{node.name}:{channel}")
        self.say(f"target: {self.target_words()}")

    def target_prediction(self) -> None:
        """Shift-U: back to explaining the predicted class."""
        self.update(target=None)
        self.say("target: the predicted class")


def resolve_target(value: int | str | None, class_names: Sequence[str], layers: Sequence[str]) -> Target:
    """A target option as a :class:`Target`; one-line errors for names that match nothing."""
    if value is None:
        return Target()
    if isinstance(value, int):
        return Target(class_index=value)
    text = value.strip()
    if text.isdigit():
        return Target(class_index=int(text))
    parts = text.split(":")
    for cut in range(len(parts) - 1, 0, -1):  # layer names may hold ':' themselves: the longest that is a layer
        layer, numbers = ":".join(parts[:cut]), parts[cut:]
        if layer not in layers:
            continue
        if len(numbers) not in (1, 3) or not all(n.strip().isdigit() for n in numbers):
            raise Viz3dError(f"target {value!r}: after the layer give CHANNEL or CHANNEL:Y:X, e.g. {layer}:0")
        channel, *where = (int(n) for n in numbers)
        position = (where[0], where[1]) if where else None
        return Target(unit=layer, channel=channel, position=position)
    lowered = [n.lower() for n in class_names]
    if text.lower() in lowered:
        return Target(class_index=lowered.index(text.lower()))
    close = [n for n in class_names if text.lower() in n.lower()]
    if len(close) == 1:
        return Target(class_index=list(class_names).index(close[0]))
    hint = f" (matches {', '.join(close[:4])})" if close else ""
    raise Viz3dError(
        f"unknown target {value!r}{hint}: give a class index, a class name, or LAYER:CHANNEL[:Y:X] of a layer shown"
    )
