"""Command line: ``viz3d demo``, ``show``, ``render``, ``record``, ``inspect``, ``graph``, ``train-demo``,
``replay``, ``diff`` and ``top-patches``.

Errors from bad input are one line (``viz3d: ...``) and exit status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from viz3d.errors import Viz3dError

DEFAULT_DEMO_OUT = "viz3d-demo.png"


def seconds_since_start() -> float:
    """Seconds since this process started (Linux /proc), for start-up reports."""
    try:
        ticks = os.sysconf("SC_CLK_TCK")
        with open("/proc/self/stat") as fh:
            start = int(fh.read().rsplit(")", 1)[1].split()[19]) / ticks
        with open("/proc/uptime") as fh:
            return float(fh.read().split()[0]) - start
    except (OSError, ValueError, IndexError):
        return float("nan")


def parse_size(text: str) -> tuple[int, int]:
    """``1920x1080`` → (1920, 1080)."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad size {text!r}: use WIDTHxHEIGHT, e.g. 1920x1080") from None
    if w < 1 or h < 1 or w > 8192 or h > 8192:
        raise argparse.ArgumentTypeError(f"bad size {text!r}: each side must be 1..8192 pixels")
    return w, h


def _say(message: str) -> None:
    print(f"viz3d: {message}", file=sys.stderr)


def _format_warning(message: Any, category: Any, filename: str, lineno: int, line: str | None = None) -> str:
    return f"viz3d: warning: {message}\n"


def _texture_budget(text: str) -> int | str | None:
    from viz3d.session.options import parse_texture_budget

    try:
        return parse_texture_budget(text)
    except Viz3dError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _add_view_options(p: argparse.ArgumentParser) -> None:
    from viz3d.scene.camera import PRESETS
    from viz3d.scene.colormaps import COLORMAPS
    from viz3d.scene.normalization import NORMALIZATIONS
    from viz3d.session import CONNECTION_KINDS, VIEWS

    p.add_argument(
        "--camera",
        default="overview",
        help=f"camera preset ({', '.join(PRESETS)}) or a view.json saved with K in the viewer",
    )
    p.add_argument("--colormap", default="viridis", choices=list(COLORMAPS))
    p.add_argument("--normalization", default="layer", choices=list(NORMALIZATIONS))
    p.add_argument("--group-depth", type=int, default=None, help="fold modules below this depth into one slab")
    p.add_argument(
        "--arrangement",
        default="auto",
        choices=["auto", "line", "rows"],
        help="line: layers one behind the other; rows: wrapped like text to fill the frame; auto: rows when long",
    )
    p.add_argument(
        "--connections",
        default="graph",
        help="comma-separated kinds to draw: "
        + ", ".join(f"{k.name} ({k.label})" for k in CONNECTION_KINDS.values())
        + "; '' for none",
    )
    p.add_argument(
        "--texture-budget",
        type=_texture_budget,
        default="auto",
        help="texture memory for activations, e.g. 512M or 2G ('auto': from the GL implementation; 'none')",
    )
    p.add_argument("--focus", default=None, help="layer name: start there, the layers in front of it cut away")
    p.add_argument("--select", default=None, help="unit for rf/weights: LAYER:CHANNEL[:Y:X], e.g. conv3:5:2:4")
    shows = [v.name for v in VIEWS.values() if v.compare is None]  # difference views: viz3d diff
    p.add_argument(
        "--show",
        default="activations",
        choices=shows,
        help="what the slabs show (gradients, attribution, gradcam: why the network answered as it did)",
    )
    p.add_argument(
        "--target",
        default=None,
        help="what gradients/attribution/gradcam explain: a class index or name, or LAYER:CHANNEL "
        "(default: the predicted class)",
    )
    p.add_argument(
        "--preprocess", default="none", choices=["none", "imagenet"], help="imagenet: resize 256, crop 224, mean/std"
    )
    p.add_argument("--labels", default=None, help="class names: a text file (one per line) or JSON list/object")
    p.add_argument(
        "--shared-filter-range", action="store_true", help="weights view: one range for a layer's colour filters"
    )
    p.add_argument(
        "--device",
        default="cpu",
        help="where the model runs: cpu, cuda, cuda:N or auto; on CUDA with an NVIDIA GL context the "
        "activations reach the textures without a trip through host memory",
    )


