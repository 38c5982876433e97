"""The image parametrisation and random transforms of feature visualization (torch only).

As in Lucid/Lucent ("Feature Visualization", Olah et al., Distill 2017):

- the image is a spectrum: its real FFT coefficients, each frequency scaled
  by 1/f, so a step of gradient ascent changes low frequencies as much as
  high ones and the image does not fill with high-frequency noise;
- colours are decorrelated: the three channels the spectrum gives are mixed
  by the square root of ImageNet's colour covariance (an SVD), then a
  sigmoid keeps every pixel in [0, 1] without clipping away gradients;
- each step sees the image padded, jittered (rolled), slightly scaled and
  jittered again, so only features robust to small shifts survive.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

# Square root of ImageNet's RGB covariance, from Lucid; columns scaled so the largest has norm 1.
COLOUR_SQRT = torch.tensor([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]])
COLOUR_MIX = COLOUR_SQRT / COLOUR_SQRT.norm(dim=0).max()
SCALES = tuple(1.0 + (i - 5) / 100.0 for i in range(11))  # 0.95 .. 1.05


def frequency_scale(h: int, w: int, decay: float = 1.0) -> torch.Tensor:
    """(h, w // 2 + 1) factors 1 / max(f, 1 / max(h, w)) ** decay of the real FFT's frequencies.

    With the orthonormal inverse FFT (as Lucent does; Lucid's unnormalised one also multiplied by sqrt(h·w)).
    """
    fy = torch.fft.fftfreq(h)[:, None]
    fx = torch.fft.rfftfreq(w)[None, :]
    f = torch.sqrt(fy * fy + fx * fx)
    return 1.0 / torch.clamp(f, min=1.0 / max(h, w)) ** decay


def random_spectrum(h: int, w: int, generator: torch.Generator, channels: int = 3) -> torch.Tensor:
    """A small random starting spectrum (1, C, h, w // 2 + 1, 2): real and imaginary parts."""
    return torch.randn((1, channels, h, w // 2 + 1, 2), generator=generator) * 0.01


def spectrum_to_image(spectrum: torch.Tensor, scale: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """The (1, 3, H, W) image in (0, 1) of a spectrum: 1/f scaling, inverse FFT, colour mixing, sigmoid."""
    coeffs = torch.view_as_complex(spectrum.contiguous()) * scale
    raw = torch.fft.irfft2(coeffs, s=size, norm="ortho") / 4.0
    mixed = torch.einsum("nchw,dc->ndhw", raw, COLOUR_MIX.to(raw.device, raw.dtype))
    return torch.sigmoid(mixed)


def jitter_and_scale(image: torch.Tensor, generator: torch.Generator, jitter: int) -> torch.Tensor:
    """The image padded, rolled by up to ``jitter`` pixels, scaled by one of :data:`SCALES`, rolled again, cut back.

    The output has the input's size, so models with a fixed input size take it.
    """
    h, w = image.shape[-2:]
    pad = 2 * jitter + math.ceil(0.03 * max(h, w))
    x = F.pad(image, (pad, pad, pad, pad), mode="reflect" if pad < min(h, w) else "replicate")

    def roll(t: torch.Tensor, most: int) -> torch.Tensor:
        if most < 1:
            return t
        dy, dx = (int(v) for v in torch.randint(-most, most + 1, (2,), generator=generator))
        return torch.roll(t, shifts=(dy, dx), dims=(-2, -1))

    x = roll(x, jitter)
    s = SCALES[int(torch.randint(len(SCALES), (1,), generator=generator))]
    if s != 1.0:
        x = F.interpolate(x, scale_factor=s, mode="bilinear", align_corners=False)
    x = roll(x, max(1, jitter // 2))
    # The padding exceeds what the smallest scale takes away, so the centre cut always fits.
    top, left = (x.shape[-2] - h) // 2, (x.shape[-1] - w) // 2
    return x[..., top : top + h, left : left + w]
