"""``viz3d train-demo``: the default network trained from random initialisation, watched live.

A window shows the training through :func:`viz3d.watch` (by default the
weights view on conv1, so the first layer's filters are seen forming from
noise into edge and colour-contrast detectors); when training ends the
window stays, with the timeline to scrub. ``--record OUT.mp4`` renders a
frame after every snapshot offscreen, while training, instead; without a
display (as ``viz3d demo`` decides) the final view is written to ``--out``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import nn

from viz3d.cli import _add_view_options, _say, parse_size, view_options_from_args

POOL_IMAGES = 1536  # generated once (a few seconds); batches are drawn from it, flipped at random
BATCH = 32
LEARNING_RATE = 3e-3
FIRST_LAYER_INIT_STD = 1e-3  # conv1 starts near zero: what its filters show later is what the data taught
FIRST_LAYER_DECAY = 5e-2  # and decays, so noise the data does not support fades
PROBE_SAMPLE = 2  # the sample image the activations are shown for
KEEP_AT_MOST = 160  # snapshots the window keeps to scrub (1.8 MB each): every one of the default 1500 steps


def add_train_parser(sub: Any) -> None:
    """The ``train-demo`` command's flags."""
    p = sub.add_parser("train-demo", help="train the default network from scratch, live (or --record a video)")
    p.add_argument("--steps", type=int, default=1500, help="training steps (batches of 32)")
    p.add_argument("--every", type=int, default=10, help="snapshot (and view update) every N steps")
    p.add_argument("--run-dir", default=None, help="also write the snapshots to this new folder (viz3d replay)")
    p.add_argument("--record", default=None, help="record offscreen instead: OUT.mp4, OUT.gif or a frames folder")
    p.add_argument("--fps", type=float, default=8.0, help="recording: frames (snapshots) per second of video")
    p.add_argument("--out", default="viz3d-train-demo.png", help="PNG of the end of training when no window opens")
    p.add_argument("--size", type=parse_size, default=(1280, 720))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--offscreen", action="store_true", help="no window even where a display exists: write --out")
    _add_view_options(p)
    p.set_defaults(show="weights", focus="conv1")


def _check(args: argparse.Namespace) -> None:
    from viz3d.errors import Viz3dError

    for flag in ("steps", "every"):
        if getattr(args, flag) < 1:
            raise Viz3dError(f"--{flag} must be at least 1, got {getattr(args, flag)}")


def demo_model(seed: int, device: str | torch.device = "cpu") -> tuple[nn.Module, torch.optim.Optimizer]:
    """ShapesNet from random initialisation (conv1 near zero) on ``device``, and its optimizer."""
    from viz3d.models.default_net import ShapesNet

    torch.manual_seed(seed)
    model = ShapesNet()
    nn.init.normal_(model.conv1.weight, std=FIRST_LAYER_INIT_STD)
    model.to(device)
    first = list(model.conv1.parameters())
    rest = [p for n, p in model.named_parameters() if not n.startswith("conv1.")]
    groups = [{"params": first, "weight_decay": FIRST_LAYER_DECAY}, {"params": rest, "weight_decay": 1e-4}]
    return model.train(), torch.optim.AdamW(groups, lr=LEARNING_RATE)


