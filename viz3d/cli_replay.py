"""``viz3d replay RUN_DIR``: a run saved by ``viz3d.watch(run_dir=...)``, with its timeline.

The run folder holds each snapshot's shown activations and weights, not the
model: ``--model`` (the default network by default) is captured once on the
run's own probe input (its saved ``input`` activation) with the first
snapshot's weights, and that capture is the template every snapshot's saved
values are shown in. A window scrubs the timeline (, . Shift Y and the
slider); ``--render OUT.png [--step N]`` writes one snapshot; ``--record
OUT.mp4`` plays the timeline into a video, one frame per snapshot at ``--fps``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

from viz3d.cli import _add_view_options, _say, parse_size, view_options_from_args
from viz3d.errors import Viz3dError
from viz3d.session.timeline import Snapshot

REPLAY_FPS = 4.0  # the window's playing rate (viz3d.session.scrubbing.PLAY_RATE)


def add_replay_parser(sub: Any) -> None:
    """The ``replay`` command's flags."""
    p = sub.add_parser("replay", help="open a run saved by viz3d.watch(run_dir=...): scrub, render or record it")
    p.add_argument("run_dir", help="the run folder (index.json and step-*.safetensors)")
    p.add_argument(
        "--model", default="default", help="the trained architecture: 'default', 'MODULE:FN' or 'file.py:FN'"
    )
    p.add_argument("--step", type=int, default=None, help="the snapshot to open at (default: the last)")
    p.add_argument("--rank", type=int, default=0, help="a distributed run: the rank to show (default 0)")
    p.add_argument(
        "--against-rank",
        type=int,
        default=None,
        help="a distributed run: show --rank minus this rank at every step (coolwarm, one symmetric range a layer)",
    )
    p.add_argument("--render", default=None, help="write this snapshot as a PNG instead of opening a window")
    p.add_argument("--record", default=None, help="play the timeline into OUT.mp4, OUT.gif or a frames folder")
    p.add_argument("--fps", type=float, default=REPLAY_FPS, help="recording: snapshots per second of video")
    p.add_argument("--size", type=parse_size, default=(1280, 720))
    p.add_argument("--ssaa", type=int, default=2, choices=[1, 2, 3, 4], help="supersampling (--render)")
    _add_view_options(p)


def _load_weights(model: nn.Module, snapshot: Snapshot, model_spec: str) -> None:
    """Put ``snapshot``'s weights into ``model``; one line naming the mismatch when it is another architecture."""
    own = {k for k, v in model.state_dict().items() if v.is_floating_point()}
    saved = set(snapshot.weights)
    if own != saved:
        missing, extra = sorted(own - saved), sorted(saved - own)
        detail = (f"missing {', '.join(missing[:3])}" if missing else "") + (
            f"{'; ' if missing else ''}unexpected {', '.join(extra[:3])}" if extra else ""
        )
        raise Viz3dError(f"the run's weights do not fit --model {model_spec} ({detail}): pass the model it trained")
    try:
        model.load_state_dict(snapshot.weights, strict=False)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[-1].strip()
        raise Viz3dError(
            f"the run's weights do not fit --model {model_spec} ({first}): pass the model it trained"
        ) from None
    model.eval()


def _probe(snapshot: Snapshot) -> torch.Tensor:
    x = snapshot.activations.get("input")
    if x is None or x.dim() != 3:
        raise Viz3dError("the run holds no single image input ('input' activation) to capture the model on")
    return x[None].float()


