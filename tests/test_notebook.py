"""The notebook widget driven through its event handler with jupyter_rfb's event dicts, and a notebook run headless.

Each test gets its own widget over a fresh session on the hidden EGL canvas;
no browser is needed: ``handle_event`` is what jupyter_rfb calls with the
browser's events, ``get_frame`` what it calls for the next frame.
"""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from tests.fakes import FakeClock
from viz3d.app.navigation import ORBIT_DEGREES_PER_PIXEL
from viz3d.export.offscreen import OffscreenView
from viz3d.models.default_net import default_model
from viz3d.models.shapes import sample_image
from viz3d.notebook import in_notebook
from viz3d.notebook.keys import vispy_key
from viz3d.scene.labels import project
from viz3d.scene.picking import PickHit
from viz3d.session import Session

pytest.importorskip("jupyter_rfb", reason="the notebook extra is not installed: pip install 'viz3d[notebook]'")
from viz3d.notebook.widget import Viz3dWidget

pytestmark = pytest.mark.gl

MODEL = default_model()
INPUT = torch.from_numpy(sample_image(0))[None]
SIZE = (320, 200)
NOTEBOOK = Path(__file__).with_name("notebook_widget.ipynb")


@pytest.fixture
def widget(gl: Any) -> Iterator[Viz3dWidget]:
    w = Viz3dWidget(Session.from_model(MODEL, INPUT, size=SIZE, clock=FakeClock()), SIZE)
    yield w
    w.close()


def event(kind: str, x: float = 0.0, y: float = 0.0, **fields: Any) -> dict[str, Any]:
    """A jupyter_rfb event dict as the browser sends it."""
    return {"type": kind, "x": x, "y": y, "button": 1, "buttons": (), "modifiers": (), **fields}


def drag(w: Viz3dWidget, start: tuple[float, float], end: tuple[float, float], button: int = 1) -> None:
    w.handle_event(event("pointer_down", *start, button=button, buttons=(button,)))
    w.handle_event(event("pointer_move", *end, button=button, buttons=(button,)))
    w.handle_event(event("pointer_up", *end, button=button))


def click(w: Viz3dWidget, pos: tuple[float, float]) -> None:
    w.handle_event(event("pointer_down", *pos))
    w.handle_event(event("pointer_up", *pos))


def key(w: Viz3dWidget, name: str, *modifiers: str) -> None:
    w.handle_event({"type": "key_down", "key": name, "modifiers": modifiers})
    w.handle_event({"type": "key_up", "key": name, "modifiers": modifiers})


def settle(w: Viz3dWidget) -> None:
    """Let a flight finish (the fake clock jumps past it)."""
    w.session.clock.t += 1.0  # type: ignore[attr-defined]
    w.view.tick()


def tile_pixel(w: Viz3dWidget, layer: str, channel: int, y: int, x: int) -> tuple[float, float]:
    """Where feature-map pixel (y, x) of ``channel`` of ``layer`` is in the widget (logical pixels)."""
    s = w.session
    node = s.trace.node(layer)
    _, h, wd = node.display.shape
    slab = s.layout.slab(node.id)
    x0, y0, x1, y1 = slab.tile_rects()[channel]
    point = np.array([[x0 + (x + 0.5) / wd * (x1 - x0), y1 - (y + 0.5) / h * (y1 - y0), slab.front_z]])
    px = project(point, s.view_projection(), w.view.logical)[0][0]
    return float(px[0]), float(px[1])


def test_browser_key_names_map_to_the_key_table() -> None:
    assert [vispy_key(k) for k in ("c", "C", " ", "ArrowLeft", "PageDown", "Escape", "F5", "Shift")] == [
        "C",
        "C",
        "Space",
        "Left",
        "PageDown",
        "Escape",
        "F5",
        "Shift",
    ]
    assert not in_notebook()  # pytest is no kernel: viz3d.show would open the window


def test_drag_orbits_and_moves_pixels(widget: Viz3dWidget) -> None:
    before = widget.get_frame()
    az = widget.session.camera.azimuth
    drag(widget, (100, 100), (140, 100))
    assert np.isclose((widget.session.camera.azimuth - az) % 360, 40 * ORBIT_DEGREES_PER_PIXEL)
    after = widget.get_frame()
    assert after.shape == (SIZE[1], SIZE[0], 4)
    assert (before != after).any(axis=2).mean() > 0.05


def test_wheel_zooms_and_right_drag_pans(widget: Viz3dWidget) -> None:
    cam = widget.session.camera
    distance, target = cam.distance, cam.target.copy()
    widget.handle_event(event("wheel", 160, 100, dx=0.0, dy=-100.0))  # one notch up: closer
    assert widget.session.camera.distance < distance
    drag(widget, (100, 100), (130, 120), button=2)
    assert not np.allclose(widget.session.camera.target, target)


