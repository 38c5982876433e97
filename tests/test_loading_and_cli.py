"""Loading models, weights and inputs; the command line; atomic outputs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from viz3d.cli import main
from viz3d.errors import Viz3dError
from viz3d.files import atomic_write_bytes, save_png
from viz3d.loading import apply_weights, load_input, load_model_spec, load_state_dict
from viz3d.models.default_net import ShapesNet, default_model

REPO = Path(__file__).resolve().parents[1]


def test_state_dict_round_trips_through_both_formats(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    model = ShapesNet()
    state = model.state_dict()
    torch.save(state, tmp_path / "w.pt")
    save_file({k: v.contiguous() for k, v in state.items()}, str(tmp_path / "w.safetensors"))
    for name in ("w.pt", "w.safetensors"):
        loaded = load_state_dict(tmp_path / name)
        assert set(loaded) == set(state)
        torch.testing.assert_close(loaded["conv1.weight"], state["conv1.weight"])


def test_bad_weights_files_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(Viz3dError, match="weights file not found"):
        load_state_dict(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a pickle at all")
    with pytest.raises(Viz3dError, match="cannot read weights file"):
        load_state_dict(tmp_path / "junk.pt")
    (tmp_path / "junk.safetensors").write_bytes(b"\x00" * 20)
    with pytest.raises(Viz3dError, match="cannot read weights file"):
        load_state_dict(tmp_path / "junk.safetensors")
    torch.save({"conv1.weight": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(Viz3dError, match="does not fit the model"):
        apply_weights(ShapesNet(), tmp_path / "other.pt")


def test_model_specs(tmp_path: Path) -> None:
    assert isinstance(load_model_spec("default"), ShapesNet)
    assert type(load_model_spec("tests.models:make_default")).__name__ == "TinyResNet"
    f = tmp_path / "net.py"
    f.write_text("import torch\ndef build():\n    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3))\n")
    assert isinstance(load_model_spec(f"{f}:build"), torch.nn.Sequential)
    for spec, msg in [
        ("nope", "bad model spec"),
        ("no_such_module_xyz:f", "cannot import module"),
        (f"{f}:missing", "no callable named 'missing'"),
        (f"{tmp_path / 'absent.py'}:build", "not found"),
    ]:
        with pytest.raises(Viz3dError, match=msg):
            load_model_spec(spec)


def test_inputs_from_images_samples_and_random(tmp_path: Path) -> None:
    model = default_model()
    img = tmp_path / "in.png"
    Image.fromarray(np.full((100, 80, 3), 255, np.uint8)).save(img)
    x = load_input(str(img), model)
    assert x.shape == (1, 3, 64, 64) and torch.allclose(x, torch.ones_like(x))
    assert load_input("random", model).shape == (1, 3, 64, 64)
    assert not torch.equal(load_input("sample:0", model), load_input("sample:1", model))
    with pytest.raises(Viz3dError, match="input image not found"):
        load_input(str(tmp_path / "nope.png"), model)
    (tmp_path / "bad.png").write_bytes(b"nope")
    with pytest.raises(Viz3dError, match="cannot read input image"):
        load_input(str(tmp_path / "bad.png"), model)


def test_atomic_write_never_leaves_a_half_file(tmp_path: Path) -> None:
    target = tmp_path / "out.png"
    target.write_bytes(b"precious")

    class Boom(bytes):
        pass

    with pytest.raises(TypeError):
        atomic_write_bytes(target, Boom(b"x") + 1)  # type: ignore[operator]
    assert target.read_bytes() == b"precious"
    assert os.listdir(tmp_path) == ["out.png"]
    with pytest.raises(Viz3dError, match="does not exist"):
        save_png(np.zeros((2, 2, 4), np.uint8), tmp_path / "no" / "dir" / "x.png")


@pytest.mark.gl
def test_cli_render_writes_a_png_of_the_asked_size(tmp_path: Path) -> None:
    out = tmp_path / "frame.png"
    assert main(["render", "--out", str(out), "--size", "320x200", "--input", "random", "--ssaa", "1"]) == 0
    with Image.open(out) as im:
        assert im.size == (320, 200) and im.format == "PNG"
        arr = np.asarray(im)
    assert arr[..., :3].std() > 10  # something was drawn


def test_cli_errors_are_one_line_with_status_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["render", "--model", "tests.models:nothing", "--out", str(tmp_path / "x.png")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("viz3d: ") and "\n" not in err
    code = main(["render", "--weights", str(tmp_path / "nope.pt"), "--out", str(tmp_path / "x.png")])
    assert code == 2 and "weights file not found" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_cli_device_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "x.png"
    assert main(["render", "--device", "tpu:3", "--out", str(out)]) == 2
    assert "unknown device 'tpu:3'" in capsys.readouterr().err
    if not torch.cuda.is_available():
        assert main(["render", "--device", "cuda", "--out", str(out)]) == 2
        err = capsys.readouterr().err.strip()
        assert "torch sees no CUDA device" in err and "\n" not in err
    assert not out.exists()


def test_resolve_device() -> None:
    from viz3d.loading import resolve_device

    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(Viz3dError, match="captures on cpu or cuda"):
        resolve_device("meta")


def test_cli_rejects_bad_sizes() -> None:
    with pytest.raises(SystemExit):
        main(["render", "--size", "big"])


@pytest.mark.gl
def test_demo_without_display_renders_a_png(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    out = tmp_path / "demo.png"
    proc = subprocess.run(
        [sys.executable, "-m", "viz3d.cli", "demo", "--out", str(out), "--size", "480x300"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    assert "no window can open" in proc.stderr and str(out) in proc.stderr
    with Image.open(out) as im:
        assert im.size == (480, 300)


def test_importing_capture_layout_scene_touches_no_gl() -> None:
    code = (
        "import sys, viz3d, viz3d.capture, viz3d.layout, viz3d.scene, viz3d.session, viz3d.gpu.plan;"
        "bad = [m for m in ('vispy', 'OpenGL', 'glfw', 'cupy', 'cuda') if m in sys.modules];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_model_packages_import_no_gl_statically() -> None:
    import ast

    for pkg in ("capture", "layout", "scene", "session"):
        for path in (REPO / "viz3d" / pkg).rglob("*.py"):
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                for name in names:
                    root = name.split(".")[0]
                    assert root not in ("vispy", "OpenGL", "glfw", "cupy", "cuda"), f"{path} imports {name}"
                    above = ("viz3d.renderer", "viz3d.gpu", "viz3d.app", "viz3d.export", "viz3d.api", "viz3d.cli")
                    if pkg != "session":
                        above += ("viz3d.session",)
                    assert not name.startswith(above), f"{path} imports {name}"


def test_no_usable_gl_is_one_line_naming_packages_and_variables(tmp_path: Path) -> None:
    env = dict(os.environ, EGL_PLATFORM="surfaceless", PYOPENGL_PLATFORM="egl")
    env["__EGL_VENDOR_LIBRARY_FILENAMES"] = str(tmp_path / "no-vendor.json")  # hides every EGL driver
    proc = subprocess.run(
        [sys.executable, "-m", "viz3d.cli", "render", "--out", str(tmp_path / "x.png")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("viz3d:")]
    assert proc.returncode == 2
    assert len(lines) == 1 and "no usable OpenGL" in lines[0]
    assert "libegl-mesa0" in lines[0] and "PYOPENGL_PLATFORM=egl" in lines[0]
    assert not (tmp_path / "x.png").exists()


@pytest.mark.gl
def test_cli_render_from_a_saved_view(tmp_path: Path) -> None:
    import json

    view = tmp_path / "view.json"
    view.write_text(json.dumps({"target": [0, 0, -50], "distance": 80, "azimuth": 10, "elevation": 5, "fov": 40}))
    out = tmp_path / "f.png"
    assert main(["render", "--out", str(out), "--size", "160x100", "--camera", str(view), "--ssaa", "1"]) == 0
    assert Image.open(out).size == (160, 100)
    assert main(["render", "--out", str(out), "--camera", "top"]) == 2


def test_random_inputs_for_models_without_a_declared_shape() -> None:
    from torch import nn

    assert load_input("random", nn.Sequential(nn.Linear(7, 2))).shape == (1, 7)
    assert load_input("random", nn.Sequential(nn.Conv1d(3, 4, 3))).shape == (1, 3, 256)
    assert load_input("random", nn.Sequential(nn.Conv2d(5, 4, 3))).shape == (1, 5, 224, 224)
    with pytest.raises(Viz3dError, match="input_shape attribute"):
        load_input("random", nn.Sequential(nn.ReLU()))


def test_modules_stay_small() -> None:
    sizes = {p.relative_to(REPO).as_posix(): len(p.read_text().splitlines()) for p in (REPO / "viz3d").rglob("*.py")}
    assert sizes["viz3d/app/window.py"] <= 300
    big = {name: n for name, n in sizes.items() if n > 400}
    assert not big, f"modules over 400 lines: {big}"


def test_cli_render_focus_cuts_away_the_layers_in_front(tmp_path: Path) -> None:
    out = tmp_path / "focus.png"
    args = ["render", "--size", "160x100", "--ssaa", "1", "--input", "random", "--connections", ""]
    assert main([*args, "--out", str(out), "--focus", "conv3"]) == 0
    assert main([*args, "--out", str(tmp_path / "all.png")]) == 0
    assert not np.array_equal(np.asarray(Image.open(out)), np.asarray(Image.open(tmp_path / "all.png")))
    assert main([*args, "--out", str(out), "--focus", "conv99"]) == 2
