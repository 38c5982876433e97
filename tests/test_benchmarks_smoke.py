"""The benchmark scripts still run (on tiny inputs): they are how the figures in the README are made."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import pytest

from viz3d.capture import synthetic_trace

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def benches() -> Any:
    sys.path.insert(0, str(BENCH))
    try:
        names = ("bench_foundation", "bench_viewer", "bench_connections", "bench_draw_overhead")
        yield {n: importlib.import_module(n) for n in names}
    finally:
        sys.path.remove(str(BENCH))


@pytest.mark.gl
def test_foundation_scene_benchmark_runs(benches: Any, gl: Any, capsys: pytest.CaptureFixture[str]) -> None:
    trace = synthetic_trace([(4, 8, 8), (8, 4, 4)], skip_every=0)
    out = benches["bench_foundation"].bench_scene("tiny", trace, quick=True, repeats=1)
    assert out["upload_ms"] > 0 and out["frame_1280_ms"] > 0 and out["classic_s"] > 0
    assert "speed-up vs imshow per map" in capsys.readouterr().out


@pytest.mark.gl
def test_viewer_and_connection_benchmark_pieces_run(benches: Any, gl: Any) -> None:
    import numpy as np

    from viz3d.app.window import ViewerWindow
    from viz3d.layout import layout_trace
    from viz3d.session import Session

    trace = synthetic_trace([(4, 8, 8)] * 4)
    window = ViewerWindow(Session(trace, size=(160, 100)), backend="egl")
    frames = benches["bench_viewer"].flight_frames(window.session, frames=12)
    assert len(frames) == 12
    window.on_close()
    links = benches["bench_connections"].random_links(layout_trace(trace), 50, np.random.default_rng(0))
    assert len(links) == 50


@pytest.mark.gl
def test_draw_overhead_benchmark_compares_the_same_picture(benches: Any, gl: Any) -> None:
    trace = synthetic_trace([(4, 8, 8), (8, 4, 4), (16, 2, 2)], skip_every=0)
    f = benches["bench_draw_overhead"].measure(repeats=1, trace=trace)
    assert f["layers"] == 3 and f["gloo_ms"] > 0 and f["raw_ms"] > 0
    assert f["same_pixels"] == 1.0 and f["drawn_fraction"] > 0.05


def test_every_benchmark_imports() -> None:
    sys.path.insert(0, str(BENCH))
    try:
        for path in sorted(BENCH.glob("bench_*.py")):
            importlib.import_module(path.stem)
    finally:
        sys.path.remove(str(BENCH))
