"""The GPU check's own machinery, on the CPU: the preflight line, a report that survives failures, check.sh's report.

The check (benchmarks/gpu/check.sh) gets one short run on a lent GPU; what it
does before and around the GPU work is tested here so that run gives figures.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
GPU = ROOT / "benchmarks" / "gpu"


def load(name: str) -> Any:
    """A script of benchmarks/gpu as a module (its folder and benchmarks/ importable while it loads, as in a run)."""
    saved = list(sys.path)
    sys.path[:0] = [str(GPU), str(GPU.parent)]
    try:
        spec = importlib.util.spec_from_file_location(f"gpu_check_{name}", GPU / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path[:] = saved
    return module


def run_script(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    return subprocess.run(args, capture_output=True, text=True, cwd=ROOT, env=environ, timeout=120)


def test_the_preflight_says_ok_and_which_gl_library_gloo_loaded() -> None:
    out = run_script([sys.executable, str(GPU / "preflight.py")], VISPY_GL_LIB="libOpenGL.so.0")
    assert out.returncode == 0, out.stdout + out.stderr
    line = out.stdout.strip()
    assert line.startswith("preflight: ok: import vispy.gloo, OpenGL.GL (vispy ") and "\n" not in line
    assert "gloo GL library libOpenGL.so.0" in line


def test_a_failing_preflight_is_one_line_naming_the_error() -> None:
    out = run_script([sys.executable, str(GPU / "preflight.py")], VISPY_GL_LIB="libNoSuchGL.so.0")
    assert out.returncode == 1
    assert out.stdout.startswith("preflight: FAILED: import vispy.gloo, OpenGL.GL: OSError: libNoSuchGL.so.0")
    assert out.stdout.count("\n") == 1


def test_versions_name_every_package_the_report_needs() -> None:
    versions = load("versions")
    found = versions.versions()
    assert set(found) == {"torch", "cupy", "cuda-bindings", "vispy", "PyOpenGL", "driver"}
    assert found["torch"] == torch.__version__
    assert versions.package_version(("no-such-distribution",)) == "not installed"
    assert versions.one_line(found).startswith("versions: torch ")


def test_a_failing_section_keeps_every_other_figure_in_the_report(tmp_path: Path) -> None:
    bench = load("bench_gpu")
    path = tmp_path / "report.json"
    report = bench.Report(str(path))
    with report.written_at_exit():
        with report.section("host"):
            report["host_upload_ms"] = 5.0
        with report.section("cuda"):
            raise RuntimeError("cudaGraphicsGLRegisterBuffer failed:\n cudaErrorUnknown")
        on_disk = json.loads(path.read_text())  # written as soon as the section failed
        assert on_disk["host_upload_ms"] == 5.0
        with report.section("frame"):
            report["frame_1920x1080_ms"] = 3.0
    data = json.loads(path.read_text())
    assert data["host_upload_ms"] == 5.0 and data["frame_1920x1080_ms"] == 3.0
    assert data["errors"] == {"cuda": "RuntimeError: cudaGraphicsGLRegisterBuffer failed: cudaErrorUnknown"}
    assert data["error"] is None and report.failed
    assert set(data["versions"]) >= {"torch", "cupy", "cuda-bindings", "driver"}


def test_a_run_stopped_by_its_time_limit_still_writes_the_report(tmp_path: Path) -> None:
    bench = load("bench_gpu")
    path = tmp_path / "report.json"
    report = bench.Report(str(path))
    with pytest.raises(TimeoutError), report.written_at_exit():
        report["host_upload_ms"] = 5.0
        bench._terminated(15, None)  # what SIGTERM from `timeout` does
    data = json.loads(path.read_text())
    assert data["host_upload_ms"] == 5.0
    assert data["error"].startswith("TimeoutError: stopped by signal 15 (the check's time limit)")


@pytest.mark.skipif(torch.cuda.is_available(), reason="with CUDA the benchmark measures for minutes")
def test_the_benchmark_without_cuda_writes_a_report_and_fails(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    out = run_script([sys.executable, str(GPU / "bench_gpu.py"), "--json", str(path)])
    assert out.returncode == 1, out.stdout + out.stderr
    data = json.loads(path.read_text())
    assert data["error"] == "no CUDA device" and data["versions"]["torch"] == torch.__version__


def test_check_sh_stops_after_a_failing_preflight_with_its_line_first_and_a_status_line(tmp_path: Path) -> None:
    out = run_script(
        ["bash", str(GPU / "check.sh")],
        DRY_RUN="test",
        OUT=str(tmp_path),
        PYTHON=sys.executable,
        VISPY_GL_LIB="libNoSuchGL.so.0",
    )
    assert out.returncode == 1, out.stdout + out.stderr
    lines = (tmp_path / "status.txt").read_text().splitlines()
    assert lines[0].startswith("preflight: FAILED: import vispy.gloo, OpenGL.GL: OSError: libNoSuchGL.so.0")
    assert any(line.startswith("versions: torch ") for line in lines)
    assert any(line.startswith("egl vendor file: ") for line in lines)
    assert lines[-2] == "nothing else ran: without those imports no test, benchmark or render can"
    assert lines[-1].startswith("status: FAILED (dry run: test): preflight=1 in ")
    assert not (tmp_path / "pytest.log").exists()


def test_check_sh_fits_twice_in_one_device_call() -> None:
    """The step limits named in check.sh add up to at most 280 s (a device call may run 600 s)."""
    import re

    text = (GPU / "check.sh").read_text()
    limits = [int(n) for n in re.findall(r"timeout -k 3 (\d+) ", text)]
    limits += [int(n) for n in re.findall(r"^step \w+ (\d+) ", text, re.MULTILINE)]
    assert len(limits) == 9 and sum(limits) <= 280
    assert "--timeout=" in text  # and each test has its own limit
