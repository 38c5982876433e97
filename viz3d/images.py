"""Reading input images at their real bit depth: nothing is clipped in silence, every failure is one line.

Pillow's ``convert("RGB")`` clips what does not fit in 8 bits: a 16-bit grey
PNG turns almost white, a float TIFF in [0, 1] almost black. Here every mode
is scaled by what its values mean, to RGB in [0, 1]:

- 8-bit modes (``1``, ``L``, ``P``, ``RGB``, ``CMYK``, ``YCbCr``, ``HSV``):
  Pillow's conversion to RGB, divided by 255;
- alpha (``RGBA``, ``LA``, ``PA``, a palette or colour key with transparency):
  composited on white, the background image viewers show;
- 16-bit grey (``I;16``): divided by 65535; 16-bit colour PNGs are read by
  Pillow at 8 bits per channel (the scale is kept, the precision is 1/255);
- 32-bit integer grey (``I``): divided by 2^bits - 1 when the file names a
  depth below 32 bits, else scaled from its min..max range (with a warning);
- float grey (``F``): taken as it is when every value lies in [0, 1], else
  scaled from its min..max range (with a warning); NaN or infinite pixels
  are refused;
- grey images are repeated into the three channels; EXIF orientation is applied.

An image over Pillow's decompression-bomb limit (``PIL.Image.MAX_IMAGE_PIXELS``)
is refused before it is decoded.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from viz3d.errors import Viz3dError, warn_once

HIGH_DEPTH_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")
ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")
WHITE = (255, 255, 255, 255)
MAX_SIDE = 2048  # longest side of an input image when the model declares no input size


def _open(path: Path) -> Image.Image:
    """Open and decode ``path``, turning Pillow's bomb guard and decoder errors into one line."""
    with warnings.catch_warnings():
        # Pillow only warns between the limit and twice it; an input that big is refused either way.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(path)
            img.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            found = re.search(r"\((\d+) pixels\)", str(exc))
            size = f"{int(found.group(1)):,} pixels" if found else "too many pixels"
            raise Viz3dError(
                f"input image {path} has {size}, over Pillow's safety limit of {Image.MAX_IMAGE_PIXELS:,}: "
                "downscale it first (the model sees a small image anyway)"
            ) from None
        except UnidentifiedImageError as exc:
            raise Viz3dError(
                f"cannot read input image {path}: {_one_line(exc)} (Pillow decodes PNG, JPEG, WebP, BMP, GIF and "
                "TIFF with 8/16-bit or one float channel: save it as one of those)"
            ) from None
        except (OSError, ValueError, SyntaxError) as exc:
            # SyntaxError and ValueError: some Pillow decoders report broken headers so.
            raise Viz3dError(f"cannot read input image {path}: {_one_line(exc)}") from None
    return img


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:160] if text else type(exc).__name__


def _bits_per_sample(img: Image.Image) -> int | None:
    """The bit depth the file declares for an integer grey image, when it says."""
    if img.format == "PNG":
        return 16  # PNG grey is at most 16 bits; Pillow may hand 16-bit grey over as mode I
    tags = getattr(img, "tag_v2", None)
    bits = tags.get(258) if tags is not None else None  # TIFF BitsPerSample
    if isinstance(bits, tuple | list) and bits:
        bits = bits[0]
    return int(bits) if isinstance(bits, int) else None


def _by_range(values: np.ndarray, path: Path, what: str) -> np.ndarray:
    lo, hi = float(values.min()), float(values.max())
    warn_once(f"input image {path}: {what} values span [{lo:.6g}, {hi:.6g}]; scaled from that range to [0, 1]")
    if hi == lo:
        return np.zeros_like(values, dtype=np.float32)
    return ((values - lo) / (hi - lo)).astype(np.float32)


