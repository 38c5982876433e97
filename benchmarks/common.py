"""Timing helpers shared by the benchmark scripts: medians, GL synchronisation, tables."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from viz3d.renderer.context import set_egl_environment  # imports no GL

set_egl_environment()  # before anything imports PyOpenGL


def median_time(fn: Callable[[], object], repeats: int, warmup: int = 1) -> float:
    """Median wall time of ``fn`` in seconds."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def gl_finish() -> None:
    """Run every queued gloo command and wait for the GL to finish it."""
    from OpenGL import GL
    from vispy import gloo

    gloo.get_current_canvas().context.flush_commands()
    GL.glFinish()


def row(label: str, value: str) -> None:
    print(f"  {label:<58} {value}")


def graph_sets(trace: object, layout: object) -> dict[str, list]:
    """The dataflow connections a session draws by default (what the frame figures include)."""
    from viz3d.capture.weights import mean_abs_activation
    from viz3d.layout.connections import graph_connections

    return {"graph": list(graph_connections(layout, mean_abs_activation(trace)))}  # type: ignore[arg-type]
