"""Capture leaves the model exactly as it found it (torch only).

Running a model can change it: in train mode BatchNorm updates its running
statistics and ``num_batches_tracked``, Dropout draws from the global RNG,
and a capture that fails half-way could leave hooks or flags behind.
:func:`model_untouched` runs the capture in eval mode (or train mode when
asked) and restores, whatever happens (an error, Ctrl-C): every submodule's
training flag, every buffer's values, the autograd mode, the global RNG
states, the module hook dictionaries and which tensors sit in the modules'
parameter and buffer slots (a traced ``self.ema = ...`` would leave an fx
Proxy there). Buffers are written back only when
their values changed (BatchNorm's kernel updates its statistics without
moving the tensor's version counter, so values are compared), so the usual
case costs one small copy of the buffers and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from viz3d.errors import Viz3dError

_HOOK_DICTS = (
    "_forward_hooks",
    "_forward_pre_hooks",
    "_backward_hooks",
    "_forward_hooks_with_kwargs",
    "_forward_pre_hooks_with_kwargs",
)


def check_real_tensors(model: nn.Module, x: Any) -> None:
    """Refuse meta-device parameters, buffers or inputs: they hold no values to show."""
    for what, tensors in (("parameters", model.parameters()), ("buffers", model.buffers())):
        if any(t.is_meta for t in tensors):
            raise Viz3dError(
                f"the model's {what} are on the meta device (shapes without values): load real weights first, "
                "e.g. model.to_empty(device='cpu') and load_state_dict(..., assign=True)"
            )
    inputs = x if isinstance(x, tuple) else (x,)
    if any(isinstance(t, torch.Tensor) and t.is_meta for t in inputs):
        raise Viz3dError("the input is a meta tensor (no values): pass a real tensor, e.g. torch.rand(...)")


@contextmanager
def model_untouched(model: nn.Module, train: bool = False) -> Iterator[None]:
    """Run the block with ``model`` in eval mode (``train=True``: train mode) and restore its state after."""
    flags = [(m, m.training) for m in model.modules()]
    buffers = [(b, b.detach().clone()) for b in model.buffers()]
    hooks = [(m, {name: dict(getattr(m, name)) for name in _HOOK_DICTS if hasattr(m, name)}) for m in model.modules()]
    # Which tensor objects sit in each module's slots: tracing a forward that assigns ``self.ema = ...``
    # would otherwise leave an fx Proxy (or a new tensor) in the user's model.
    slots = [(m, dict(m._parameters), dict(m._buffers)) for m in model.modules()]
    grad = torch.is_grad_enabled()
    cpu_rng = torch.get_rng_state()
    cuda_rng = torch.cuda.get_rng_state_all() if torch.cuda.is_available() and torch.cuda.is_initialized() else None
    try:
        model.train(train)
        yield
    finally:
        for module, flag in flags:
            module.training = flag
        with torch.no_grad():
            for buffer, saved in buffers:
                if not torch.equal(buffer, saved):
                    buffer.copy_(saved)
        for module, parameters, module_buffers in slots:
            _restore_slots(module._parameters, parameters)
            _restore_slots(module._buffers, module_buffers)
        for module, dicts in hooks:
            for name, saved_hooks in dicts.items():
                current = getattr(module, name)
                for key in [k for k in current if k not in saved_hooks]:
                    del current[key]
        torch.set_grad_enabled(grad)
        torch.set_rng_state(cpu_rng)
        if cuda_rng is not None:
            torch.cuda.set_rng_state_all(cuda_rng)


def _restore_slots(store: dict[str, Any], saved: dict[str, Any]) -> None:
    """Put back the very tensor objects a module's slots held (compared by identity, never by value)."""
    if store.keys() != saved.keys() or any(store[k] is not v for k, v in saved.items()):
        store.clear()
        store.update(saved)