def shape_images(steps: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The training images and labels, drawn before the watch starts (a short run draws no more than it uses)."""
    from rich.console import Console

    from viz3d.models.shapes import make_dataset

    pool = min(POOL_IMAGES, steps * BATCH)
    with Console(stderr=True).status(f"drawing {pool} shape images...", spinner="dots"):
        images, labels = make_dataset(pool, seed=seed + 1)
    return torch.from_numpy(images), torch.from_numpy(labels)


def training(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    watcher: Any,
    data: tuple[torch.Tensor, torch.Tensor],
    steps: int,
    seed: int = 0,
) -> Iterator[Any]:
    """Train ``steps`` steps on ``data``, ``watcher.step(loss=...)`` after each; yields each snapshot taken."""
    images, labels = data
    device = next(model.parameters()).device
    images, labels = images.to(device), labels.to(device)  # once: batches are indexed on the device
    generator = torch.Generator().manual_seed(seed)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(steps):
        idx = torch.randint(0, len(images), (BATCH,), generator=generator).to(device)
        x, y = images[idx], labels[idx]
        if torch.rand((), generator=generator) < 0.5:
            x = x.flip(3)  # the classes are mirror-symmetric
        # Colours are random in this data: shuffling the channels keeps the shapes and takes from conv1 the
        # easy way out (a detector per colour), so its filters turn into colour-independent edges sooner.
        x = x[:, torch.randperm(3, generator=generator).to(device)]
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        snapshot = watcher.step(loss=loss)
        if snapshot is not None:
            yield snapshot


def _probe(model: nn.Module) -> torch.Tensor:
    from viz3d.models.shapes import sample_image

    device = next(model.parameters()).device
    return torch.from_numpy(np.ascontiguousarray(sample_image(PROBE_SAMPLE)))[None].to(device)


def _focus(session: Any, args: argparse.Namespace) -> None:
    if args.focus:
        session.focus_layer(args.focus, frame=args.camera == "overview")


def _latest_session(watcher: Any, model: nn.Module, options: Any, args: argparse.Namespace) -> Any:
    """An offscreen session on the watch's newest snapshot (its timeline: that one), focused as asked."""
    from viz3d.session import Session

    latest = watcher.ring.latest
    assert latest is not None and latest.trace is not None  # the watch took step 0's at once
    session = Session(latest.trace, model=model, inputs=[watcher.probe], options=options, size=args.size)
    _focus(session, args)
    session.add_snapshot(latest, watcher.history, keep=1)
    return session


def _report(watcher: Any, t0: float, steps: int) -> None:
    seconds = time.perf_counter() - t0
    loss = watcher.history[-1][1].get("loss") if watcher.history else None
    tail = "" if loss is None else f", last loss {loss:.3g}"
    _say(f"trained {steps} steps in {seconds:.1f}s ({1000 * seconds / steps:.0f} ms a step{tail})")


def _record(args: argparse.Namespace, model: nn.Module, optimizer: torch.optim.Optimizer) -> int:
    """Train with the watch in memory and render a frame after each snapshot into ``--record``."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from viz3d.app.timeline_panel import TimelinePanels
    from viz3d.export.offscreen import OffscreenView
    from viz3d.export.record import check_record_output, write_frames
    from viz3d.training import watch

    frames_total = args.steps // args.every + 1 + (args.steps % args.every > 0)
    fmt = check_record_output(args.record, args.size, frames_total)
    options = view_options_from_args(args)
    data = shape_images(args.steps, args.seed)
    t0 = time.perf_counter()  # the training (with its snapshots and frames), not the drawing of the images
    watcher = watch(model, _probe(model), every=args.every, window=False, run_dir=args.run_dir, keep=1, options=options)
    session = _latest_session(watcher, model, options, args)
    columns = (TextColumn("training"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with (
        OffscreenView(session, args.size) as view,
        Progress(*columns, console=Console(stderr=True), transient=True) as bar,
    ):
        panels = TimelinePanels(session, slider=False)
        task = bar.add_task("train", total=args.steps)

        def frames() -> Iterator[np.ndarray]:
            yield view.frame(panels=panels)
            for snapshot in training(model, optimizer, watcher, data, args.steps, args.seed):
                bar.update(task, completed=watcher.steps)
                session.add_snapshot(snapshot, watcher.history, keep=1)
                yield view.frame(panels=panels)
            before = watcher.ring.latest
            watcher.close()  # a last snapshot when the steps do not end on one
            latest = watcher.ring.latest
            if latest is not None and latest is not before:
                session.add_snapshot(latest, watcher.history, keep=1)
                yield view.frame(panels=panels)

        write_frames(frames(), args.record, view.size, args.fps, fmt)
        panels.delete()
    _report(watcher, t0, args.steps)
    _say(f"wrote {args.record} ({args.size[0]}x{args.size[1]}, one frame per snapshot at {args.fps:g} fps)")
    return 0


def _headless(args: argparse.Namespace, model: nn.Module, optimizer: torch.optim.Optimizer) -> int:
    """No window: train with the watch in memory, then write the last view as ``--out``."""
    from viz3d.export.offscreen import OffscreenView
    from viz3d.files import IMAGE_FORMATS, check_output_path, save_image
    from viz3d.training import watch

    check_output_path(args.out, IMAGE_FORMATS)
    options = view_options_from_args(args)
    data = shape_images(args.steps, args.seed)
    t0 = time.perf_counter()  # the training (with its snapshots and frames), not the drawing of the images
    watcher = watch(model, _probe(model), every=args.every, window=False, run_dir=args.run_dir, keep=1, options=options)
    for _ in training(model, optimizer, watcher, data, args.steps, args.seed):
        pass
    watcher.close()
    _report(watcher, t0, args.steps)
    session = _latest_session(watcher, model, options, args)
    with OffscreenView(session, args.size, ssaa=2) as view:
        save_image(view.frame(), args.out)
    _say(f"wrote {args.out}: the network after {args.steps} steps")
    return 0


def cmd_train_demo(args: argparse.Namespace) -> int:
    """Train live in a window; ``--record`` or no display: offscreen."""
    from viz3d.loading import resolve_device
    from viz3d.renderer.context import display_problem

    _check(args)
    model, optimizer = demo_model(args.seed, resolve_device(args.device))
    if args.record:
        return _record(args, model, optimizer)
    problem = None if args.offscreen else display_problem()
    if args.offscreen or problem:
        if problem:
            _say(f"no window can open ({problem}): training offscreen, the end written to {args.out}")
        return _headless(args, model, optimizer)
    from viz3d.training import watch

    options = view_options_from_args(args)
    data = shape_images(args.steps, args.seed)
    t0 = time.perf_counter()  # the training (with its snapshots and frames), not the drawing of the images
    keep = min(args.steps // args.every + 2, KEEP_AT_MOST)  # the whole run to scrub, from the noise on
    watcher = watch(
        model, _probe(model), every=args.every, run_dir=args.run_dir, keep=keep, options=options, size=args.size
    )
    assert watcher.session is not None and watcher.window is not None
    _focus(watcher.session, args)
    _say(", . step through the snapshots, Shift: first/newest, Y plays the timeline, W: weights/activations")
    for _ in training(model, optimizer, watcher, data, args.steps, args.seed):
        if watcher.window.closed:
            break
    window = watcher.window
    watcher.close(keep_window=True)
    _report(watcher, t0, watcher.steps)
    if not window.closed:
        watcher.session.say("training done: , and . scrub the timeline, Y plays it, Q quits")
        window.run()
    return 0