def add_record_parser(sub: Any) -> None:
    """``viz3d record``: its flags (the command itself is :func:`viz3d.cli_record.cmd_record`)."""
    record = sub.add_parser("record", help="record a camera tour offscreen: .mp4, .gif or a folder of PNG frames")
    record.add_argument("--model", default="default", help="'default', 'MODULE:FUNCTION' or 'file.py:FUNCTION'")
    record.add_argument("--weights", default=None, help="state dict (.safetensors, or torch.save file)")
    record.add_argument("--input", default="sample", help="image file, 'sample[:K]' or 'random'")
    record.add_argument("--tour", default="flythrough", help="flythrough, orbit or a tour .json (Ctrl-S in the viewer)")
    record.add_argument("--out", required=True, help="talk.mp4 (H.264), talk.gif, or a folder for PNG frames")
    record.add_argument("--size", type=parse_size, default=(1920, 1080))
    record.add_argument("--fps", type=float, default=30.0)
    record.add_argument("--ssaa", type=int, default=1, choices=[1, 2, 3, 4], help="supersampling factor")
    record.add_argument("--font-scale", type=float, default=1.0, help="size of the captions (1 = default)")
    _add_view_options(record)


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="viz3d", description="See a PyTorch network's activations in 3D.")
    sub = parser.add_subparsers(dest="command", required=True)

    from viz3d.cli_diff import add_diff_parser  # these modules import this one: here, not at the top
    from viz3d.cli_explain import add_top_patches_parser
    from viz3d.cli_replay import add_replay_parser
    from viz3d.cli_show import add_viewer_parsers
    from viz3d.cli_train import add_train_parser

    add_viewer_parsers(sub)
    add_record_parser(sub)
    add_train_parser(sub)
    add_replay_parser(sub)
    add_diff_parser(sub)
    add_top_patches_parser(sub)

    render = sub.add_parser("render", help="render a network offscreen to a PNG")
    render.add_argument("--model", default="default", help="'default', 'MODULE:FUNCTION' or 'file.py:FUNCTION'")
    render.add_argument("--weights", default=None, help="state dict (.safetensors, or torch.save file)")
    render.add_argument("--input", default="sample", help="image file, 'sample[:K]' or 'random'")
    render.add_argument("--out", default="frame.png")
    render.add_argument("--size", type=parse_size, default=(1920, 1080))
    render.add_argument("--ssaa", type=int, default=2, choices=[1, 2, 3, 4], help="supersampling factor")
    render.add_argument(
        "--texture-format", default="r32f", choices=["r32f", "r16f"], help="activation textures (r16f: half the memory)"
    )
    render.add_argument("--batch-index", type=int, default=0, help="which sample of the input batch to show")
    _add_view_options(render)
    inspect = sub.add_parser("inspect", help="per-layer statistics and health flags as a table (or --json)")
    inspect.add_argument(
        "model", nargs="?", default="default", help="'default', 'MODULE:FUNCTION' or 'file.py:FUNCTION'"
    )
    inspect.add_argument("--weights", default=None, help="state dict (.safetensors, or torch.save file)")
    inspect.add_argument("--input", default="sample", help="image file, 'sample[:K]' or 'random'")
    inspect.add_argument("--batch", type=int, default=1, help="aggregate over N inputs (sample or random)")
    inspect.add_argument("--group-depth", type=int, default=None)
    inspect.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    graph = sub.add_parser("graph", help="the dataflow graph as a 2D diagram (.svg, .png or .pdf)")
    graph.add_argument("model", nargs="?", default="default", help="'default', 'MODULE:FUNCTION' or 'file.py:FN'")
    graph.add_argument("--out", default="arch.svg", help="output file: .svg, .png or .pdf")
    graph.add_argument("--weights", default=None, help="state dict (.safetensors, or torch.save file)")
    graph.add_argument("--input", default="sample", help="image file, 'sample[:K]' or 'random'")
    graph.add_argument("--group-depth", type=int, default=None, help="fold modules below this depth")
    graph.add_argument(
        "--max-nodes", type=int, default=120, help="fold deeper modules until the diagram has at most this many"
    )
    return parser


def _load(
    model_spec: str, weights: str | None, input_spec: str, device: str = "cpu", preprocess: str = "none"
) -> tuple[Any, Any]:
    from viz3d.capture.guard import check_real_tensors
    from viz3d.loading import apply_weights, load_input, load_model_spec, resolve_device

    where = resolve_device(device)  # a bad device fails before the model is built
    model = load_model_spec(model_spec)
    if weights:
        apply_weights(model, weights)
    check_real_tensors(model, ())  # before .to(): a meta model cannot be moved (a traceback otherwise)
    x = load_input(input_spec, model, preprocess=preprocess)
    return model.to(where), x.to(where)


