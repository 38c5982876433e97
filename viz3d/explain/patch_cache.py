"""The top-patches cache: a small safetensors file beside the images (scores, image indices, positions, boxes).

Its name carries the layer and a hash of what the result depends on (the
model's weights, the image list with sizes and modification times, the
preprocessing, the layer, K), so a changed model or folder never reads a
stale result: it simply looks for another name. Written atomically
(:mod:`viz3d.files`); a file that cannot be read is ignored and rewritten.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import torch
from torch import nn

from viz3d.explain.image_source import ImageSource
from viz3d.explain.layer_output import weights_fingerprint
from viz3d.explain.patches import TopPatches
from viz3d.files import atomic_write_bytes

VERSION = "1"
PREFIX = ".viz3d-top-patches-"


def cache_path(model: nn.Module, source: ImageSource, layer: str, k: int) -> Path:
    """Where the result for (model, images, layer, k) is cached: in the first image's folder."""
    digest = hashlib.sha256(f"{VERSION}\0{layer}\0{k}\0".encode())
    digest.update(weights_fingerprint(model).encode())
    digest.update(source.fingerprint().encode())
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", layer)
    return source.files[0].parent / f"{PREFIX}{safe}-{digest.hexdigest()[:16]}.safetensors"


def save(path: Path, result: TopPatches, source: ImageSource) -> None:
    """Write ``result`` to ``path`` (atomically)."""
    from safetensors.torch import save

    tensors = {
        "scores": torch.from_numpy(np.ascontiguousarray(result.scores)),
        "images": torch.from_numpy(np.ascontiguousarray(result.images)),
        "positions": torch.from_numpy(np.ascontiguousarray(result.positions)),
        "boxes": torch.from_numpy(np.ascontiguousarray(result.boxes)),
    }
    names = [p.name for p in source.files]
    metadata = {"layer": result.layer, "exact": str(result.exact), "files": json.dumps(names), "version": VERSION}
    atomic_write_bytes(path, save(tensors, metadata=metadata))


def load(path: Path, source: ImageSource, layer: str) -> TopPatches | None:
    """The cached result at ``path`` for these images and layer, or None (missing, unreadable or not theirs)."""
    if not path.is_file():
        return None
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as fh:
            meta = fh.metadata() or {}
            arrays = {name: fh.get_tensor(name).numpy() for name in ("scores", "images", "positions", "boxes")}
    except Exception:  # a truncated or foreign file: compute again (and overwrite it)
        return None
    if meta.get("layer") != layer or json.loads(meta.get("files", "[]")) != [p.name for p in source.files]:
        return None
    sources = [str(p) for p in source.files]
    return TopPatches(
        layer,
        arrays["scores"],
        arrays["images"],
        arrays["positions"],
        arrays["boxes"],
        sources,
        meta.get("exact") == "True",
        source,
    )
