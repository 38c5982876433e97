"""Deep networks one block at a time: folded to fit when opened, a block opened in place and closed again (GL-free).

Mixed into :class:`~viz3d.session.session.Session`. A network of more than
``ViewOptions.max_slabs`` units opens folded at the deepest module depth
where it fits; O on a folded block shows that block's own modules in place
(``ViewOptions.open_blocks``), its neighbours staying folded, and O on a
layer inside an opened block folds it back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from viz3d.capture import capture
from viz3d.capture.common import ProgressCallback
from viz3d.capture.folding import block_of, closed
from viz3d.capture.trace import Trace
from viz3d.errors import Viz3dError
from viz3d.session.options import ViewOptions


def module_depth(model: nn.Module) -> int:
    """The deepest dotted-name depth of any module (``layer3.1.conv2``: 3)."""
    return max((name.count(".") + 1 for name, _ in model.named_modules() if name), default=0)


def fitted_capture(
    model: nn.Module, x: Any, options: ViewOptions, batch_index: int, progress: ProgressCallback | None
) -> tuple[Trace, ViewOptions]:
    """Capture ``x``; past ``options.max_slabs`` units (and folding left to viz3d), fold to the deepest depth that fits.

    Returns the trace and the options it was captured with (``group_depth`` and
    ``fold_depth`` set when it was folded). One more forward pass per depth tried.
    """

    def run(depth: int | None) -> Trace:
        return capture(
            model, x, group_depth=depth, open_blocks=options.open_blocks, batch_index=batch_index, progress=progress
        )

    trace = run(options.group_depth)
    limit = options.max_slabs
    if limit is None or options.group_depth is not None or len(trace) <= limit:
        return trace, options
    for depth in range(module_depth(model) - 1, 0, -1):
        folded = run(depth)
        if len(folded) <= limit or depth == 1:
            folded.notes.append(
                f"{len(trace)} units folded to {len(folded)} blocks at depth {depth} (O opens one, G shows all)"
            )
            return folded, options.with_(group_depth=depth, fold_depth=depth)
    return trace, options


class Blocks:
    """Opening and closing blocks; needs ``trace``, ``options``, ``model``, ``inputs``, ``update``, ``say``."""

    trace: Trace
    options: ViewOptions
    model: nn.Module | None
    inputs: list[Any]
    selection: tuple[int, int, int, int] | None
    update: Callable[..., None]
    say: Callable[[str], None]
    fly_to_node: Callable[..., None]

    def close_block(self, layer: int | str | None = None) -> None:
        """Shift-O: close the opened block ``layer`` (id or name; default the selected layer) is in."""
        self.toggle_block(layer, close=True)

    def toggle_block(self, layer: int | str | None = None, close: bool = False) -> None:
        """O: open the folded block ``layer`` (id or name; default the selected layer), or close the block it is in.

        ``close`` closes the block ``layer`` is in even when ``layer`` is itself a folded block.
        """
        if self.model is None or not self.inputs:
            self.say("opening blocks needs the model: open the viewer with viz3d.show(model, x)")
            return
        node_id = self._block_layer(layer)
        if node_id is None:
            self.say("select a layer (click) or point at one, then O opens or closes its block")
            return
        node = self.trace.nodes[node_id]
        name = node.name.split("#")[0]  # a module called twice is one block
        folded_block = node.module is not None and any(True for _ in node.module.children())
        if folded_block and self.options.group_depth is not None and not close:
            self.update(open_blocks=self.options.open_blocks | {name})
            self._arrive(name, f"opened {name} ({node.op})")
            return
        block = block_of(name, self.options.open_blocks)
        if block is None:
            hint = "G folds the network into blocks" if self.options.group_depth is None else "it is not inside a block"
            self.say(f"{node.name} is a single layer: {hint}")
            return
        self.update(open_blocks=closed(self.options.open_blocks, block))
        self._arrive(block, f"closed {block}")

    def _block_layer(self, layer: int | str | None) -> int | None:
        if layer is None:
            return self.selection[0] if self.selection is not None else None
        if isinstance(layer, int):
            if not 0 <= layer < len(self.trace.nodes):
                raise Viz3dError(f"no layer with id {layer}: ids are 0..{len(self.trace.nodes) - 1}")
            return layer
        try:
            return self.trace.node(layer).id
        except KeyError:
            raise Viz3dError(f"no layer named {layer!r} to open or close") from None

    def _arrive(self, block: str, message: str) -> None:
        """After the new layout: fly to the block's first unit (the camera was framed on the whole network)."""
        first = next((n.id for n in self.trace.nodes if n.name == block or n.name.startswith(block + ".")), None)
        if first is not None:
            self.fly_to_node(first)
        self.say(message)