def view_options_from_args(args: argparse.Namespace) -> Any:
    """The :class:`~viz3d.session.ViewOptions` a command's flags ask for (one place for every command)."""
    from viz3d.session import ViewOptions

    return ViewOptions(
        show=args.show,
        colormap=args.colormap,
        normalization=args.normalization,
        connections=frozenset(_kinds(args.connections)),
        group_depth=args.group_depth,
        arrangement=getattr(args, "arrangement", "auto"),
        shared_filter_range=args.shared_filter_range,
        texture_format=getattr(args, "texture_format", "r32f"),
        texture_budget=getattr(args, "texture_budget", "auto"),
        present=getattr(args, "present", False),
        font_scale=getattr(args, "font_scale", 1.0),
        target=_target(getattr(args, "target", None)),
    )


def _target(text: str | None) -> int | str | None:
    return int(text) if text is not None and text.strip().isdigit() else text


def _render_to_png(args: argparse.Namespace, model_spec: str, weights: str | None) -> Path:
    from rich.console import Console

    from viz3d.api import render
    from viz3d.class_names import model_class_names
    from viz3d.files import IMAGE_FORMATS, check_output_path, save_image

    console = Console(stderr=True)
    t0 = time.perf_counter()
    check_output_path(args.out, IMAGE_FORMATS)  # a bad --out fails now, not after the render
    options = view_options_from_args(args)  # bad flags fail before the model is loaded
    with console.status("loading the model...", spinner="dots"):
        model, x = _load(model_spec, weights, args.input, args.device, args.preprocess)
    trace = capture_with_progress(model, x, args.group_depth, console, getattr(args, "batch_index", 0))
    from viz3d.session import VIEWS

    explains = VIEWS[options.show].explains  # a backward pass: the model itself, not only its capture
    if explains:
        options = options.with_(max_slabs=None)  # the layers as captured above, folded only by --group-depth
    with console.status(f"rendering {args.size[0]}x{args.size[1]}...", spinner="dots"):
        image = render(
            model if explains else trace,
            x if explains else None,
            batch_index=getattr(args, "batch_index", 0) if explains else 0,
            preprocessed=True,
            size=args.size,
            camera=None if (args.focus and args.camera == "overview") else args.camera,
            focus=args.focus,
            ssaa=getattr(args, "ssaa", 2),
            select=args.select,
            options=options,
            preprocess=args.preprocess,
            class_names=args.labels or model_class_names(model),
        )
        out = save_image(image, args.out)
    _say(
        f"wrote {out} ({args.size[0]}x{args.size[1]}, {len(trace)} layers, "
        f"{trace.map_count()} feature maps) in {time.perf_counter() - t0:.1f}s"
    )
    return out


def _kinds(text: str) -> tuple[str, ...]:
    return tuple(k.strip() for k in text.split(",") if k.strip())


def capture_with_progress(model: Any, x: Any, group_depth: int | None, console: Any, batch_index: int = 0) -> Any:
    """Capture with a progress bar (shown on a terminal only)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from viz3d.capture import capture

    columns = (TextColumn("capturing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("capture", total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return capture(model, x, group_depth=group_depth, batch_index=batch_index, progress=update)


def cmd_render(args: argparse.Namespace) -> int:
    _render_to_png(args, args.model, args.weights)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``viz3d`` command."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    warnings.formatwarning = _format_warning
    from viz3d.cli_diff import cmd_diff  # these modules import this one: here, not at the top
    from viz3d.cli_explain import cmd_top_patches
    from viz3d.cli_inspect import cmd_graph, cmd_inspect
    from viz3d.cli_record import cmd_record
    from viz3d.cli_replay import cmd_replay
    from viz3d.cli_show import cmd_show
    from viz3d.cli_train import cmd_train_demo

    handlers = {
        "demo": cmd_show,
        "show": cmd_show,
        "render": cmd_render,
        "record": cmd_record,
        "inspect": cmd_inspect,
        "graph": cmd_graph,
        "train-demo": cmd_train_demo,
        "replay": cmd_replay,
        "diff": cmd_diff,
        "top-patches": cmd_top_patches,
    }
    try:
        return handlers[args.command](args)
    except Viz3dError as exc:
        _say(str(exc))
        return 2
    except KeyboardInterrupt:
        _say("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
