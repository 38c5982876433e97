"""What excites a channel: top-patches throughput and feature-visualization speed.

Top patches (``viz3d.explain.top_patches``: PNG files read and decoded,
batches of 32, the forward stopped at the layer, a running top K per
channel) against a naive baseline measured in the same run: every image's
full forward with the layer's whole activation kept, then one sort per
channel over everything. Both read the same files the same way. On the
built-in default network (64x64 inputs, layer ``conv3``) and on a
torchvision-equivalent ResNet-50 (random weights; 224x224, layer
``layer3.5.conv2``). Feature visualization: optimisation steps per second at
the model's input size.

    PYTHONPATH=. python benchmarks/bench_explain.py [--images 256] [--resnet-images 16] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import row

from viz3d.explain import FeatureVis, top_patches
from viz3d.explain.image_source import ImageSource


def write_images(folder: Path, count: int, side: int, seed: int = 0) -> None:
    """``count`` PNGs of the default network's shapes, resized to ``side``."""
    from viz3d.models.shapes import make_dataset

    x, _ = make_dataset(count, seed=seed)
    for i in range(count):
        img = Image.fromarray((x[i].transpose(1, 2, 0) * 255).round().astype(np.uint8))
        img.resize((side, side), Image.Resampling.BILINEAR).save(folder / f"img{i:04d}.png")


def naive_top(model: torch.nn.Module, folder: Path, layer: str, k: int) -> tuple[np.ndarray, int]:
    """Keep every activation of the layer (full forwards), then sort each channel: the memory-hungry way."""
    source = ImageSource(folder, model)
    kept: list[torch.Tensor] = []
    handle = model.get_submodule(layer).register_forward_hook(lambda m, a, out: kept.append(out.detach().clone()))
    try:
        with torch.no_grad():
            for start in range(0, len(source), 32):
                batch = [source.network_input(i) for i in range(start, min(start + 32, len(source)))]
                model(torch.stack(batch))
    finally:
        handle.remove()
    everything = torch.cat(kept)  # (N, C, H, W): all of it in memory at once
    scores = everything.flatten(2).amax(dim=2).t()  # (C, N)
    return scores.argsort(dim=1, descending=True)[:, :k].numpy(), everything.nelement() * everything.element_size()


def bench_top_patches(name: str, model: torch.nn.Module, layer: str, count: int, side: int, repeats: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_images(folder, count, side)
        ours, naive = [], []
        for _ in range(repeats):  # interleaved, so load changes hit both alike
            t0 = time.perf_counter()
            result = top_patches(model, folder, layer, k=9, cache=False)
            ours.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            order, naive_bytes = naive_top(model, folder, layer, 9)
            naive.append(time.perf_counter() - t0)
        same = float(np.mean(result.images == order))
        t0 = time.perf_counter()
        top_patches(model, folder, layer, k=9)  # writes the cache
        t0 = time.perf_counter()
        top_patches(model, folder, layer, k=9)  # reads it
        cached = time.perf_counter() - t0
    ours_s, naive_s = statistics.median(ours), statistics.median(naive)
    print(f"{name}: top patches of {layer}, {count} images {side}x{side}, k=9")
    row("viz3d top_patches (running top-K, forward stopped)", f"{count / ours_s:8.1f} images/s ({ours_s:.2f} s)")
    row("naive: keep all activations, then sort", f"{count / naive_s:8.1f} images/s ({naive_s:.2f} s)")
    row("speed-up", f"{naive_s / ours_s:8.2f}x")
    per_image = naive_bytes // count
    ours_bytes = min(32, count) * per_image + result.scores.size * (4 + 8 + 8)  # one batch + the kept top K
    row("same top-9 images as the naive answer", f"{same:8.1%}")
    row("activation memory held: viz3d / naive", f"{ours_bytes / 2**20:8.2f} MiB / {naive_bytes / 2**20:.2f} MiB")
    row("second run, from the cache file", f"{cached * 1000:8.0f} ms")
    return {"ours_s": ours_s, "naive_s": naive_s, "same": same, "cached_s": cached, "naive_bytes": naive_bytes}


def bench_feature_vis(name: str, model: torch.nn.Module, layer: str, steps: int, repeats: int) -> float:
    rates = []
    for seed in range(repeats):
        run = FeatureVis(model, layer, 0, steps=steps, seed=100 + seed)
        run.advance(1)  # warm-up step
        t0 = time.perf_counter()
        run.advance(steps - 1)
        rates.append((steps - 1) / (time.perf_counter() - t0))
    rate = statistics.median(rates)
    row(f"{name}: feature visualization of {layer}", f"{rate:8.2f} steps/s (128 steps: {128 / rate:.1f} s)")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--resnet-images", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from resnet50 import resnet50

    from viz3d.models.default_net import default_model

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    default, big = default_model(), resnet50()
    bench_top_patches("default network", default, "conv3", args.images, 64, args.repeats)
    bench_top_patches("ResNet-50", big, "layer3.5.conv2", args.resnet_images, 224, args.repeats)
    print("feature visualization (median over runs)")
    bench_feature_vis("default network", default, "conv3", 16, args.repeats)
    bench_feature_vis("ResNet-50", big, "layer3.5.conv2", 4, args.repeats)


if __name__ == "__main__":
    main()
