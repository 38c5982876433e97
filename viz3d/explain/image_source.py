"""The images top patches are searched in: a folder, a list of files, or a tensor batch (torch only).

Files are read as ``viz3d show --input`` reads them (:func:`viz3d.images.read_image`,
resized to the model's declared input size unless the preprocessing resizes)
and then preprocessed. :meth:`ImageSource.network_input` gives what the
network sees; :meth:`ImageSource.picture` gives the same pixels in their
own [0, 1] colours (normalization undone), which is what crops are cut from.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from viz3d.errors import Viz3dError
from viz3d.images import read_image
from viz3d.preprocess import Preprocess, preprocessing

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff"})


def folder_images(folder: str | Path) -> list[Path]:
    """The image files directly in ``folder``, sorted by name (hidden files, such as caches, skipped)."""
    root = Path(folder)
    if not root.is_dir():
        raise Viz3dError(f"image folder not found: {root} (give a folder of PNG or JPEG files to --images)")
    files = sorted(p for p in root.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."))
    if not files:
        raise Viz3dError(f"no images in {root}: put PNG, JPEG, WebP, BMP, GIF or TIFF files in it")
    return files


class ImageSource:
    """Numbered images for one model: files (read on demand) or the rows of a tensor batch."""

    def __init__(
        self,
        images: str | Path | Sequence[str | Path] | torch.Tensor,
        model: nn.Module,
        preprocess: str | Preprocess | None = None,
    ) -> None:
        self.prep = preprocessing(preprocess)
        self.tensor: torch.Tensor | None = None
        self.files: list[Path] = []
        if isinstance(images, torch.Tensor):
            if images.dim() != 4:
                raise Viz3dError(f"images as a tensor must be an (N, C, H, W) batch, got shape {tuple(images.shape)}")
            self.tensor = images.detach()
        elif isinstance(images, (str, Path)):
            self.files = folder_images(images)
        else:
            self.files = [Path(p) for p in images]
            missing = [p for p in self.files if not p.is_file()]
            if missing:
                raise Viz3dError(f"image file not found: {missing[0]} ({len(missing)} of {len(self.files)} missing)")
        if self.tensor is None and not self.files:
            raise Viz3dError("no images given: pass a folder, a list of image files or an (N, C, H, W) tensor")
        shape = getattr(model, "input_shape", None)
        fits = shape is not None and len(shape) == 4 and self.prep.resize is None
        self.size = (int(shape[3]), int(shape[2])) if fits and shape is not None else None

    def __len__(self) -> int:
        return int(self.tensor.shape[0]) if self.tensor is not None else len(self.files)

    def name(self, index: int) -> str:
        """The file name of image ``index`` (``#index`` for a tensor's rows)."""
        return str(self.files[index]) if self.files else f"#{index}"

    def picture(self, index: int) -> torch.Tensor:
        """Image ``index`` as (C, H, W) in [0, 1]: as the network sees it, before normalization."""
        if self.tensor is not None:
            return self.prep.undo(self.tensor[index]) if self.prep.normalizes else self.tensor[index]
        x = torch.from_numpy(read_image(self.files[index], self.size))[None]
        crop_only = Preprocess("crop", resize=self.prep.resize, crop=self.prep.crop)
        return crop_only.apply(x)[0]

    def network_input(self, index: int) -> torch.Tensor:
        """Image ``index`` as (C, H, W), preprocessed: what the network is given."""
        if self.tensor is not None:
            return self.tensor[index]
        picture = self.picture(index)
        if not self.prep.normalizes:
            return picture
        return Preprocess("norm", mean=self.prep.mean, std=self.prep.std).apply(picture[None])[0]

    def fingerprint(self) -> str:
        """A hash of the image list: names, sizes and modification times (or a tensor's values)."""
        digest = hashlib.sha256(self.prep.name.encode())
        if self.tensor is not None:
            digest.update(self.tensor.cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
            return digest.hexdigest()
        for p in self.files:
            st = p.stat()
            digest.update(f"{p.name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        return digest.hexdigest()
