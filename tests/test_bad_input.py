"""Bad input, table-driven: every case gets one line naming the problem and the fix (status 2), and no traceback.

Files and output paths are covered by tests/test_bad_input_files.py. Each row
is (id, argv or call, fragment of the one-line message). A regression shows
as the row that breaks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

import viz3d
from viz3d.cli import main
from viz3d.errors import Viz3dError
from viz3d.models.default_net import default_model
from viz3d.session import Session, ViewOptions

REPO = Path(__file__).resolve().parents[1]
USER_MODELS = """
import torch
from torch import nn

def ok():
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())

def not_a_module():
    return 42

def raises():
    raise ValueError("no such checkpoint")

def meta():
    with torch.device("meta"):
        return nn.Sequential(nn.Conv2d(3, 4, 3))

def no_shape():
    return nn.Sequential(nn.ReLU())

def broken():
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.Linear(7, 2))

def grey():
    return nn.Sequential(nn.Conv2d(1, 4, 3))
"""


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    """Model files, weights and camera files the rows refer to by name."""
    (tmp_path / "user_models.py").write_text(USER_MODELS)
    (tmp_path / "import_fails.py").write_text("raise RuntimeError('cannot reach the data server')\n")
    (tmp_path / "corrupt.pt").write_bytes(os.urandom(256))
    sentinel = tmp_path / "pwned"

    class Evil:
        def __reduce__(self) -> tuple[Any, ...]:
            return (os.system, (f"touch {sentinel}",))

    torch.save({"w": Evil()}, tmp_path / "evil.pt")
    good = {"mode": "orbit", "target": [0, 0, 0], "distance": 50, "azimuth": 10, "elevation": 5, "fov": 40}
    for name, change in {
        "nan": {"distance": float("nan")},
        "zero": {"distance": 0},
        "inf_fov": {"fov": float("inf")},
        "bad_target": {"target": [0, "x", 0]},
        "tilted": {"elevation": 400},
    }.items():
        (tmp_path / f"cam_{name}.json").write_text(json.dumps({**good, **change}))
    (tmp_path / "cam_text.json").write_text("not json at all")
    return {"dir": str(tmp_path), "sentinel": str(sentinel)}


RENDER = ["render", "--size", "64x40", "--ssaa", "1"]
CLI_ROWS: list[tuple[str, list[str], str]] = [
    ("sample-not-a-number", [*RENDER, "--input", "sample:abc"], "use sample or sample:K"),
    ("sample-negative", [*RENDER, "--input", "sample:-1"], "whole number >= 0"),
    ("inspect-sample-bad", ["inspect", "--input", "sample:x"], "use sample or sample:K"),
    ("graph-sample-bad", ["graph", "--input", "sample:1.5", "--out", "{dir}/g.svg"], "use sample or sample:K"),
    ("image-missing", [*RENDER, "--input", "{dir}/nope.png"], "input image not found"),
    ("module-missing", [*RENDER, "--model", "no_such_module_xyz:fn"], "cannot import module"),
    ("module-fn-missing", [*RENDER, "--model", "tests.models:nothing"], "has no callable named 'nothing'"),
    ("file-missing", [*RENDER, "--model", "{dir}/missing.py:ok"], "not found"),
    ("file-import-raises", [*RENDER, "--model", "{dir}/import_fails.py:f"], "RuntimeError: cannot reach the data"),
    ("factory-not-module", [*RENDER, "--model", "{dir}/user_models.py:not_a_module"], "returned int"),
    ("factory-raises", [*RENDER, "--model", "{dir}/user_models.py:raises"], "raised ValueError"),
    ("spec-without-function", [*RENDER, "--model", "justaname"], "MODULE:FUNCTION"),
    ("meta-model", [*RENDER, "--model", "{dir}/user_models.py:meta", "--input", "random"], "meta device"),
    ("no-shape-random", [*RENDER, "--model", "{dir}/user_models.py:no_shape", "--input", "random"], "cannot guess"),
    ("forward-fails", [*RENDER, "--model", "{dir}/user_models.py:broken", "--input", "random"], "failed in layer"),
    ("wrong-channels", [*RENDER, "--model", "{dir}/user_models.py:grey", "--input", "sample"], "expects (N, 1"),
    ("weights-missing", [*RENDER, "--weights", "{dir}/nope.pt"], "weights file not found"),
    ("weights-corrupt", [*RENDER, "--weights", "{dir}/corrupt.pt"], "cannot read weights file"),
    ("weights-pickle-code", [*RENDER, "--weights", "{dir}/evil.pt"], "cannot read weights file"),
    ("camera-preset", [*RENDER, "--camera", "top"], "unknown camera 'top'"),
    ("camera-missing", [*RENDER, "--camera", "{dir}/none.json"], "camera file not found"),
    ("camera-nan", [*RENDER, "--camera", "{dir}/cam_nan.json"], "distance must be a finite number"),
    ("camera-zero", [*RENDER, "--camera", "{dir}/cam_zero.json"], "distance must be above 0"),
    ("camera-inf-fov", [*RENDER, "--camera", "{dir}/cam_inf_fov.json"], "fov must be"),
    ("camera-bad-target", [*RENDER, "--camera", "{dir}/cam_bad_target.json"], "not a viz3d camera state"),
    ("camera-tilted", [*RENDER, "--camera", "{dir}/cam_tilted.json"], "elevation must be within"),
    ("camera-not-json", [*RENDER, "--camera", "{dir}/cam_text.json"], "cannot read camera file"),
    ("select-negative", [*RENDER, "--select", "conv1:0:-5:-5"], "y must be in 0..63"),
    ("select-outside", [*RENDER, "--select", "conv1:0:64:0"], "y must be in 0..63"),
    ("select-channel", [*RENDER, "--select", "conv1:99"], "channel must be in 0..15"),
    ("select-layer", [*RENDER, "--select", "nolayer:1"], "no layer named 'nolayer'"),
    ("select-no-channel", [*RENDER, "--select", "conv1"], "use LAYER:CHANNEL"),
    # The input is one colour picture (one tile); as heatmaps (J) it has channels 0..2.
    ("select-input-channel", [*RENDER, "--select", "input:3"], "channel must be in 0..0"),
    ("rf-without-select", [*RENDER, "--connections", "rf"], "need a selected unit"),
    ("unknown-kind", [*RENDER, "--connections", "graph,bogus"], "unknown connection kinds"),
    ("focus-unknown", [*RENDER, "--focus", "conv99"], "no layer named 'conv99' to focus on"),
    ("device-unknown", [*RENDER, "--device", "tpu:3"], "unknown device 'tpu:3'"),
    ("batch-index", [*RENDER, "--batch-index", "5"], "batch_index 5 is out of range"),
    ("group-depth-zero", [*RENDER, "--group-depth", "0"], "group_depth must be 1 or more"),
    ("inspect-batch-zero", ["inspect", "--batch", "0"], "--batch must be at least 1"),
    ("inspect-batch-image", ["inspect", "--batch", "2", "--input", "{dir}/user_models.py"], "needs --input sample"),
]


@pytest.mark.gl
@pytest.mark.parametrize(("argv", "fragment"), [r[1:] for r in CLI_ROWS], ids=[r[0] for r in CLI_ROWS])
def test_cli_rows(
    argv: list[str], fragment: str, files: dict[str, str], capsys: pytest.CaptureFixture[str], gl: Any
) -> None:
    out = Path(files["dir"]) / "out.png"
    args = [a.format(**files) for a in argv]
    if args[0] == "render":
        args += ["--out", str(out)]
    code = main(args)
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.startswith("viz3d: ") and not ln.startswith("viz3d: warning")]
    assert code == 2, err
    assert "Traceback" not in err and len(lines) == 1, err
    assert fragment in lines[0], lines[0]
    assert not out.exists()  # nothing written on failure
    assert not Path(files["sentinel"]).exists()  # a weights file never runs code


MODEL = default_model()
X = torch.rand(1, 3, 64, 64)
TRACE = viz3d.trace(MODEL, X)
with torch.device("meta"):
    META = nn.Sequential(nn.Conv2d(3, 4, 3))
CONV1 = TRACE.node("conv1").id

API_ROWS: list[tuple[str, Callable[[], object], str]] = [
    ("size-zero", lambda: viz3d.render(TRACE, size=(0, 0)), "size must be two positive whole numbers"),
    ("size-one-number", lambda: viz3d.render(TRACE, size=(10,)), "size must be two"),  # type: ignore[arg-type]
    ("size-text", lambda: viz3d.render(TRACE, size=("a", 3)), "size must be two"),  # type: ignore[arg-type]
    ("size-float", lambda: viz3d.render(TRACE, size=(10.5, 3)), "size must be two"),  # type: ignore[arg-type]
    ("too-big", lambda: viz3d.render(TRACE, size=(9000, 9000), ssaa=2), "exceeds 16384"),
    ("ssaa-zero", lambda: viz3d.render(TRACE, size=(32, 32), ssaa=0), "ssaa 0"),
    ("empty-batch", lambda: viz3d.render(MODEL, torch.rand(0, 3, 64, 64)), "batch is empty"),
    ("meta-model", lambda: viz3d.render(META, torch.rand(1, 3, 8, 8)), "meta device"),
    ("meta-input", lambda: viz3d.trace(MODEL, torch.empty(1, 3, 64, 64, device="meta")), "meta tensor"),
    ("not-a-model", lambda: viz3d.render("resnet50", X), "expected a torch.nn.Module"),  # type: ignore[arg-type]
    ("no-input", lambda: viz3d.render(MODEL), "an input tensor is needed"),
    ("input-not-tensor", lambda: viz3d.trace(MODEL, "cat.png"), "must be a torch.Tensor"),  # type: ignore[arg-type]
    ("batch-index", lambda: viz3d.trace(MODEL, X, batch_index=3), "out of range"),
    ("wrong-shape", lambda: viz3d.trace(MODEL, torch.rand(1, 1, 64, 64)), "failed in layer 'conv1'"),
    ("select-bad-id", lambda: viz3d.render(TRACE, select=(99, 0, 0, 0)), "no layer with id 99"),
    ("select-short", lambda: viz3d.render(TRACE, select=(1, 0)), "a unit is (layer id"),  # type: ignore[arg-type]
    ("select-outside", lambda: viz3d.render(TRACE, select=(CONV1, 999, 0, 0)), "outside layer conv1"),
    ("select-text", lambda: viz3d.render(TRACE, select="conv1:0:-1:3"), "y must be in"),
    ("colormap", lambda: viz3d.render(TRACE, colormap="jet"), "unknown colormap 'jet'"),
    ("normalization", lambda: viz3d.render(TRACE, normalization="median"), "unknown normalization"),
    ("view", lambda: viz3d.render(TRACE, show="saliency"), "unknown show 'saliency'"),
    ("view-needs-model", lambda: viz3d.render(TRACE, show="gradients"), "the gradients view needs the model"),
    ("target", lambda: viz3d.render(TRACE, target=[3]), "target must be a class index"),
    ("kinds", lambda: viz3d.render(TRACE, connections=("nope",)), "unknown connection kinds"),
    ("option-name", lambda: viz3d.render(TRACE, colourmap="magma"), "unknown view options"),
    ("texture-format", lambda: viz3d.render(TRACE, texture_format="rgba8"), "unknown texture format"),
    ("budget", lambda: ViewOptions(connection_budget=-1), "connection_budget must be"),
    ("layout-mode", lambda: ViewOptions(layout_mode="helix"), "unknown layout mode"),  # type: ignore[arg-type]
    ("upload-path", lambda: viz3d.render(TRACE, upload="gpu"), "unknown upload"),
    ("camera", lambda: viz3d.render(TRACE, camera="top"), "unknown camera 'top'"),
    ("focus", lambda: viz3d.render(TRACE, focus="nope"), "no layer named 'nope'"),
    ("fold-without-model", lambda: Session(TRACE).update(group_depth=2), "folding needs the model"),
    ("session-size", lambda: Session(TRACE, size=(0, 5)), "size must be two"),
]


@pytest.mark.gl
@pytest.mark.parametrize(("call", "fragment"), [r[1:] for r in API_ROWS], ids=[r[0] for r in API_ROWS])
def test_api_rows(call: Callable[[], object], fragment: str, gl: Any) -> None:
    with pytest.raises(Viz3dError) as info:
        call()
    message = str(info.value)
    assert fragment in message and "\n" not in message, message


def _cli(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("PYOPENGL_PLATFORM", "EGL_PLATFORM", "DISPLAY")}
    return subprocess.run(
        [sys.executable, "-m", "viz3d", *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


@pytest.mark.parametrize(
    ("env", "warning"),
    [({"DISPLAY": ":99"}, None), ({"DISPLAY": ":99", "PYOPENGL_PLATFORM": "glx"}, "PYOPENGL_PLATFORM=glx ignored")],
    ids=["stale-display", "stale-display-glx"],
)
def test_offscreen_rendering_needs_no_display(env: dict[str, str], warning: str | None, tmp_path: Path) -> None:
    proc = _cli(env, "render", "--size", "64x40", "--ssaa", "1", "--out", "x.png", cwd=tmp_path)
    assert proc.returncode == 0 and (tmp_path / "x.png").stat().st_size > 500, proc.stderr
    assert "Traceback" not in proc.stderr and "xdpyinfo" not in proc.stderr
    assert (warning or "viz3d: wrote") in proc.stderr


def test_demo_with_an_unreachable_display_writes_the_png_and_names_the_display(tmp_path: Path) -> None:
    proc = _cli({"DISPLAY": ":99"}, "demo", "--size", "64x40", "--out", "d.png", cwd=tmp_path)
    assert proc.returncode == 0 and (tmp_path / "d.png").exists(), proc.stderr
    assert "no window can open" in proc.stderr and ":99" in proc.stderr


class Allocates(nn.Module):
    """Fails as torch does when an allocation is larger than the memory left."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 13743895347200 bytes.")


