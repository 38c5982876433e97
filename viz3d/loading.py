"""Loading user models, weights and input images; every failure is a Viz3dError."""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
from pathlib import Path
from typing import Any

import torch
from torch import nn

from viz3d.capture.common import expected_input_shape
from viz3d.errors import Viz3dError, describe
from viz3d.preprocess import Preprocess, preprocessing


def resolve_device(spec: str) -> torch.device:
    """The torch device of ``--device``: ``cpu``, ``cuda``, ``cuda:N`` or ``auto`` (CUDA when torch sees one)."""
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(spec)
    except (RuntimeError, ValueError):
        raise Viz3dError(f"unknown device {spec!r}: use cpu, cuda, cuda:N or auto") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise Viz3dError(
                f"device {spec!r}: torch sees no CUDA device (a CPU build of torch, or no GPU driver); use cpu"
            )
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise Viz3dError(f"device {spec!r}: torch sees {count} CUDA device(s), cuda:0 to cuda:{count - 1}")
    elif device.type != "cpu":
        raise Viz3dError(f"device {spec!r}: viz3d captures on cpu or cuda")
    return device


def load_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a state dict from ``.safetensors`` or a ``torch.save`` file.

    ``torch.load`` always runs with ``weights_only=True`` so a weights file
    cannot execute code.
    """
    p = Path(path)
    if not p.is_file():
        raise Viz3dError(f"weights file not found: {p} (check the path given to --weights)")
    try:
        if p.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(p))
        obj = torch.load(str(p), map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt files raise many different types
        if "weights_only" in str(exc) or "Weights only" in str(exc):
            why = "it is corrupt, or holds Python objects besides tensors (only plain state dicts are loaded)"
        else:
            why = _first_line(exc)
        raise Viz3dError(f"cannot read weights file {p}: {why}") from exc
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise Viz3dError(f"weights file {p} does not hold a state dict (a mapping of names to tensors)")
    return obj


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:160] if text else type(exc).__name__


def apply_weights(model: nn.Module, path: str | Path) -> nn.Module:
    """Load a weights file into ``model``, explaining mismatched keys in one line."""
    state = load_state_dict(path)
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        missing, unexpected = _key_mismatch(model, state)
        detail = (
            f"{len(missing)} missing keys (e.g. {missing[:2]}), {len(unexpected)} unexpected (e.g. {unexpected[:2]})"
        )
        if not missing and not unexpected:
            detail = str(exc).strip().splitlines()[-1].strip()
        raise Viz3dError(f"weights file {path} does not fit the model: {detail}") from exc
    return model


def _key_mismatch(model: nn.Module, state: dict[str, torch.Tensor]) -> tuple[list[str], list[str]]:
    own = set(model.state_dict())
    given = set(state)
    return sorted(own - given), sorted(given - own)


def load_model_spec(spec: str) -> nn.Module:
    """Build a model from ``default``, ``MODULE:FUNCTION``, ``path/to/file.py:FUNCTION`` or ``torchvision:NAME``.

    FUNCTION is called with no arguments and must return an ``nn.Module``.
    ``torchvision:NAME`` builds the architecture only (random weights, nothing
    downloaded): trained weights come from ``--weights``.
    """
    if spec == "default":
        from viz3d.models.default_net import default_model

        return default_model()
    if spec.startswith(TORCHVISION):
        return _torchvision_model(spec)
    if ":" not in spec:
        raise Viz3dError(
            f"bad model spec {spec!r}: use 'default', 'MODULE:FUNCTION', 'path/to/file.py:FUNCTION' "
            "or 'torchvision:NAME'"
        )
    where, func_name = spec.rsplit(":", 1)
    module = _import_target(where, spec)
    factory = getattr(module, func_name, None)
    if factory is None or not callable(factory):
        raise Viz3dError(f"bad model spec {spec!r}: {where} has no callable named {func_name!r}")
    try:
        model = factory()
    except Exception as exc:
        raise Viz3dError(f"model factory {spec} raised {type(exc).__name__}: {exc}") from exc
    if not isinstance(model, nn.Module):
        raise Viz3dError(f"model factory {spec} returned {type(model).__name__}, not a torch.nn.Module")
    return model.eval()


TORCHVISION = "torchvision:"


def _torchvision_model(spec: str) -> nn.Module:
    """``torchvision:NAME``: the architecture from ``torchvision.models.get_model`` with ``weights=None``."""
    name = spec[len(TORCHVISION) :]
    if not name:
        raise Viz3dError(f"bad model spec {spec!r}: name an architecture, e.g. torchvision:resnet18")
    try:
        import torchvision
    except ImportError:
        raise Viz3dError(f"{spec} needs torchvision, which is not installed: pip install 'viz3d[zoo]'") from None
    try:
        # weights=None: never a download; a user's trained weights come through --weights.
        model = torchvision.models.get_model(name, weights=None)
    except Exception as exc:  # an unknown name is a ValueError; a broken build can raise anything
        raise Viz3dError(
            f"torchvision cannot build {name!r} ({describe(exc)}); names are those of "
            "torchvision.models.list_models(), e.g. resnet18, densenet121, efficientnet_b0, vit_b_16"
        ) from exc
    if not isinstance(model, nn.Module):
        raise Viz3dError(f"torchvision:{name} returned {type(model).__name__}, not a torch.nn.Module")
    return model.eval()


def _import_target(where: str, spec: str) -> Any:
    if where.endswith(".py"):
        path = Path(where)
        if not path.is_file():
            raise Viz3dError(f"bad model spec {spec!r}: file {path} not found")
        name = f"viz3d_user_{path.stem}"
        mod_spec = importlib.util.spec_from_file_location(name, path)
        if mod_spec is None or mod_spec.loader is None:
            raise Viz3dError(f"bad model spec {spec!r}: cannot import {path}")
        module = importlib.util.module_from_spec(mod_spec)
        sys.modules[name] = module
        try:
            mod_spec.loader.exec_module(module)
        except Exception as exc:
            raise Viz3dError(f"importing {path} raised {describe(exc)}") from exc
        return module
    try:
        return importlib.import_module(where)
    except ImportError as exc:
        raise Viz3dError(f"bad model spec {spec!r}: cannot import module {where!r} ({exc})") from exc
    except Exception as exc:  # the user's module itself failed while importing
        raise Viz3dError(f"importing module {where!r} raised {describe(exc)}") from exc


SAMPLE_SPEC = re.compile(r"sample(?::(.*))?")


def sample_index(spec: str) -> int | None:
    """The K of a built-in ``sample`` / ``sample:K`` input, or None when ``spec`` is something else.

    A path that exists is always the user's file, whatever its name (``sample.png``).
    """
    found = SAMPLE_SPEC.fullmatch(spec)
    if found is None or Path(spec).exists():
        return None
    k = found.group(1)
    if k is None:
        return 0
    if not k.isdigit():
        raise Viz3dError(f"bad input {spec!r}: use sample or sample:K with K a whole number >= 0, e.g. sample:3")
    return int(k)


def load_input(spec: str, model: nn.Module, seed: int = 0, preprocess: str | Preprocess | None = None) -> torch.Tensor:
    """An input batch for ``model``: ``random``, ``sample[:K]`` or an image file, then ``preprocess``.

    Images are scaled to [0, 1] by their real bit depth (:mod:`viz3d.images`)
    and resized to the model's expected H×W when it declares one, unless the
    preprocessing resizes them itself (``imagenet``: shorter side 256, centre
    crop 224, ImageNet mean/std).
    """
    prep = preprocessing(preprocess)
    x = _raw_input(spec, model, seed, prep)
    return prep.apply(x) if prep.name != "none" else x


def _raw_input(spec: str, model: nn.Module, seed: int, prep: Preprocess) -> torch.Tensor:
    shape = getattr(model, "input_shape", None)
    if spec == "random":
        if shape is None:
            guess = expected_input_shape(model)
            if guess is None:
                raise Viz3dError(
                    "cannot guess this model's input shape for --input random: give the model an input_shape "
                    "attribute, e.g. (1, 3, 224, 224)"
                )
            # Batch 1; spatial sizes a typical image (224) or signal (256) would have.
            sizes = {"N": 1, "H": 224, "W": 224, "D": 16, "L": 256}
            shape = tuple(sizes[str(v)] if isinstance(v, str) else int(v) for v in guess)
        g = torch.Generator().manual_seed(seed)
        return torch.rand(tuple(shape), generator=g)
    index = sample_index(spec)
    if index is not None:
        from viz3d.models.shapes import sample_image

        return torch.from_numpy(sample_image(index))[None]
    path = Path(spec)
    if not path.is_file():
        raise Viz3dError(f"input image not found: {path} (give an image file, 'sample' or 'random')")
    from viz3d.images import read_image

    # The model's own size, unless the preprocessing resizes (then the image keeps its detail until then).
    fits = shape is not None and len(shape) == 4 and prep.resize is None
    size = (int(shape[3]), int(shape[2])) if fits and shape is not None else None
    return torch.from_numpy(read_image(path, size))[None]


def load_batch(
    spec: str, model: nn.Module, batch: int, seed: int = 0, preprocess: str | Preprocess | None = None
) -> torch.Tensor:
    """``batch`` inputs: ``random`` (seeded), ``sample`` (one of each class in turn), or one image (batch 1)."""
    if batch < 1:
        raise Viz3dError(f"--batch must be at least 1, got {batch}")
    if batch == 1:
        return load_input(spec, model, seed, preprocess)
    prep = preprocessing(preprocess)
    if spec == "random":
        one = _raw_input("random", model, seed, prep)
        g = torch.Generator().manual_seed(seed)
        x = torch.rand((batch, *one.shape[1:]), generator=g)
        return prep.apply(x) if prep.name != "none" else x
    start = sample_index(spec)
    if start is not None:
        return torch.cat([load_input(f"sample:{start + k}", model, preprocess=prep) for k in range(batch)])
    raise Viz3dError("--batch above 1 needs --input sample or --input random (one image is one input)")
