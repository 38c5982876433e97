"""Explaining views benchmark: a gradient view of the whole network against per-layer explanation loops.

viz3d takes the gradient of the target with respect to every unit's output
from one forward and one backward pass (:func:`viz3d.capture.gradients.explain`).
Per-layer tools (captum's layer attributions, pytorch-grad-cam with one
target layer) run a forward and a backward pass per layer. Both compute the
same maps here, in the same run, on the same network and input:

- ``explain``: one forward + one backward, every unit's gradient;
- ``view``: the gradient view shown in a session (explain, the view's trace,
  upload into the existing textures, one 1280x720 frame);
- ``per-layer loop``: for each layer (every leaf module: the units viz3d
  shows, functional ops aside), a forward with a hook on it and a backward to
  its output (the gradient); for ResNet-50 the loop is timed over every 8th
  layer and scaled to all of them (said in the output).

Networks: the default network (64x64 input) and ResNet-50 (benchmarks/resnet50.py,
torchvision's architecture, 224x224, random weights).

Run: ``python benchmarks/bench_gradients.py [--repeats 3]``
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from common import gl_finish, median_time, row


def networks() -> list[tuple[str, Any, Any]]:
    import torch
    from resnet50 import resnet50

    from viz3d.models.default_net import default_model
    from viz3d.models.shapes import sample_image

    torch.manual_seed(0)
    default_x = torch.from_numpy(sample_image(0)).float()[None]
    return [
        ("default network", default_model().eval(), default_x),
        ("ResNet-50 224x224", resnet50().eval(), torch.rand(1, 3, 224, 224)),
    ]


def per_layer_loop(model: Any, x: Any, layers: list[Any], target: int) -> None:
    """One forward and one backward per layer: the gradient at each layer's output, as per-layer tools get it."""
    import torch

    for layer in layers:
        seen: dict[str, Any] = {}

        def keep(module: Any, args: Any, output: Any, seen: dict[str, Any] = seen) -> Any:
            seen["out"] = output
            return output.clone()  # later in-place ops (ReLU(inplace=True)) change the copy

        handle = layer.register_forward_hook(keep)
        try:
            logits = model(x)
        finally:
            handle.remove()
        torch.autograd.grad(logits[0, target], seen["out"])


def bench(name: str, model: Any, x: Any, repeats: int) -> None:

    from viz3d.capture.gradients import Target, explain
    from viz3d.export.offscreen import OffscreenView
    from viz3d.session import Session, ViewOptions

    layers = [m for m in model.modules() if not any(True for _ in m.children())]
    target = 1
    t_explain = median_time(lambda: explain(model, x, Target(class_index=target)), repeats)

    options = ViewOptions(show="gradients", target=target, max_slabs=None)  # every unit, as explain gives
    session = Session.from_model(model, x, options=options, size=(1280, 720))
    with OffscreenView(session, (1280, 720), ssaa=1) as view:
        view.frame()
        classes = [2, 3]

        def show_other_target() -> None:
            classes.reverse()
            session.update(target=classes[0])  # a new backward; same shapes: uploaded in place
            view.frame()
            gl_finish()

        t_view = median_time(show_other_target, repeats)

    sample = layers if len(layers) <= 30 else layers[::8]
    t0 = time.perf_counter()
    for _ in range(repeats):
        per_layer_loop(model, x, sample, target)
    t_loop = (time.perf_counter() - t0) / repeats * len(layers) / len(sample)

    print(f"{name}: {len(session.trace.nodes)} units, {len(layers)} of them layers (leaf modules)")
    row("explain: every unit's gradient (1 forward + 1 backward)", f"{t_explain * 1000:8.1f} ms")
    row("gradient view: explain + view + upload + 1280x720 frame", f"{t_view * 1000:8.1f} ms")
    scaled = "" if sample is layers else f" (timed on {len(sample)}, scaled)"
    row(f"per-layer loop over the {len(layers)} layers{scaled}", f"{t_loop * 1000:8.1f} ms")
    row("per-layer loop / explain", f"x{t_loop / t_explain:7.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    for name, model, x in networks():
        bench(name, model, x, args.repeats)


if __name__ == "__main__":
    main()
