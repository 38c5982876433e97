"""``viz3d record``: a camera tour recorded offscreen, with a progress bar and its ETA."""

from __future__ import annotations

import argparse
import time

from viz3d.cli import _load, _say, capture_with_progress, view_options_from_args


def cmd_record(args: argparse.Namespace) -> int:
    """Load, capture, then record ``--tour`` to ``--out`` (every output check runs before the model loads)."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from viz3d.export.record import check_record_output, check_tour_spec, record_tour
    from viz3d.session import Session

    console, t0 = Console(stderr=True), time.perf_counter()
    check_record_output(args.out, args.size, 1)  # a bad --out, tour or a missing encoder fails first
    check_tour_spec(args.tour)
    options = view_options_from_args(args)
    with console.status("loading the model...", spinner="dots"):
        model, x = _load(args.model, args.weights, args.input, args.device)
    trace = capture_with_progress(model, x, args.group_depth, console)
    session = Session(trace, model=model, inputs=[x], options=options, size=args.size)
    if args.select:
        session.select(args.select)
    columns = (TextColumn("recording"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("record", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        out = record_tour(session, args.tour, args.out, args.size, args.fps, args.ssaa, progress=progress)
    duration = session.tour.duration if session.tour is not None else 0.0
    w, h = args.size
    _say(f"wrote {out} ({w}x{h}, {duration:.1f} s at {args.fps:g} fps) in {time.perf_counter() - t0:.1f}s")
    return 0
