"""Reading one layer's output during a forward pass, and stopping the pass there (torch only).

A forward hook on the layer's module keeps its output and raises
:class:`_ReachedLayer`, so the layers after it never run: top patches and
feature visualization need nothing past the layer they look at. Hooks are
added inside :func:`~viz3d.capture.guard.model_untouched` by the callers, so
the model gets them back removed whatever happens.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import torch
from torch import nn

from viz3d.errors import Viz3dError


class _ReachedLayer(Exception):
    """Raised by the hook once the layer's output is known: the rest of the forward is skipped."""


def layer_module(model: nn.Module, layer: str) -> nn.Module:
    """The submodule called ``layer`` (a qualified name such as ``layer3.1.conv2``), or a one-line error."""
    modules = dict(model.named_modules())
    if layer and layer in modules:
        return modules[layer]
    names = [n for n, m in modules.items() if n and not list(m.children())]
    close = [n for n in names if layer and (layer in n or n in layer)][:6] or names[:8]
    raise Viz3dError(
        f"the model has no module named {layer!r}: name a module, e.g. {', '.join(close)} "
        "(viz3d inspect lists every layer)"
    )


def _first_tensor(output: Any) -> torch.Tensor:
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, (tuple, list)) and output and isinstance(output[0], torch.Tensor):
        return output[0]
    if isinstance(output, dict):
        for value in output.values():
            if isinstance(value, torch.Tensor):
                return value
    raise Viz3dError(f"the layer's output is a {type(output).__name__}, not a tensor: choose a layer that returns one")


@contextmanager
def reading_layer(module: nn.Module) -> Iterator[dict[str, torch.Tensor]]:
    """While active, a forward stores ``module``'s output under ``"out"`` of the yielded dict, then stops."""
    seen: dict[str, torch.Tensor] = {}

    def hook(mod: nn.Module, args: Any, output: Any) -> None:
        seen["out"] = _first_tensor(output)
        raise _ReachedLayer

    handle = module.register_forward_hook(hook)
    try:
        yield seen
    finally:
        handle.remove()


def run_to_layer(model: nn.Module, x: torch.Tensor, seen: dict[str, torch.Tensor], layer: str) -> torch.Tensor:
    """Run ``model(x)`` until the hooked layer (see :func:`reading_layer`) and return its output."""
    seen.pop("out", None)
    with suppress(_ReachedLayer):
        model(x)
    if "out" not in seen:
        raise Viz3dError(f"layer {layer!r} did not run in the model's forward: choose a layer the forward calls")
    return seen["out"]


def weights_fingerprint(model: nn.Module) -> str:
    """A hash of the model's class, parameter and buffer names, shapes and values (what a cache is keyed on)."""
    digest = hashlib.sha256(type(model).__qualname__.encode())
    for name, tensor in [*model.named_parameters(), *model.named_buffers()]:
        t = tensor.detach()
        digest.update(f"{name}:{tuple(t.shape)}:{t.dtype}".encode())
        digest.update(t.cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return digest.hexdigest()
