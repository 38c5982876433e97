"""What excites a channel: the K image crops, over a set of images, where each channel of a layer fires most.

The images run through the network in fixed-size batches, stopped at the
layer (:mod:`viz3d.explain.layer_output`); only the running top K per
channel is kept (:mod:`viz3d.explain.running_top`), never the activations.
A channel's score on an image is its maximum over spatial positions; its
patch is that position's receptive field on the input
(:mod:`viz3d.explain.boxes`), clipped to the image. Crops are cut on demand
from the images as the network saw them (normalization undone), so the
result (and its cache file, :mod:`viz3d.explain.patch_cache`) stays small.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import takewhile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from viz3d.capture.guard import check_real_tensors, model_untouched
from viz3d.errors import Viz3dError
from viz3d.explain.boxes import Box, ReceptiveBoxes
from viz3d.explain.image_source import ImageSource
from viz3d.explain.layer_output import layer_module, reading_layer, run_to_layer
from viz3d.explain.running_top import RunningTopK
from viz3d.preprocess import Preprocess

BATCH_SIZE = 32
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Patch:
    """One of a channel's top patches: the crop (3, h, w) in [0, 1], its score, where it came from."""

    crop: np.ndarray
    score: float
    source: str
    image: int
    box: Box  # y0, y1, x0, x1, inclusive, in the network input's pixels
    position: tuple[int, int]  # (y, x) in the layer's output


@dataclass
class TopPatches:
    """Per channel of ``layer``, the ``k`` best images: score, image index, output position and input box.

    Arrays are (C, k) (``positions`` and ``boxes`` add a last axis of 2 and 4);
    a channel seen on fewer than k images has -1 image indices in its tail.
    ``exact`` is False when the receptive-field walk crossed an op it cannot
    map (the boxes are then the whole image or a bound).
    """

    layer: str
    scores: np.ndarray
    images: np.ndarray
    positions: np.ndarray
    boxes: np.ndarray
    sources: list[str]
    exact: bool = True
    source: ImageSource | None = field(default=None, repr=False)

    @property
    def channels(self) -> int:
        return int(self.scores.shape[0])

    @property
    def k(self) -> int:
        return int(self.scores.shape[1])

    def patches(self, channel: int) -> list[Patch]:
        """Channel ``channel``'s patches, strongest first, with their crops."""
        if not 0 <= channel < self.channels:
            raise Viz3dError(f"layer {self.layer} has channels 0..{self.channels - 1}, not {channel}")
        out = []
        for j in range(self.k):
            index = int(self.images[channel, j])
            if index < 0:
                break
            y0, y1, x0, x1 = (int(v) for v in self.boxes[channel, j])
            crop = self._picture(index)[:, y0 : y1 + 1, x0 : x1 + 1]
            y, x = (int(v) for v in self.positions[channel, j])
            out.append(
                Patch(crop, float(self.scores[channel, j]), self.sources[index], index, (y0, y1, x0, x1), (y, x))
            )
        return out

    def _picture(self, index: int) -> np.ndarray:
        if self.source is None:
            raise Viz3dError("this top-patches result has no images attached to cut crops from")
        return _cached_picture(self.source, index)


@lru_cache(maxsize=64)
def _cached_picture(source: ImageSource, index: int) -> np.ndarray:
    """A picture read once while the inset flips between channels that share images."""
    return source.picture(index).detach().float().cpu().numpy()


def top_patches(
    model: nn.Module,
    images: str | Path | Sequence[str | Path] | torch.Tensor,
    layer: str,
    k: int = 9,
    preprocess: str | Preprocess | None = None,
    batch_size: int = BATCH_SIZE,
    cache: bool = True,
    progress: Progress | None = None,
) -> TopPatches:
    """The ``k`` patches of ``images`` that excite each channel of ``layer`` most.

    Parameters
    ----------
    model
        The network (left untouched: eval mode during the passes, restored after).
    images
        A folder, a list of image files, or an (N, C, H, W) tensor already preprocessed.
    layer
        A module's qualified name, e.g. ``conv3`` or ``layer3.1.conv2``.
    k
        Patches per channel.
    preprocess
        ``"none"``, ``"imagenet"`` or a :class:`~viz3d.preprocess.Preprocess`, as for ``viz3d show``.
    batch_size
        Images per forward pass (memory is bounded by this and ``k``).
    cache
        For files: load the result from, or save it to, a small file beside
        the images, keyed by the model's weights, the file list, the layer and ``k``.
    progress
        Called with (images done, total) after each batch.
    """
    from viz3d.explain import patch_cache

    source = ImageSource(images, model, preprocess)
    module = layer_module(model, layer)
    check_real_tensors(model, ())
    where = patch_cache.cache_path(model, source, layer, k) if cache and source.files else None
    if where is not None:
        found = patch_cache.load(where, source, layer)
        if found is not None:
            return found
    result = _search(model, module, source, layer, k, max(1, batch_size), progress)
    if where is not None:
        patch_cache.save(where, result, source)
    return result


def _leading_run(batch: list[torch.Tensor]) -> list[torch.Tensor]:
    """The images at the start of ``batch`` that share the first one's shape (folders can mix sizes)."""
    first = batch[0].shape
    return list(takewhile(lambda b: b.shape == first, batch))


def _device(model: nn.Module) -> torch.device:
    first = next(iter(model.parameters()), None)
    return first.device if first is not None else torch.device("cpu")


def _search(
    model: nn.Module,
    module: nn.Module,
    source: ImageSource,
    layer: str,
    k: int,
    batch_size: int,
    progress: Progress | None,
) -> TopPatches:
    device, total = _device(model), len(source)
    running = RunningTopK(k)
    sizes: dict[tuple[int, ...], ReceptiveBoxes] = {}
    shape_of: list[tuple[int, ...]] = []
    with model_untouched(model), torch.no_grad(), reading_layer(module) as seen:
        start = 0
        while start < total:
            batch = [source.network_input(i) for i in range(start, min(start + batch_size, total))]
            same = _leading_run(batch)
            x = torch.stack(same).to(device)
            running.add(run_to_layer(model, x, seen, layer), start)
            shape_of += [tuple(x.shape[1:])] * len(same)
            start += len(same)
            if progress is not None:
                progress(start, total)
    # Boxes come from captures (outside the hook) of one example per input size.
    assert running.scores is not None and running.images is not None and running.positions is not None
    scores, images = running.scores.cpu().numpy(), running.images.cpu().numpy()
    flat = running.positions.cpu().numpy()
    cols = running.grid[1]
    positions = np.stack([flat // cols, flat % cols], axis=-1)
    boxes = np.zeros((*scores.shape, 4), dtype=np.int64)
    for c in range(scores.shape[0]):
        for j in range(scores.shape[1]):
            shape = shape_of[int(images[c, j])]
            if shape not in sizes:
                example = source.network_input(int(images[c, j]))[None].to(device)
                sizes[shape] = ReceptiveBoxes(model, example, layer)
            boxes[c, j] = sizes[shape].box(c, int(positions[c, j, 0]), int(positions[c, j, 1]))
    exact = all(b.exact for b in sizes.values())
    sources = [source.name(i) for i in range(total)]
    return TopPatches(
        layer, scores.astype(np.float32), images.astype(np.int64), positions, boxes, sources, exact, source
    )
