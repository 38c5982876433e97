"""``viz3d top-patches``: the image crops of a folder that excite each channel of a layer most.

``viz3d top-patches --model SPEC [--weights FILE] --images FOLDER --layer NAME [--k 9] [--out sheet.png]``
runs the folder through the network in batches (a progress bar), keeps the
K best crops per channel (cut by the receptive field) and caches the result
beside the images; ``--out`` writes a contact sheet, one row per channel.
``viz3d show ... --top-patches FOLDER`` attaches the same result to the viewer.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from viz3d.cli import _say

SHEET_CELL = 48


def add_top_patches_parser(sub: Any) -> None:
    """The ``top-patches`` command's flags."""
    from viz3d.cli_show import MODEL_HELP

    p = sub.add_parser("top-patches", help="the image crops of a folder that excite each channel of a layer most")
    p.add_argument("--model", default="default", help=MODEL_HELP)
    p.add_argument("--weights", default=None, help="state dict (.safetensors, or torch.save file)")
    p.add_argument("--images", required=True, help="a folder of images (PNG, JPEG, ...)")
    p.add_argument(
        "--layer", required=True, help="a module's name, e.g. conv3 or layer3.1.conv2 (viz3d inspect lists them)"
    )
    p.add_argument("--k", type=int, default=9, help="patches per channel")
    p.add_argument("--batch-size", type=int, default=32, help="images per forward pass (bounds the memory)")
    p.add_argument("--preprocess", default="none", choices=["none", "imagenet"], help="as for viz3d show")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    p.add_argument("--out", default=None, help="a PNG contact sheet: one row of patches per channel")
    p.add_argument("--channels", type=int, default=64, help="rows of the contact sheet (the first N channels)")
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the cache file")


def compute_top_patches(
    model: Any, folder: str, layer: str, k: int, preprocess: str, batch_size: int = 32, cache: bool = True
) -> Any:
    """:func:`viz3d.explain.top_patches` with a rich progress bar on stderr."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from viz3d.explain import top_patches

    columns = (TextColumn(f"top patches of {layer}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("images", total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return top_patches(model, folder, layer, k, preprocess, batch_size, cache, update)


def cmd_top_patches(args: argparse.Namespace) -> int:
    import time

    from viz3d.capture.guard import check_real_tensors
    from viz3d.files import IMAGE_FORMATS, check_output_path, save_image
    from viz3d.loading import apply_weights, load_model_spec, resolve_device

    if args.out:
        check_output_path(args.out, IMAGE_FORMATS)  # a bad --out fails before the images are read
    where = resolve_device(args.device)
    model = load_model_spec(args.model)
    if args.weights:
        apply_weights(model, args.weights)
    check_real_tensors(model, ())
    model = model.to(where)
    t0 = time.perf_counter()
    result = compute_top_patches(
        model, args.images, args.layer, args.k, args.preprocess, args.batch_size, not args.no_cache
    )
    seconds = time.perf_counter() - t0
    _say(
        f"{len(result.sources)} images, {result.channels} channels of {args.layer}, top {result.k} each "
        f"in {seconds:.1f}s" + ("" if result.exact else " (receptive fields approximate: an op of unknown mapping)")
    )
    for c in range(min(result.channels, 8)):
        best = result.patches(c)[:1]
        if best:
            p = best[0]
            rows, cols = f"{p.box[0]}..{p.box[1]}", f"{p.box[2]}..{p.box[3]}"
            _say(f"channel {c}: best {p.score:.4g} in {p.source}, box rows {rows}, cols {cols}")
    if args.out:
        save_image(contact_sheet(result, args.channels), args.out)
        _say(f"wrote {args.out}")
    return 0


def contact_sheet(result: Any, channels: int) -> np.ndarray:
    """(H, W, 3) uint8: one row per channel (up to ``channels``), its patches left to right, strongest first."""
    from PIL import Image

    rows = min(channels, result.channels)
    gap = 4
    sheet = np.full((rows * (SHEET_CELL + gap) + gap, result.k * (SHEET_CELL + gap) + gap, 3), 24, np.uint8)
    for c in range(rows):
        for j, p in enumerate(result.patches(c)):
            colour = (np.clip(np.moveaxis(p.crop, 0, -1), 0, 1) * 255).round().astype(np.uint8)
            h, w = colour.shape[:2]
            scale = SHEET_CELL / max(h, w)
            size = (max(1, round(w * scale)), max(1, round(h * scale)))
            cell = np.asarray(Image.fromarray(np.ascontiguousarray(colour)).resize(size, Image.Resampling.NEAREST))
            y, x = gap + c * (SHEET_CELL + gap), gap + j * (SHEET_CELL + gap)
            sheet[y : y + cell.shape[0], x : x + cell.shape[1]] = cell
    return sheet
