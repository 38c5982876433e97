"""``viz3d inspect`` (per-layer statistics as a table or JSON) and ``viz3d graph`` (the dataflow as a diagram)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from viz3d.cli import _load, _say, capture_with_progress


def cmd_inspect(args: argparse.Namespace) -> int:
    import json

    from rich.console import Console

    from viz3d.capture.stats import layer_statistics
    from viz3d.loading import apply_weights, load_batch, load_model_spec

    console = Console(stderr=True)
    model = load_model_spec(args.model)
    if args.weights:
        apply_weights(model, args.weights)
    x = load_batch(args.input, model, args.batch)
    trace = capture_with_progress(model, x, args.group_depth, console)
    stats = layer_statistics(trace)
    if args.json:
        payload = {
            "model": args.model,
            "input": args.input,
            "batch": int(x.shape[0]),
            "capture": trace.method,
            "layers": [s.to_dict() for s in stats],
        }
        # Strict JSON: stats carry None (null) where a value is NaN or infinite.
        print(json.dumps(payload, indent=1, allow_nan=False))
        return 0
    from viz3d.inspect_table import stats_table

    out = Console() if sys.stdout.isatty() else Console(width=150)
    out.print(stats_table(stats, title=f"{args.model} on {args.input} (batch {x.shape[0]})"))
    flagged = sum(1 for s in stats if s.flags)
    _say(f"{len(stats)} layers, {flagged} flagged")
    return 0


def _shapes_only(trace: Any) -> Any:
    """Drop a trace's activations: the diagram needs names, ops and shapes, and 800 activations are gigabytes."""
    for node in trace.nodes:
        node.tensor = node.display = None
    return trace


def cmd_graph(args: argparse.Namespace) -> int:
    from rich.console import Console

    from viz3d.capture import capture
    from viz3d.files import check_output_path
    from viz3d.graph import FORMATS, build_graph, export_graph

    check_output_path(args.out, FORMATS)  # a bad --out fails before the capture
    console = Console(stderr=True)
    model, x = _load(args.model, args.weights, args.input)
    trace = _shapes_only(capture_with_progress(model, x, args.group_depth, console))
    boxes = len(build_graph(trace).nodes)  # repeated units and sequences fold first, whatever the nesting
    if args.group_depth is None and boxes > args.max_nodes:
        # Still too big to read: fold modules, deepest grouping first, until it fits. A depth at or
        # below the deepest module name folds nothing (a flat Sequential): no capture is spent on it.
        deepest = max((name.count(".") + 1 for name, _ in model.named_modules() if name), default=0)
        for depth in [d for d in (3, 2, 1) if d < deepest]:
            folded = _shapes_only(capture(model, x, group_depth=depth))
            folded_boxes = len(build_graph(folded).nodes)
            if folded_boxes <= args.max_nodes or depth == 1:
                _say(f"{boxes} boxes: folded to group depth {depth} ({folded_boxes} boxes; --group-depth to choose)")
                trace = folded
                break
    graph = export_graph(trace, args.out, title=f"{args.model} ({trace.method} capture)")
    folded_runs = sum(1 for n in graph.nodes if n.count > 1)
    _say(f"wrote {args.out}: {len(graph.nodes)} nodes ({folded_runs} folded runs), {len(graph.edges)} edges")
    return 0
