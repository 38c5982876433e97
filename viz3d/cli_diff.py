"""``viz3d diff``: what changed between two checkpoints of one architecture, in 3D.

``diff --model SPEC --weights a.safetensors b.pt --input IMG [--show activations|weights] [--render OUT.png]``
loads both state dicts into the model (each checked first: missing,
unexpected and mis-shaped keys named in one line), captures the input on
both, and shows b minus a in the difference view (coolwarm, one symmetric
range per layer): a window, or a PNG with ``--render`` or where no display
is available.
"""

from __future__ import annotations

import argparse
import copy
import time
from typing import Any

import torch

from viz3d.cli import DEFAULT_DEMO_OUT, _say, capture_with_progress, parse_size
from viz3d.errors import Viz3dError

SHOWN = {"activations": "difference", "weights": "weight-difference"}  # --show → view
DEFAULT_DIFF_OUT = DEFAULT_DEMO_OUT.replace("demo", "diff")
MODEL_HELP = "'default', 'MODULE:FUNCTION', 'file.py:FUNCTION' or 'torchvision:NAME'"


def add_diff_parser(sub: Any) -> None:
    """The ``diff`` command's flags."""
    p = sub.add_parser("diff", help="show what changed between two state dicts of one model (b minus a)")
    p.add_argument("--model", default="default", help=MODEL_HELP)
    p.add_argument("--weights", nargs=2, required=True, metavar=("A", "B"), help="two state dicts (.safetensors, .pt)")
    p.add_argument("--input", default="sample", help="image file, 'sample[:K]' or 'random'")
    p.add_argument("--show", default="activations", choices=list(SHOWN), help="compare activations or weights")
    p.add_argument("--render", default=None, metavar="OUT.png", help="write a PNG instead of opening a window")
    p.add_argument("--size", type=parse_size, default=None, help="window 1440x900, PNG 1920x1080 by default")
    p.add_argument("--ssaa", type=int, default=2, choices=[1, 2, 3, 4], help="supersampling of the PNG")
    p.add_argument("--camera", default="overview", help="camera preset or a view.json saved with K in the viewer")
    p.add_argument("--group-depth", type=int, default=None, help="fold modules below this depth into one slab")
    p.add_argument("--preprocess", default="none", choices=["none", "imagenet"])
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")


def check_fits(model: torch.nn.Module, state: dict[str, torch.Tensor], path: str) -> None:
    """Raise one line naming missing, unexpected and mis-shaped keys when ``state`` is not ``model``'s."""
    own = model.state_dict()
    missing, unexpected = sorted(set(own) - set(state)), sorted(set(state) - set(own))
    shapes = [
        f"{k} {tuple(state[k].shape)} vs the model's {tuple(v.shape)}"
        for k, v in own.items()
        if k in state and tuple(state[k].shape) != tuple(v.shape)
    ]
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing keys ({', '.join(missing[:3])}{', ...' if len(missing) > 3 else ''})")
    if unexpected:
        more = ", ..." if len(unexpected) > 3 else ""
        problems.append(f"{len(unexpected)} unexpected keys ({', '.join(unexpected[:3])}{more})")
    if shapes:
        problems.append(f"{len(shapes)} shape mismatches ({'; '.join(shapes[:2])}{'; ...' if len(shapes) > 2 else ''})")
    if problems:
        raise Viz3dError(
            f"{path} is not a state dict of this architecture: {', '.join(problems)}; "
            "diff compares two checkpoints of one architecture (check --model)"
        )


def load_pair(args: argparse.Namespace) -> tuple[torch.nn.Module, torch.nn.Module, torch.Tensor]:
    """The model with weights a, a copy with weights b, and the input (all checked before any capture)."""
    from viz3d.capture.guard import check_real_tensors
    from viz3d.loading import load_input, load_model_spec, load_state_dict, resolve_device

    where = resolve_device(args.device)
    model = load_model_spec(args.model)
    states = [load_state_dict(path) for path in args.weights]  # both read before either is applied
    for state, path in zip(states, args.weights, strict=True):
        check_fits(model, state, path)
    pair = []
    for state in states:
        m = copy.deepcopy(model)
        m.load_state_dict(state)
        check_real_tensors(m, ())
        pair.append(m.to(where).eval())
    x = load_input(args.input, model, preprocess=args.preprocess).to(where)
    return pair[0], pair[1], x


def diff_session(args: argparse.Namespace, size: tuple[int, int]) -> Any:
    """A session showing b minus a: the capture on b, compared with the capture on a."""
    from rich.console import Console

    from viz3d.scene.camera import camera_for
    from viz3d.session import Session, ViewOptions

    a, b, x = load_pair(args)
    console = Console(stderr=True)
    trace_a = capture_with_progress(a, x, args.group_depth, console)
    trace_b = capture_with_progress(b, x, args.group_depth, console)
    options = ViewOptions(group_depth=args.group_depth, prediction=False)  # the slabs show changes, not answers
    session = Session(trace_b, model=b, inputs=[x], options=options, size=size, preprocess=args.preprocess)
    session.compare_with(trace_a, show=SHOWN[args.show])
    session.set_camera(camera_for(session.layout, args.camera, session.size))  # the view switch framed home
    return session


def largest_changes(session: Any, count: int = 3) -> str:
    """The layers that changed most (their max |b - a|), for the summary line."""
    changes = [(n.display_range[1], n.name) for n in session.trace.nodes if n.display is not None and n.display_range]
    changes = [(m, name) for m, name in changes if "unchanged" not in session.trace.node(name).display_note]
    if not changes:
        return "nothing changed"
    top = sorted(changes, reverse=True)[:count]
    return "largest changes: " + ", ".join(f"{name} {m:.3g}" for m, name in top)


def cmd_diff(args: argparse.Namespace) -> int:
    """A window showing b minus a, or a PNG (``--render``, or where no window can open)."""
    from viz3d.renderer.context import display_problem

    if args.group_depth is not None and args.group_depth < 1:
        raise Viz3dError(f"--group-depth must be 1 or more, got {args.group_depth}")
    problem = None if args.render else display_problem()
    if args.render or problem:
        if problem:
            _say(f"no window can open ({problem}): rendering the difference to {DEFAULT_DIFF_OUT} instead")
        render_diff(args, args.render or DEFAULT_DIFF_OUT)
        return 0
    from viz3d.app.window import ViewerWindow

    session = diff_session(args, args.size or (1440, 900))
    _say(largest_changes(session))
    window = ViewerWindow(session, title=f"viz3d diff: {args.weights[1]} minus {args.weights[0]}")
    window.run()
    return 0


def render_diff(args: argparse.Namespace, out: str) -> None:
    """Write the difference view of b minus a to the image ``out``."""
    from viz3d.export.offscreen import OffscreenView
    from viz3d.files import IMAGE_FORMATS, check_output_path, save_image

    t0 = time.perf_counter()
    check_output_path(out, IMAGE_FORMATS)  # a bad path fails before the models are loaded
    size = args.size or (1920, 1080)
    session = diff_session(args, size)
    with OffscreenView(session, size, args.ssaa) as view:
        path = save_image(view.frame(), out)
    _say(
        f"wrote {path} ({size[0]}x{size[1]}, {args.show} b - a) in {time.perf_counter() - t0:.1f}s; "
        + largest_changes(session)
    )
