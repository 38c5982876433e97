"""Live training benchmark: the cost of ``viz3d.watch`` on a training step, and of one snapshot update.

The default network (random initialisation) trains on viz3d's shapes on the
CPU with SGD, batch ``--batch``. Modes run in interleaved rounds in the same
process (the machine's load changes alike for all): without a watch, with
``watch(every=1)`` and ``watch(every=10)`` keeping snapshots only, and
``watch(every=10)`` showing them in a hidden EGL window, and ``watch(every=1)``
showing them in the notebook widget (960×600, as in a Jupyter kernel: frames
pushed from ``step()`` at the widget's pace, and unpaced, a frame every step;
the frames go to a comm nobody reads). A block of 10 steps
is timed as a whole (a median over single steps would skip the snapshot
steps); the figure is the median block time per step. Target: overhead
≤ 5 % at every=10.

One snapshot update is then split into capture (activations and weight
copy), statistics (computed only when shown), upload (the session shows the
new trace, the textures are refreshed) and frame (1280×720 with the HUD).

Run: ``python benchmarks/bench_watch.py [--rounds 3] [--batch 64]``
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
from collections.abc import Iterator
from typing import Any

from common import gl_finish, median_time, row

BLOCK = 10


def training_setup(batch: int, seed: int = 0) -> tuple[Any, Any, Any, Any]:
    """The default network from random initialisation, its optimizer, a batch source and a probe."""
    import torch

    from viz3d.models.default_net import default_model
    from viz3d.models.shapes import make_dataset

    torch.manual_seed(seed)
    model = default_model(pretrained=False).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    images, labels = make_dataset(batch * 4, seed)
    x, y = torch.from_numpy(images), torch.from_numpy(labels).long()
    batches = [(x[i : i + batch], y[i : i + batch]) for i in range(0, len(x), batch)]
    return model, opt, batches, x[:1].clone()


@contextlib.contextmanager
def as_in_a_kernel(paced: bool) -> Iterator[None]:
    """watch(window=True) takes the notebook widget, as in a Jupyter kernel; ``paced=False`` pushes every frame."""
    import IPython.display

    import viz3d.notebook
    from viz3d.notebook.widget import Viz3dWidget

    saved = viz3d.notebook.in_notebook, IPython.display.display
    pace = Viz3dWidget.busy_min_interval, Viz3dWidget.busy_frame_share
    viz3d.notebook.in_notebook, IPython.display.display = (lambda: True), (lambda *a, **k: None)
    if not paced:
        Viz3dWidget.busy_min_interval, Viz3dWidget.busy_frame_share = 0.0, 1.0
    try:
        yield
    finally:
        viz3d.notebook.in_notebook, IPython.display.display = saved
        Viz3dWidget.busy_min_interval, Viz3dWidget.busy_frame_share = pace


def block_seconds(mode: str, blocks: int, batch: int) -> list[float]:
    """Seconds per step of each block of ``BLOCK`` steps, trained under ``mode``."""
    import viz3d

    model, opt, batches, probe = training_setup(batch)
    watcher = None
    if "widget" in mode:
        with as_in_a_kernel(paced="unpaced" not in mode):
            return _blocks(model, opt, batches, viz3d.watch(model, probe, every=1), blocks)
    if mode != "plain":
        every = int(mode.split("=")[1].split()[0])
        watcher = viz3d.watch(model, probe, every=every, window="window" in mode, backend="egl", size=(1280, 720))
    return _blocks(model, opt, batches, watcher, blocks)


def _blocks(model: Any, opt: Any, batches: Any, watcher: Any, blocks: int) -> list[float]:
    import torch

    out = []
    for b in range(blocks):
        t0 = time.perf_counter()
        for i in range(BLOCK):
            x, y = batches[(b * BLOCK + i) % len(batches)]
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            if watcher is not None:
                watcher.step(loss=loss)
        out.append((time.perf_counter() - t0) / BLOCK)
    if watcher is not None:
        watcher.close()
    return out


def step_overhead(rounds: int, blocks: int, batch: int) -> dict[str, float]:
    """Median seconds per training step of each mode (interleaved rounds)."""
    modes = ("plain", "every=1", "every=10", "every=10 window", "every=1 widget", "every=1 widget unpaced")
    times: dict[str, list[float]] = {m: [] for m in modes}
    block_seconds("plain", 1, batch)  # warm-up: allocator, kernels, imports
    for _ in range(rounds):
        for mode in modes:
            times[mode] += block_seconds(mode, blocks, batch)
    return {m: statistics.median(t) for m, t in times.items()}


def update_split(repeats: int) -> dict[str, float]:
    """Milliseconds of one snapshot update: capture, statistics, upload, frame (hidden EGL window, 1280×720)."""
    from viz3d.app.window import ViewerWindow
    from viz3d.capture.stats import layer_statistics
    from viz3d.session import Session
    from viz3d.session.timeline import take_snapshot

    model, _, _, probe = training_setup(16)
    first = take_snapshot(model, probe, 0)
    assert first.trace is not None
    window = ViewerWindow(Session(first.trace, size=(1280, 720)), backend="egl")
    window.draw_now()
    snaps: list[Any] = []
    capture_s = median_time(lambda: snaps.append(take_snapshot(model, probe, 1)), repeats)
    stats_s = median_time(lambda: layer_statistics(snaps[-1].trace), repeats)

    def upload() -> None:
        window.session.show_trace(snaps[-1].trace)
        window.view.sync()
        gl_finish()

    def frame() -> None:
        window.draw_now()
        gl_finish()

    upload_s, frame_s = median_time(upload, repeats), median_time(frame, repeats)
    window.canvas.close()
    return {
        k: 1e3 * v
        for k, v in zip(
            ("capture", "statistics", "upload", "frame"), (capture_s, stats_s, upload_s, frame_s), strict=True
        )
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--blocks", type=int, default=2, help="blocks of 10 steps per mode and round")
    parser.add_argument("--batch", type=int, default=64, help="64: what demos/train_default_net.py trains with")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    medians = step_overhead(args.rounds, args.blocks, args.batch)
    base = medians["plain"]
    print(f"training step, default network, CPU, batch {args.batch} (median of {args.rounds * args.blocks} blocks):")
    for mode, seconds in medians.items():
        row(f"{mode}", f"{1e3 * seconds:7.1f} ms   x{seconds / base:.3f}")
    print("one snapshot update (default network, 1280x720):")
    for name, ms in update_split(args.repeats).items():
        row(name, f"{ms:7.1f} ms")


if __name__ == "__main__":
    main()