def _high_depth_unit(img: Image.Image, path: Path) -> np.ndarray:
    """A 16-bit, 32-bit integer or float grey image as float32 values in [0, 1]."""
    raw = np.asarray(img)
    if img.mode == "F":
        values = raw.astype(np.float32, copy=False)
        bad = int(values.size - np.count_nonzero(np.isfinite(values)))
        if bad:
            raise Viz3dError(
                f"input image {path} has {bad:,} NaN or infinite pixels: replace them (e.g. with 0) and try again"
            )
        if values.size and (values.min() < 0 or values.max() > 1):
            return _by_range(values, path, "float")
        return values
    bits = 16 if img.mode.startswith("I;16") else _bits_per_sample(img)
    # float32 holds 16-bit values exactly at half the memory; wider integers need float64 to stay exact.
    values = raw.astype(np.float32 if bits is not None and bits <= 16 else np.float64)
    if bits is not None and bits < 32 and values.size and values.min() >= 0 and values.max() <= 2**bits - 1:
        return (values / (2**bits - 1)).astype(np.float32)
    return _by_range(values, path, "integer")


def _upright(img: Image.Image, path: Path) -> Image.Image:
    """``img`` turned as its EXIF orientation says (a camera photo held sideways)."""
    try:
        return ImageOps.exif_transpose(img)
    except Exception as exc:  # a broken EXIF block raises many types; the pixels are still good
        warn_once(f"input image {path}: its EXIF orientation is unreadable ({_one_line(exc)}); used as stored")
        return img


def _eight_bit_rgb(img: Image.Image) -> Image.Image:
    """RGB of an 8-bit image, alpha composited on white."""
    if img.mode in ALPHA_MODES or "transparency" in img.info:
        rgba = img.convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", rgba.size, WHITE), rgba).convert("RGB")
    return img if img.mode == "RGB" else img.convert("RGB")


def _bounded(size: tuple[int, int], path: Path) -> tuple[int, int] | None:
    """A size within :data:`MAX_SIDE` for an image the model gives no size for (None when it fits).

    Without it a 10000² photo would run the network at full size; the model
    declares no ``input_shape`` to say what it wants, so say what was done.
    """
    w, h = size
    if max(w, h) <= MAX_SIDE:
        return None
    scale = MAX_SIDE / max(w, h)
    fitted = (max(1, round(w * scale)), max(1, round(h * scale)))
    warn_once(
        f"input image {path} is {w}x{h}: resized to {fitted[0]}x{fitted[1]} (the model declares no input_shape; "
        "give it one, or resize the image, to choose the size)"
    )
    return fitted


def read_image(path: str | Path, size: tuple[int, int] | None = None) -> np.ndarray:
    """The image file at ``path`` as a (3, H, W) float32 array in [0, 1] (rules in the module notes).

    ``size`` (width, height) resizes it (bilinear, antialiased) before the
    conversion to float, so a big photo never exists as a float array;
    without one, images over :data:`MAX_SIDE` pixels on a side are fitted
    into it, with a warning.
    """
    p = Path(path)
    opened = img = _open(p)
    try:
        img = _upright(img, p)
        size = size or _bounded(img.size, p)
        if img.mode in HIGH_DEPTH_MODES or img.mode.startswith("I;"):
            grey = Image.fromarray(_high_depth_unit(img, p))  # float32: mode F
            if size is not None:
                grey = grey.resize(size, Image.Resampling.BILINEAR)
            unit = np.clip(np.asarray(grey, dtype=np.float32), 0.0, 1.0)  # bilinear weights keep [0, 1] up to rounding
            return np.repeat(unit[None], 3, axis=0)
        rgb = _eight_bit_rgb(img)
        if size is not None:
            rgb = rgb.resize(size, Image.Resampling.BILINEAR)
        return np.ascontiguousarray(np.asarray(rgb, dtype=np.float32).transpose(2, 0, 1)) / 255.0
    except (OSError, ValueError) as exc:  # truncated data, a mode Pillow cannot convert
        raise Viz3dError(f"cannot read input image {p} (mode {img.mode}): {_one_line(exc)}") from None
    finally:
        opened.close()  # a multi-frame file keeps its handle open until closed
