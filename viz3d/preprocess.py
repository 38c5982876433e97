"""Input preprocessing that matches a model's training (torch only).

A network trained on ImageNet expects a 224×224 centre crop of an image whose
shorter side was resized to 256, normalized by the ImageNet channel means and
standard deviations. ``--preprocess imagenet`` gives it exactly that;
``--preprocess none`` leaves the [0, 1] image as it is. The mean and std are
kept with the session, so the input slab can undo them and show the picture
in its own colours.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from viz3d.errors import Viz3dError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Preprocess:
    """Resize the shorter side to ``resize``, centre-crop to ``crop``, then ``(x - mean) / std`` per channel.

    Any step that is None is skipped. Inputs are (N, C, H, W) images in [0, 1].
    """

    name: str
    resize: int | None = None
    crop: int | None = None
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None

    @property
    def normalizes(self) -> bool:
        return self.mean is not None and self.std is not None

    def apply(self, x: torch.Tensor) -> torch.Tensor:
        """The preprocessed batch (a new tensor; ``x`` is not changed)."""
        if x.dim() != 4:
            raise Viz3dError(f"--preprocess {self.name} needs an (N, C, H, W) image batch, got shape {tuple(x.shape)}")
        x = x.float()
        if self.resize is not None:
            x = resize_shorter(x, self.resize)
        if self.crop is not None:
            x = centre_crop(x, self.crop)
        if self.normalizes:
            mean, std = self._channel_stats(x)
            x = (x - mean) / std
        return x

    def undo(self, image: torch.Tensor) -> torch.Tensor:
        """A (C, H, W) preprocessed image back in the [0, 1] colours it had (normalization undone)."""
        if not self.normalizes:
            return image
        mean, std = self._channel_stats(image[None])
        return image * std[0] + mean[0]

    def _channel_stats(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        assert self.mean is not None and self.std is not None
        if x.shape[1] != len(self.mean):
            raise Viz3dError(
                f"--preprocess {self.name} normalizes {len(self.mean)} channels, the input has {x.shape[1]}: "
                "use --preprocess none"
            )
        mean = torch.tensor(self.mean, dtype=x.dtype, device=x.device).reshape(1, -1, 1, 1)
        std = torch.tensor(self.std, dtype=x.dtype, device=x.device).reshape(1, -1, 1, 1)
        return mean, std


def resize_shorter(x: torch.Tensor, size: int) -> torch.Tensor:
    """Resize so the shorter side is ``size`` (bilinear, antialiased; the long side as torchvision rounds it)."""
    h, w = int(x.shape[-2]), int(x.shape[-1])
    short, long = min(h, w), max(h, w)
    if short == size:
        return x
    new_long = int(size * long / short)
    out = (size, new_long) if h <= w else (new_long, size)
    return F.interpolate(x, size=out, mode="bilinear", align_corners=False, antialias=True)


def centre_crop(x: torch.Tensor, size: int) -> torch.Tensor:
    """The central ``size``×``size`` window (offsets rounded as torchvision's CenterCrop rounds them)."""
    h, w = int(x.shape[-2]), int(x.shape[-1])
    if h < size or w < size:
        raise Viz3dError(f"cannot crop {size}x{size} out of a {h}x{w} image: resize it first")
    top, left = round((h - size) / 2.0), round((w - size) / 2.0)
    return x[..., top : top + size, left : left + size]


PREPROCESSING: dict[str, Preprocess] = {
    "none": Preprocess("none"),
    "imagenet": Preprocess("imagenet", resize=256, crop=224, mean=IMAGENET_MEAN, std=IMAGENET_STD),
}


def preprocessing(spec: str | Preprocess | None) -> Preprocess:
    """The :class:`Preprocess` named by ``spec`` (``"none"``, ``"imagenet"``), or ``spec`` itself."""
    if spec is None:
        return PREPROCESSING["none"]
    if isinstance(spec, Preprocess):
        return spec
    if spec not in PREPROCESSING:
        raise Viz3dError(f"unknown preprocessing {spec!r}; choose one of {', '.join(PREPROCESSING)}")
    return PREPROCESSING[spec]
