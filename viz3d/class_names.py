"""Names of a classifier's classes: from a labels file, from the model, or built in.

Where they come from, first found wins:

1. ``--labels FILE`` (``labels=`` in Python): a text file with one name per
   line, a JSON list of names, or a JSON object mapping class indices
   (``"0"``, ``"1"``...) to names;
2. the model, when it carries them (an attribute ``classes`` or
   ``class_names``, as the default network does);
3. the 1000 ImageNet classes for a 1000-way output (``viz3d/data/imagenet_classes.txt``,
   in the index order of torchvision's weights).

Anything else is named by index (``class 3``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from importlib import resources
from pathlib import Path

from torch import nn

from viz3d.errors import Viz3dError

IMAGENET_CLASSES = 1000


@cache
def imagenet_classes() -> tuple[str, ...]:
    """The 1000 ImageNet class names in index order (0 tench ... 999 toilet tissue)."""
    text = (resources.files("viz3d.data") / "imagenet_classes.txt").read_text(encoding="utf-8")
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def read_labels(path: str | Path) -> tuple[str, ...]:
    """Class names from a text file (one per line) or JSON (a list, or an index → name object)."""
    p = Path(path)
    if not p.is_file():
        raise Viz3dError(f"labels file not found: {p} (give a text file with one class name per line, or JSON)")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise Viz3dError(f"cannot read labels file {p}: {exc}") from None
    if p.suffix.lower() == ".json" or text.lstrip()[:1] in ("[", "{"):
        return _from_json(text, p)
    names = tuple(line.strip() for line in text.splitlines() if line.strip())
    if not names:
        raise Viz3dError(f"labels file {p} holds no names: write one class name per line")
    return names


def _from_json(text: str, path: Path) -> tuple[str, ...]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise Viz3dError(f"labels file {path} is not valid JSON: {exc}") from None
    if isinstance(data, list) and data and all(isinstance(v, str) for v in data):
        return tuple(data)
    if isinstance(data, dict) and data:
        try:
            by_index = {int(k): v for k, v in data.items()}
        except ValueError:
            by_index = {}
        if sorted(by_index) == list(range(len(by_index))) and all(isinstance(v, str) for v in by_index.values()):
            return tuple(by_index[i] for i in range(len(by_index)))
    raise Viz3dError(
        f"labels file {path} must hold a JSON list of names or an object mapping 0..K-1 to names, e.g. "
        '["cat", "dog"] or {"0": "cat", "1": "dog"}'
    )


def model_class_names(model: nn.Module | None) -> tuple[str, ...] | None:
    """The class names a model carries (``classes`` or ``class_names``), or None."""
    for attribute in ("classes", "class_names"):
        names = getattr(model, attribute, None) if model is not None else None
        listed = isinstance(names, Sequence) and not isinstance(names, str) and len(names) > 0
        if listed and all(isinstance(v, str) for v in names):  # type: ignore[union-attr]
            return tuple(names)  # type: ignore[arg-type]
    return None


def class_names_for(
    classes: int, labels: Sequence[str] | str | Path | None = None, model: nn.Module | None = None, where: str = ""
) -> tuple[str, ...]:
    """``classes`` names for a classifier output (rules in the module notes); a wrong count is one line."""
    if isinstance(labels, str | Path):
        names: tuple[str, ...] | None = read_labels(labels)
        source = f"labels file {labels}"
    elif labels is not None:
        names, source = tuple(str(v) for v in labels), "labels"
    else:
        names, source = model_class_names(model), "the model's class names"
    if names is not None:
        if len(names) != classes:
            raise Viz3dError(
                f"{source} has {len(names)} names but the classifier output{where} has {classes} classes: "
                "give one name per class, in index order"
            )
        return names
    if classes == IMAGENET_CLASSES:
        return imagenet_classes()
    return tuple(f"class {i}" for i in range(classes))
