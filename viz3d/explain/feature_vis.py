"""Feature visualization: an input image optimised, step by step, to excite one channel (torch only).

The image is a 1/f-scaled, colour-decorrelated spectrum (:mod:`viz3d.explain.fourier`);
each step jitters and scales it, runs the network up to the layer (stopped
there), and moves the spectrum up the gradient of the channel's mean
activation with Adam. Only the spectrum gets gradients
(``torch.autograd.grad``): the model's parameters keep their ``.grad``, and
every step runs inside :func:`~viz3d.capture.guard.model_untouched` (eval
mode, hooks removed, RNG states restored), so nothing of the model changes
even between steps while a viewer shows the image forming. Results are
memoised per (weights hash, layer, channel, steps, size, seed), in memory
and optionally in a folder.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from viz3d.capture.guard import check_real_tensors, model_untouched
from viz3d.errors import Viz3dError
from viz3d.explain.fourier import frequency_scale, jitter_and_scale, random_spectrum, spectrum_to_image
from viz3d.explain.layer_output import layer_module, reading_layer, run_to_layer, weights_fingerprint
from viz3d.files import atomic_write_bytes
from viz3d.preprocess import Preprocess, preprocessing

STEPS = 128
LEARNING_RATE = 0.05
DEFAULT_SIDE = 224  # when the model declares no input_shape
_MEMO: dict[tuple[object, ...], np.ndarray] = {}


@dataclass(frozen=True)
class FeatureVisStep:
    """After ``step`` of ``steps``: the image (3, H, W) in [0, 1] and the channel's mean activation on it (jittered)."""

    step: int
    steps: int
    image: np.ndarray
    objective: float


def _side(model: nn.Module, size: int | tuple[int, int] | None) -> tuple[int, int]:
    if size is None:
        shape = getattr(model, "input_shape", None)
        return (int(shape[2]), int(shape[3])) if shape is not None and len(shape) == 4 else (DEFAULT_SIDE,) * 2
    h, w = (size, size) if isinstance(size, int) else size
    if h < 8 or w < 8:
        raise Viz3dError(f"feature visualization needs an image of at least 8x8 pixels, got {h}x{w}")
    return int(h), int(w)


class FeatureVis:
    """One optimisation run; :meth:`advance` does a few steps at a time (a viewer calls it per frame)."""

    def __init__(
        self,
        model: nn.Module,
        layer: str,
        channel: int,
        steps: int = STEPS,
        size: int | tuple[int, int] | None = None,
        seed: int = 0,
        preprocess: str | Preprocess | None = None,
        learning_rate: float = LEARNING_RATE,
    ) -> None:
        if steps < 1:
            raise Viz3dError(f"feature visualization needs at least 1 step, got {steps}")
        check_real_tensors(model, ())
        self.model, self.layer, self.channel, self.steps, self.seed = model, layer, int(channel), int(steps), seed
        self.module = layer_module(model, layer)
        self.size = _side(model, size)
        self.prep = preprocessing(preprocess)
        first = next(iter(model.parameters()), None)
        self.device = first.device if first is not None else torch.device("cpu")
        self.generator = torch.Generator().manual_seed(seed)
        self.spectrum = random_spectrum(*self.size, self.generator).to(self.device).requires_grad_(True)
        self.scale = frequency_scale(*self.size).to(self.device)
        self.optimizer = torch.optim.Adam([self.spectrum], lr=learning_rate)
        self.jitter = max(1, round(0.03 * max(self.size)))
        self.done = 0
        self.objective = float("nan")
        self.key = (weights_fingerprint(model), layer, self.channel, self.steps, self.size, seed, self.prep.name)
        self.result: np.ndarray | None = _MEMO.get(self.key)
        if self.result is not None:
            self.done = self.steps

    @property
    def finished(self) -> bool:
        return self.done >= self.steps

    def image(self) -> np.ndarray:
        """The current image (3, H, W), float32 in [0, 1]."""
        if self.result is not None:
            return self.result
        with torch.no_grad():
            return spectrum_to_image(self.spectrum, self.scale, self.size)[0].float().cpu().numpy()

    def _network_input(self, image: torch.Tensor) -> torch.Tensor:
        if not self.prep.normalizes:
            return image
        mean, std = self.prep._channel_stats(image)
        return (image - mean) / std

    def advance(self, n: int = 1) -> FeatureVisStep:
        """Run up to ``n`` more steps (none once finished) and return where the image stands."""
        todo = min(n, self.steps - self.done)
        if todo > 0:
            with model_untouched(self.model), torch.enable_grad(), reading_layer(self.module) as seen:
                for _ in range(todo):
                    self._step(seen)
            if self.finished:
                self.result = self.image()
                _MEMO[self.key] = self.result
        return FeatureVisStep(self.done, self.steps, self.image(), self.objective)

    def _step(self, seen: dict[str, torch.Tensor]) -> None:
        image = spectrum_to_image(self.spectrum, self.scale, self.size)
        moved = jitter_and_scale(image, self.generator, self.jitter)
        out = run_to_layer(self.model, self._network_input(moved), seen, self.layer)
        if out.dim() < 2 or not 0 <= self.channel < out.shape[1]:
            raise Viz3dError(f"layer {self.layer} has channels 0..{out.shape[1] - 1}, not {self.channel}")
        objective = out[:, self.channel].float().mean()
        (grad,) = torch.autograd.grad(-objective, [self.spectrum])  # the model's .grad stays as it was
        self.optimizer.zero_grad(set_to_none=True)
        self.spectrum.grad = grad
        self.optimizer.step()
        self.spectrum.grad = None
        self.objective = float(objective.detach())
        self.done += 1

    def __iter__(self) -> Iterator[FeatureVisStep]:
        """One :class:`FeatureVisStep` per step until the budget is spent."""
        while not self.finished:
            yield self.advance(1)


def feature_visualization(
    model: nn.Module,
    layer: str,
    channel: int,
    steps: int = STEPS,
    size: int | tuple[int, int] | None = None,
    seed: int = 0,
    preprocess: str | Preprocess | None = None,
    callback: Callable[[FeatureVisStep], object] | None = None,
    cache_dir: str | Path | None = None,
) -> np.ndarray:
    """An image (3, H, W) in [0, 1] that maximises ``channel`` of ``layer``'s mean activation.

    ``steps`` optimisation steps (seeded by ``seed``) at ``size`` (the
    model's ``input_shape``, else 224). ``callback`` sees every intermediate
    step; iterate a :class:`FeatureVis` for a generator. Results are kept in
    memory per (weights, layer, channel, steps, size, seed), and in
    ``cache_dir`` as ``.npy`` files when given. The model is left untouched.
    """
    run = FeatureVis(model, layer, channel, steps, size, seed, preprocess)
    path = _disk_path(cache_dir, run.key) if cache_dir is not None else None
    if run.result is None and path is not None and path.is_file():
        try:
            run.result = np.load(path, allow_pickle=False)
            run.done = run.steps
            _MEMO[run.key] = run.result
        except (OSError, ValueError):  # a damaged cache file: compute again
            run.result = None
    for state in run:
        if callback is not None:
            callback(state)
    image = run.image()
    if path is not None and not path.is_file():
        import io

        buffer = io.BytesIO()
        np.save(buffer, image, allow_pickle=False)
        atomic_write_bytes(path, buffer.getvalue())
    return image


def _disk_path(folder: str | Path, key: tuple[object, ...]) -> Path:
    name = hashlib.sha256(repr(key).encode()).hexdigest()[:20]
    return Path(folder) / f"viz3d-feature-vis-{key[1]}-{key[2]}-{name}.npy"
