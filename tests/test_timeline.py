"""The training timeline: scrubbing in a session, the sparkline's pixels, the slider, replay and train-demo."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

import viz3d
from viz3d.cli import main
from viz3d.scene import keymap
from viz3d.session import Session
from viz3d.session.keys import key_table
from viz3d.session.snapshot_view import snapshot_trace


def small_net() -> nn.Module:
    """A conv net small enough for a few training steps in a test (``--model`` loads it from this file)."""
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(4, 4, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, 3),
    )


def watched_run(steps: int = 6, every: int = 2, run_dir: Path | None = None) -> tuple[nn.Module, Any]:
    """``small_net`` trained ``steps`` SGD steps under a window-less watch."""
    torch.manual_seed(0)
    model = small_net()
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    watcher = viz3d.watch(model, torch.rand(1, 3, 12, 12), every=every, window=False, run_dir=run_dir)
    for i in range(steps):
        opt.zero_grad()
        loss = model(torch.rand(4, 3, 12, 12)).square().mean()
        loss.backward()
        opt.step()
        watcher.step(loss=loss, lr=0.5 - 0.01 * i)
    watcher.close()
    return model, watcher


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_scrubbing_shows_each_snapshot_with_its_own_weights() -> None:
    model, watcher = watched_run()
    snapshots = list(watcher.ring)
    assert [s.step for s in snapshots] == [0, 2, 4, 6]
    live = model[0].weight.detach().clone()
    clock = Clock()
    session = Session(snapshots[0].trace, model=model, size=(320, 200), clock=clock)
    session.set_timeline(snapshots, watcher.history)
    assert session.timeline_index == 3 and len(session.metric_history) == 6
    session.update(show="weights")
    session.first_snapshot()
    first = snapshots[0].weights["0.weight"]
    # The weights view of step 0 shows step 0's filters (RGB triples per filter), not the trained ones.
    assert torch.equal(session.trace.node("0").display, first.reshape(4 * 3, 3, 3))
    assert not torch.equal(first, live) and torch.equal(model[0].weight, live)  # the model is untouched
    camera = session.camera.copy()
    session.next_snapshot()
    assert session.timeline_index == 1 and session.shown_snapshot is snapshots[1]
    assert np.allclose(session.camera.eye, camera.eye)  # the camera is kept while scrubbing
    session.update(show="activations")
    assert torch.equal(session.trace.node("2").display, snapshots[1].activations["2"])
    session.last_snapshot()
    session.previous_snapshot()
    assert session.timeline_index == 2 and "step 4 (3/4)" in session.current_message()
    # Playing: PLAY_RATE (4) snapshots a second on the session's clock, stopping at the newest.
    session.first_snapshot()
    session.toggle_timeline_playback()
    assert session.animating
    clock.t += 0.5
    session.advance()
    assert session.timeline_index == 2
    clock.t += 10
    session.advance()
    assert session.timeline_index == 3 and not session.timeline_playing


def test_a_live_view_follows_the_newest_unless_scrubbed_back() -> None:
    model, watcher = watched_run(steps=8)
    snaps = list(watcher.ring)  # steps 0, 2, 4, 6, 8
    session = Session(snaps[0].trace, model=model, size=(320, 200))
    for s in snaps[:3]:
        session.add_snapshot(s, keep=3)
    assert session.timeline_index == 2  # followed
    session.previous_snapshot()
    session.add_snapshot(snaps[3], keep=3)  # the oldest goes: the shown one moves down a place, not away
    assert [s.step for s in session.timeline] == [2, 4, 6] and session.shown_snapshot is snaps[1]
    session.last_snapshot()
    session.add_snapshot(snaps[4], keep=3)
    assert session.shown_snapshot is snaps[4]


def test_timeline_keys_are_free_and_dispatch_to_the_session() -> None:
    table = key_table()
    for key in (",", ".", "Y"):
        assert sum(key in b.keys for b in table) == 1, key
    assert keymap.binding_for(",", "orbit", True, table)[1] == "first_snapshot"  # type: ignore[index]
    assert keymap.binding_for(".", "fly", False, table)[1] == "next_snapshot"  # type: ignore[index]
    assert keymap.binding_for("Y", "orbit", False, table)[1] == "toggle_timeline_playback"  # type: ignore[index]
    from viz3d.notebook.keys import vispy_key

    assert [vispy_key(k) for k in (",", "<", ".", ">", "y")] == [",", ",", ".", ".", "Y"]  # a browser's Shift-comma: <


def test_slider_maps_the_pointer_to_snapshots() -> None:
    from viz3d.app.timeline_panel import SLIDER_PAD, slider_index, slider_rect

    model, watcher = watched_run()
    session = Session(watcher.ring[0].trace, model=model, size=(1000, 600))
    session.set_timeline(list(watcher.ring))
    x, y, w, h = slider_rect(session, (1000, 600))  # type: ignore[misc]
    assert (x, y, w, h) == (290.0, 544.0, 420.0, 46.0)  # 0.42 of the width, centred, 10 px up from the bottom
    track = w - 2 * SLIDER_PAD
    assert slider_index(session, (1000, 600), x + SLIDER_PAD, y + 20) == 0
    assert slider_index(session, (1000, 600), x + SLIDER_PAD + track / 3, y + 20) == 1
    assert slider_index(session, (1000, 600), x + w - 1, y + 20) == 3
    assert slider_index(session, (1000, 600), x + w / 2, y - 5) is None  # above it: not on the slider
    assert slider_index(session, (1000, 600), 5000, 0, anywhere=True) == 3  # a drag past its end


@pytest.mark.gl
def test_sparkline_pixels_follow_the_metric(gl: Any) -> None:
    from viz3d.app.timeline_panel import SPARK_COLOUR, TimelinePanels
    from viz3d.export.offscreen import OffscreenView

    model = small_net()
    session = Session.from_model(model, torch.rand(1, 3, 12, 12), size=(640, 400))
    values = [3, 1, 4, 1, 5, 9, 2, 6]
    session.metric_history = [(step, {"loss": float(v)}) for step, v in zip(range(1, 9), values, strict=True)]
    with OffscreenView(session, (640, 400)) as view:
        panels = TimelinePanels(session)
        frame = view.frame(panels=panels)
        panels.delete()
    ys, xs = np.nonzero(np.all(frame[..., :3] == SPARK_COLOUR[:3], axis=-1))
    # Hand-computed: the panel is 240x64 at (640 - 240 - 10, 10); its plot box spans x 398..622, y 34..66.
    # Steps 1..8 run across it; the largest value (9, step 6) is at the top: x = 398 + 5/7 * 224 = 558.
    assert len(xs) > 100
    assert abs(xs.min() - 398) <= 1 and abs(xs.max() - 622) <= 1
    assert abs(ys.min() - 34) <= 1 and abs(xs[ys == ys.min()].mean() - 558) <= 2
    # The smallest (1, steps 2 and 4) at the bottom: x = 398 + 32 = 430 and 398 + 96 = 494.
    bottom = xs[ys == ys.max()]
    assert abs(ys.max() - 66) <= 1 and {430, 494} <= set(range(bottom.min() - 2, bottom.max() + 3))


@pytest.mark.gl
def test_replay_renders_and_records_the_run(tmp_path: Path, gl: Any) -> None:
    from PIL import Image

    from viz3d.export.offscreen import OffscreenView

    model, watcher = watched_run(steps=4, run_dir=tmp_path / "run")
    spec = f"{Path(__file__)}:small_net"
    outs = {}
    for step in (0, 4):
        out = tmp_path / f"step{step}.png"
        args = ["replay", str(tmp_path / "run"), "--model", spec, "--step", str(step), "--render", str(out)]
        assert main([*args, "--size", "160x100", "--ssaa", "1"]) == 0
        outs[step] = np.asarray(Image.open(out))
    assert np.abs(outs[0].astype(int) - outs[4].astype(int)).sum() > 0
    for k, step in ((0, 0), (2, 4)):  # the same snapshots, rendered from memory
        snapshot = watcher.ring[k]
        assert snapshot.step == step
        session = Session(snapshot_trace(snapshot, model), model=model, size=(160, 100))
        with OffscreenView(session, (160, 100)) as view:
            direct = view.frame()
        assert np.array_equal(outs[step][..., :3], direct[..., :3])
    frames = tmp_path / "frames"
    assert main(["replay", str(tmp_path / "run"), "--model", spec, "--record", str(frames), "--size", "160x100"]) == 0
    pictures = sorted(frames.iterdir())
    assert [p.name for p in pictures] == ["frame-00000.png", "frame-00001.png", "frame-00002.png"]  # one a snapshot
    first, last = (np.asarray(Image.open(p)).astype(int) for p in (pictures[0], pictures[-1]))
    assert first.shape == (100, 160, 4) and np.abs(first - last).sum() > 0


def test_replay_refuses_bad_folders_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", str(tmp_path / "missing")]) == 2
    assert main(["replay", str(tmp_path)]) == 2
    watched_run(steps=2, run_dir=tmp_path / "run")
    assert main(["replay", str(tmp_path / "run"), "--model", "default", "--render", str(tmp_path / "x.png")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert "does not exist" in lines[0] and "not a viz3d run folder" in lines[1]
    assert "do not fit --model default" in lines[-1] and len(lines) == 3


@pytest.mark.gl
def test_train_demo_records_the_training_headless(tmp_path: Path, gl: Any) -> None:
    import imageio_ffmpeg

    out = tmp_path / "train.mp4"
    assert main(["train-demo", "--steps", "2", "--every", "1", "--record", str(out), "--size", "320x180"]) == 0
    reader = imageio_ffmpeg.read_frames(str(out))
    meta = next(reader)
    frames = [np.frombuffer(f, np.uint8).reshape(180, 320, 3).astype(int) for f in reader]
    assert meta["size"] == (320, 180) and len(frames) == 3  # snapshots at steps 0, 1 and 2
    assert np.abs(frames[0] - frames[-1]).mean() > 0.5  # the filters (and the loss curve) changed
    # No display (or --offscreen): train, keep the run, write the end as a PNG.
    png, run = tmp_path / "end.png", tmp_path / "run"
    args = ["train-demo", "--steps", "1", "--offscreen", "--out", str(png), "--run-dir", str(run)]
    assert main([*args, "--size", "160x100"]) == 0  # every 10: a snapshot at step 0, and one at the end
    assert png.stat().st_size > 1000 and sorted(p.name for p in run.iterdir())[-1] == "step-00000001.safetensors"


@pytest.mark.gl
def test_keys_and_the_slider_scrub_a_live_watch_window(gl: Any) -> None:
    from vispy.util import keys

    from viz3d.app.timeline_panel import SLIDER_PAD, slider_rect

    torch.manual_seed(0)
    model = small_net()
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    with viz3d.watch(model, torch.rand(1, 3, 12, 12), every=1, backend="egl", size=(640, 400)) as w:
        window, session = w.window, w.session
        window.canvas.events.ignore_callback_errors = False
        for _ in range(3):
            opt.zero_grad()
            model(torch.rand(4, 3, 12, 12)).square().mean().backward()
            opt.step()
            w.step(loss=1.0)
        assert session.timeline_index == 3  # followed the newest
        window.canvas.events.key_press(key=keys.Key(","), modifiers=(keys.SHIFT,), text="<")
        assert session.timeline_index == 0
        window.canvas.events.key_press(key=keys.Key("."), modifiers=(), text=".")
        assert session.timeline_index == 1
        window.draw_now()
        assert {"slider", "sparkline"} <= set(window.hud.names())
        x, y, width, _ = slider_rect(session, window.size)  # type: ignore[misc]
        camera = session.camera.copy()
        window.canvas.events.mouse_press(pos=(x + width - SLIDER_PAD, y + 30), button=1)
        assert session.timeline_index == 3
        window.canvas.events.mouse_move(pos=(x + SLIDER_PAD, y + 60), button=1, modifiers=())  # a drag, off the bar
        window.canvas.events.mouse_release(pos=(x + SLIDER_PAD, y + 60), button=1)
        assert session.timeline_index == 0 and np.allclose(session.camera.eye, camera.eye)  # no orbit
        opt.step()
        w.step(loss=1.0)  # scrubbed back: the new snapshot waits on the timeline
        assert session.timeline_index == 0 and len(session.timeline) == 5