WIDE = nn.Sequential(nn.Conv2d(3, 128, 3, padding=1), nn.ReLU(), nn.Conv2d(128, 128, 3, padding=1), nn.ReLU())


@pytest.mark.parametrize("method", ["fx", "hooks"])
def test_capture_stops_at_its_memory_budget_with_one_line(method: str) -> None:
    with pytest.raises(Viz3dError, match=r"took \d+ MB by unit \d+ of \d+, more than the 20 MB") as info:
        viz3d.trace(WIDE, torch.rand(1, 3, 192, 192), memory_limit=20 * 2**20, method=method)
    assert "\n" not in str(info.value)
    assert len(viz3d.trace(WIDE, torch.rand(1, 3, 16, 16), memory_limit=20 * 2**20, method=method)) == 5


@pytest.mark.parametrize("method", ["fx", "hooks"])
def test_an_allocation_larger_than_memory_is_one_line(method: str) -> None:
    with pytest.raises(Viz3dError, match="can't allocate memory") as info:
        viz3d.trace(nn.Sequential(nn.Conv2d(3, 4, 3), Allocates()), torch.rand(1, 3, 8, 8), method=method)
    assert "\n" not in str(info.value)


@pytest.mark.gl
def test_a_frame_larger_than_free_memory_is_refused_before_drawing(monkeypatch: pytest.MonkeyPatch, gl: Any) -> None:
    from viz3d.renderer import offscreen

    monkeypatch.setattr(offscreen, "available_bytes", lambda: 64 * 2**20)
    with pytest.raises(Viz3dError, match=r"a 4000x3000 frame with supersampling 2 needs about 0.5 GB .* lower --ssaa"):
        viz3d.render(TRACE, size=(4000, 3000), ssaa=2)
    assert viz3d.render(TRACE, size=(320, 200), ssaa=2).shape == (200, 320, 4)


def test_a_huge_image_for_a_model_without_an_input_shape_is_fitted_and_said(tmp_path: Path) -> None:
    from PIL import Image

    from viz3d.errors import Viz3dWarning
    from viz3d.loading import load_input

    path = tmp_path / "big.png"
    Image.new("RGB", (5000, 2500), (200, 10, 10)).save(path)
    with pytest.warns(Viz3dWarning, match=r"5000x2500: resized to 2048x1024"):
        x = load_input(str(path), nn.Sequential(nn.Conv2d(3, 4, 3)))
    assert tuple(x.shape) == (1, 3, 1024, 2048)
    assert torch.allclose(x[0, :, 500, 1000], torch.tensor([200, 10, 10]) / 255.0)


def test_unit_connections_in_volume_mode_are_one_line() -> None:
    with pytest.raises(Viz3dError, match="drawn between tiles"):
        viz3d.render(TRACE, select="conv1:0", connections=("rf",), layout_mode="volume")