def test_hover_line_and_click_select_the_layer_and_channel(widget: Viz3dWidget) -> None:
    s = widget.session
    node = s.trace.node("conv3")
    s.fly_to_node(node.id)
    settle(widget)
    pos = tile_pixel(widget, "conv3", 7, 2, 3)
    plain = widget.get_frame()
    assert widget.handle_event(event("pointer_move", *pos)) is None  # jupyter_rfb's handler returns nothing
    assert widget.view.nav.hover == PickHit(node.id, 7, 2, 3)
    assert f"channel 7 (y 2, x 3) = {float(node.display[7, 2, 3]):.4g}" in widget.view.hud.hover_text
    hovered = widget.get_frame()
    assert (hovered[:60] != plain[:60]).any()  # the hover line is drawn into the frame's HUD
    click(widget, pos)
    assert s.selection == (node.id, 7, 2, 3)
    selected = widget.get_frame()
    assert "inset" in widget.view.hud.names()
    assert (selected[-60:, -60:] != hovered[-60:, -60:]).any()  # the inset, bottom right
    key(widget, "Escape")
    widget.get_frame()
    assert s.selection is None and "inset" not in widget.view.hud.names()


def test_c_changes_the_colormap_at_a_probed_tile(widget: Viz3dWidget) -> None:
    s = widget.session
    s.fly_to_node(s.trace.node("conv2").id)
    settle(widget)
    x, y = (round(v) for v in tile_pixel(widget, "conv2", 3, 4, 4))
    before = widget.get_frame()[y - 1 : y + 2, x - 1 : x + 2, :3].astype(int)
    colormap = s.options.colormap
    key(widget, "c")
    assert s.options.colormap != colormap
    after = widget.get_frame()[y - 1 : y + 2, x - 1 : x + 2, :3].astype(int)
    assert np.abs(before - after).max() > 20


def test_frames_are_asked_for_only_when_something_changes(widget: Viz3dWidget, monkeypatch: Any) -> None:
    asked: list[int] = []
    monkeypatch.setattr(widget, "request_draw", lambda: asked.append(1))
    widget.handle_event(event("pointer_move", 1, 1))  # over the background: nothing to redraw
    widget.handle_event(event("key_down", key="F12"))  # unbound
    assert asked == []
    key(widget, "l")
    assert asked
    asked.clear()
    widget.handle_event({"type": "resize", "width": 400, "height": 260, "pwidth": 800, "pheight": 520, "ratio": 2})
    assert asked and widget.get_frame().shape == (260, 400, 4)  # max_pixel_ratio 1 keeps llvmpipe interactive


def test_held_fly_key_moves_the_camera_frame_by_frame(widget: Viz3dWidget) -> None:
    key(widget, "Tab")
    assert widget.session.camera.mode == "fly"
    position = widget.session.camera.eye.copy()
    widget.handle_event({"type": "key_down", "key": "w", "modifiers": ()})
    widget.get_frame()
    widget.get_frame()  # the second tick moves by the time since the first
    assert not np.allclose(widget.session.camera.eye, position)
    widget.handle_event({"type": "key_up", "key": "w", "modifiers": ()})
    assert not widget.view.animating


def test_still_and_png_equal_the_offscreen_render_of_the_same_view(widget: Viz3dWidget) -> None:
    s = widget.session
    drag(widget, (100, 100), (150, 80))
    s.select("conv3:5")
    still = widget.still()
    with OffscreenView(s, SIZE, ssaa=2) as view:
        expected = view.frame()
    assert np.array_equal(still, expected)
    png = np.asarray(Image.open(io.BytesIO(widget._repr_png_())))
    assert np.array_equal(png, expected[..., :3])
    assert np.array_equal(widget.snapshot().data, expected[..., :3])


def test_session_scripts_the_view(widget: Viz3dWidget) -> None:
    s = widget.session
    first = widget.get_frame()
    s.update(colormap="magma")
    s.fly_to_node(s.trace.node("conv2").id)
    settle(widget)
    assert (widget.get_frame() != first).any(axis=2).mean() > 0.05


@pytest.mark.slow
def test_notebook_runs_headless_and_keeps_an_image(tmp_path: Path, monkeypatch: Any) -> None:
    """The notebook in tests/ on a kernel of this interpreter: a widget, events, live training, a PNG in the output."""
    nbformat = pytest.importorskip("nbformat", reason="the dev extra is not installed")
    nbclient = pytest.importorskip("nbclient", reason="the dev extra is not installed")
    pytest.importorskip("ipykernel", reason="the dev extra is not installed")
    spec = tmp_path / "kernels" / "viz3d-test"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "viz3d test", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    root = str(Path(__file__).resolve().parents[1])
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(nb, kernel_name="viz3d-test", timeout=300, resources={"metadata": {"path": root}}).execute()
    saved = tmp_path / "executed.ipynb"
    nbformat.write(nb, saved)
    outputs = [o for cell in nbformat.read(saved, as_version=4).cells for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    texts = "".join(o.get("text", "") for o in outputs)
    assert "widget Viz3dWidget" in texts and "orbit moved pixels" in texts and "selected conv3 channel 7" in texts
    assert "frames pushed while training: 7 for 6 steps" in texts  # the training cells asserted the pictures
    pngs = [o["data"]["image/png"] for o in outputs if "image/png" in o.get("data", {})]
    assert pngs
    import base64

    image = Image.open(io.BytesIO(base64.b64decode(pngs[-1])))
    assert image.size == (480, 300) and np.asarray(image).std() > 5
