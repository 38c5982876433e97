"""``viz3d show`` and ``viz3d demo``: your model (or the built-in one) and your images in the viewer window.

``show --model FILE.py:FN|MODULE:FN|torchvision:NAME [--weights FILE] --input a.jpg b.jpg ...``
captures the first input; I cycles through the rest. ``demo`` is ``show`` with
the built-in trained network and, for its sample input, one sample of each
class to cycle. Without a display both write a PNG of the first input instead.
"""

from __future__ import annotations

import argparse
from typing import Any

from viz3d.cli import (
    DEFAULT_DEMO_OUT,
    _add_view_options,
    _load,
    _render_to_png,
    _say,
    capture_with_progress,
    parse_size,
    seconds_since_start,
    view_options_from_args,
)
from viz3d.errors import Viz3dError

MODEL_HELP = "'default', 'MODULE:FUNCTION', 'file.py:FUNCTION' or 'torchvision:NAME' (architecture only, no download)"
SAMPLES_TO_CYCLE = 5  # demo on a sample: I shows one sample of each class after it


def _add_viewer_flags(p: argparse.ArgumentParser, model: str | None) -> None:
    p.add_argument("--model", default=model, required=model is None, help=MODEL_HELP)
    p.add_argument("--weights", default=None, help="state dict (.safetensors, or torch.save file)")
    p.add_argument(
        "--input", nargs="+", default=["sample"], help="image files, 'sample[:K]' or 'random': I cycles through them"
    )
    p.add_argument("--out", default=DEFAULT_DEMO_OUT, help="PNG written when there is no display")
    p.add_argument("--size", type=parse_size, default=(1440, 900))
    p.add_argument("--offscreen", action="store_true", help="write the PNG even when a display exists")
    # For smoke tests and start-up benchmarks: open the window, draw once, report, exit.
    p.add_argument("--exit-after-first-frame", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--tour", default=None, help="flythrough, orbit or a tour .json: Space plays, PageDown steps")
    p.add_argument("--present", action="store_true", help="presenter mode: no HUD, minimap or help; large text")
    p.add_argument("--font-scale", type=float, default=1.0, help="size of the viewer's text (1 = default)")
    p.add_argument(
        "--top-patches", default=None, help="a folder of images: selecting a channel shows the crops exciting it most"
    )
    p.add_argument("--top-patches-layer", default=None, help="the layer for --top-patches (default: --select's layer)")
    _add_view_options(p)


def add_viewer_parsers(sub: Any) -> None:
    """The ``demo`` and ``show`` commands' flags."""
    demo = sub.add_parser("demo", help="show the built-in trained network (a PNG when there is no display)")
    _add_viewer_flags(demo, "default")
    show = sub.add_parser("show", help="show your model on your images in a window (a PNG when there is no display)")
    _add_viewer_flags(show, None)


def open_viewer_session(args: argparse.Namespace) -> Any:
    """Load the model, its weights and every input, capture the first, and open a session cycling them."""
    from rich.console import Console

    from viz3d.loading import load_input
    from viz3d.session import Session

    options = view_options_from_args(args)  # bad flags fail before the model is loaded
    model, x = _load(args.model, args.weights, args.input[0], args.device, args.preprocess)
    specs = list(args.input[1:])
    if args.model == "default" and args.input == ["sample"]:
        specs = [f"sample:{k}" for k in range(1, SAMPLES_TO_CYCLE + 1)]  # one sample of each class
    more = [load_input(spec, model, preprocess=args.preprocess).to(x.device) for spec in specs]
    trace = capture_with_progress(model, x, args.group_depth, Console(stderr=True))
    session = Session(
        trace,
        model=model,
        inputs=[x, *more],
        options=options,
        size=args.size,
        camera=args.camera,
        preprocess=args.preprocess,
        class_names=args.labels,
    )
    if args.focus:
        session.focus_layer(args.focus, frame=args.camera == "overview")
    if args.select:
        session.select(args.select)
    if args.top_patches:
        from viz3d.cli_explain import compute_top_patches

        layer = args.top_patches_layer or (args.select.split(":")[0] if args.select else None)
        if not layer:
            raise Viz3dError("--top-patches needs a layer: --top-patches-layer NAME, or --select LAYER:CHANNEL")
        session.set_top_patches(compute_top_patches(model, args.top_patches, layer, 9, args.preprocess))
    return session


def cmd_show(args: argparse.Namespace) -> int:
    """``show`` and ``demo``: a window, or the PNG of the first input where none can open."""
    from viz3d.renderer.context import display_problem

    problem = None if args.offscreen else display_problem()
    if args.offscreen or problem:
        if problem:
            _say(f"no window can open ({problem}): rendering {args.command} to a PNG instead")
        if args.top_patches:
            _say("--top-patches shows in the window's inset; for a picture of them use viz3d top-patches --out")
        _render_to_png(argparse.Namespace(**{**vars(args), "input": args.input[0]}), args.model, args.weights)
        return 0
    from viz3d.app.window import ViewerWindow

    session = open_viewer_session(args)
    window = ViewerWindow(session, title=f"viz3d {args.command}")
    if args.tour:
        session.load_tour(args.tour)  # after the window set the aspect: ready-made tours frame for it
    if args.exit_after_first_frame:
        _exit_after_first_frame(window)
    _say("drag: rotate, scroll: zoom, /: find a layer, I: next input, PageDown: next layer, H: all keys")
    window.run()
    return 0


def _exit_after_first_frame(window: Any) -> None:
    from vispy import app

    def drawn(event: Any) -> None:
        _say(f"first frame {seconds_since_start():.2f}s after the command started")
        window.canvas.events.draw.disconnect(drawn)
        app.Timer(0.05, connect=lambda e: app.quit(), iterations=1, start=True)

    window.canvas.events.draw.connect(drawn, position="last")