def open_replay(args: argparse.Namespace) -> Any:
    """The run's snapshots in a session, at ``--step`` (or the last)."""
    from rich.console import Console

    from viz3d.capture import capture
    from viz3d.loading import load_model_spec
    from viz3d.session import Session
    from viz3d.session.comparing import rank_difference_snapshots
    from viz3d.session.run_folder import load_run, read_index, run_ranks

    if not Path(args.run_dir).is_dir():
        raise Viz3dError(f"run folder {args.run_dir} does not exist: pass a folder written by viz3d.watch(run_dir=...)")
    ranks = run_ranks(args.run_dir)
    if not ranks:
        read_index(args.run_dir)  # a folder that is not a run: its own one-line error
    for rank in (args.rank, args.against_rank):
        if rank is not None and rank not in ranks:
            there = ", ".join(map(str, ranks)) or "none"
            raise Viz3dError(f"{args.run_dir} holds no rank {rank}: its ranks are {there}")
    read_index(args.run_dir, args.rank)  # a folder that is not a run fails here, before anything loads
    options = view_options_from_args(args)
    with Console(stderr=True).status("loading the run...", spinner="dots"):
        snapshots, history = load_run(args.run_dir, rank=args.rank)
        if not snapshots:
            raise Viz3dError(f"{args.run_dir} holds no snapshots yet: nothing to replay")
        model = load_model_spec(args.model)
        _load_weights(model, snapshots[0], args.model)
        probe = _probe(snapshots[0])
        template = capture(model, probe, group_depth=args.group_depth)
        if args.against_rank is not None:
            snapshots = rank_difference_snapshots(args.run_dir, snapshots, args.against_rank)
            # Signed values: coolwarm's ranges are symmetric around zero, per layer; the input is a difference
            # too (no picture), and a softmax of logit differences is no answer.
            options = options.with_(colormap="coolwarm", input_rgb=False, prediction=False)
        steps = [s.step for s in snapshots]
        if args.step is not None and args.step not in steps:
            shown = ", ".join(map(str, steps[:8])) + (" ..." if len(steps) > 8 else "")
            both = f" of both ranks {args.rank} and {args.against_rank}" if args.against_rank is not None else ""
            raise Viz3dError(f"no snapshot of step {args.step}{both} in {args.run_dir}: its steps are {shown}")
    session = Session(template, model=model, inputs=[probe], options=options, size=args.size, camera=args.camera)
    index = steps.index(args.step) if args.step is not None else len(steps) - 1
    session.set_timeline(snapshots, history, template, index=index)
    if args.focus:
        session.focus_layer(args.focus, frame=args.camera == "overview")
    if args.select:
        session.select(args.select)
    return session


def _record(session: Any, args: argparse.Namespace) -> None:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from viz3d.app.timeline_panel import TimelinePanels
    from viz3d.export.offscreen import OffscreenView
    from viz3d.export.record import write_frames

    n = len(session.timeline)
    columns = (TextColumn("recording"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with (
        OffscreenView(session, args.size) as view,
        Progress(*columns, console=Console(stderr=True), transient=True) as bar,
    ):
        panels, task = TimelinePanels(session), bar.add_task("record", total=n)

        def frames() -> Any:
            for k in range(n):
                session.show_snapshot(k)
                yield view.frame(panels=panels)
                bar.update(task, completed=k + 1)

        write_frames(frames(), args.record, view.size, args.fps, args.record_format)
        panels.delete()


def cmd_replay(args: argparse.Namespace) -> int:
    """A window on the run; ``--render`` a PNG of one snapshot; ``--record`` the timeline as a video."""
    from viz3d.files import IMAGE_FORMATS, check_output_path, save_image

    t0 = time.perf_counter()
    if args.render:
        check_output_path(args.render, IMAGE_FORMATS)
    if args.record:
        from viz3d.export.record import check_record_output

        args.record_format = check_record_output(args.record, args.size, 1)
    session = open_replay(args)
    n, step = len(session.timeline), session.shown_snapshot.step
    if args.render:
        from viz3d.export.offscreen import OffscreenView

        with OffscreenView(session, args.size, ssaa=args.ssaa) as view:
            save_image(view.frame(), args.render)
        _say(f"wrote {args.render}: step {step} of {n} snapshots in {time.perf_counter() - t0:.1f}s")
    if args.record:
        _record(session, args)
        seconds = time.perf_counter() - t0
        _say(f"wrote {args.record}: {n} snapshots, one frame each at {args.fps:g} fps, in {seconds:.1f}s")
    if args.render or args.record:
        return 0
    from viz3d.app.window import ViewerWindow

    window = ViewerWindow(session, title=f"viz3d replay {args.run_dir}")
    _say(
        f"{n} snapshots, opened at step {step} in {time.perf_counter() - t0:.1f}s: , . step, Shift: first/last, Y plays"
    )
    window.run()
    return 0
