"""viz3d.watch: training unchanged, snapshots round-trip through a run folder, a bounded ring, the window follows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

import viz3d
from viz3d.errors import Viz3dError
from viz3d.session.run_folder import load_run
from viz3d.session.timeline import SnapshotRing


def small_net() -> nn.Module:
    """A conv net with BatchNorm (running statistics) and Dropout (draws from the RNG in train mode)."""
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.Dropout(0.3),
        nn.Conv2d(8, 8, 3, stride=2, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, 4),
    )


def train(steps: int, watch_every: int | None, run_dir: Path | None = None, keep: int = 32) -> tuple[nn.Module, object]:
    """Train ``small_net`` for ``steps`` SGD steps from seed 0, optionally watched."""
    torch.manual_seed(0)
    model = small_net()
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    probe = torch.rand(1, 3, 16, 16)
    watcher = None
    if watch_every is not None:
        watcher = viz3d.watch(model, probe, every=watch_every, window=False, run_dir=run_dir, keep=keep)
    for i in range(steps):
        x, y = torch.rand(8, 3, 16, 16), torch.randint(0, 4, (8,))
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        if watcher is not None:
            watcher.step(loss=loss, accuracy=float(i))
    if watcher is not None:
        watcher.close()
    return model, watcher


def test_training_with_watch_is_bit_identical() -> None:
    plain, _ = train(9, None)
    watched, watcher = train(9, 2)
    assert watcher.ring.steps() == [0, 2, 4, 6, 8, 9]  # step 0, every 2nd, and a last one at close
    for (name, a), (_, b) in zip(plain.state_dict().items(), watched.state_dict().items(), strict=True):
        assert torch.equal(a, b), name  # parameters, BatchNorm running statistics and num_batches_tracked
    assert watched.training and all(m.training for m in watched.modules())


def test_snapshots_round_trip_through_a_run_folder(tmp_path: Path) -> None:
    run = tmp_path / "run"
    model, watcher = train(6, 3, run_dir=run)
    snapshots, history = load_run(run)
    assert [s.step for s in snapshots] == [0, 3, 6] == watcher.ring.steps()
    assert [h[0] for h in history] == list(range(1, 7))
    assert history[2][1]["accuracy"] == 2.0
    for loaded, kept in zip(snapshots, watcher.ring, strict=True):
        assert loaded.metrics == kept.metrics
        assert loaded.wall_time == kept.wall_time
        assert loaded.activations.keys() == kept.activations.keys() and loaded.activations
        for k, v in kept.activations.items():
            assert torch.equal(loaded.activations[k], v.cpu()), k
        assert loaded.weights.keys() == kept.weights.keys()
        for k, v in kept.weights.items():
            assert torch.equal(loaded.weights[k], v.cpu()), k
    assert snapshots[1].metrics["loss"] == pytest.approx(history[2][1]["loss"])
    final = {k: v for k, v in model.state_dict().items() if v.is_floating_point()}
    assert all(torch.equal(snapshots[-1].weights[k], v) for k, v in final.items())
    assert not torch.equal(snapshots[0].weights["0.weight"], final["0.weight"])  # a copy, not the live tensor
    index = json.loads((run / "index.json").read_text())
    assert [e["file"] for e in index["snapshots"]] == [f"step-{s:08d}.safetensors" for s in (0, 3, 6)]
    with pytest.raises(Viz3dError, match="already holds a run"):
        viz3d.watch(model, torch.rand(1, 3, 16, 16), window=False, run_dir=run)


def test_ring_keeps_the_newest(tmp_path: Path) -> None:
    _, watcher = train(10, 1, keep=4)
    assert watcher.ring.steps() == [7, 8, 9, 10]
    with pytest.raises(Viz3dError, match="keep"):
        SnapshotRing(0)


def test_bad_arguments_are_one_line_errors(tmp_path: Path) -> None:
    model, probe = small_net(), torch.rand(1, 3, 16, 16)
    with pytest.raises(Viz3dError, match="every"):
        viz3d.watch(model, probe, every=0, window=False)
    with viz3d.watch(model, probe, window=False) as w, pytest.raises(Viz3dError, match="metric 'acc'"):
        w.step(acc="high")  # type: ignore[arg-type]
    with pytest.raises(Viz3dError, match="closed"):
        w.step()
    with pytest.raises(Viz3dError, match="not a viz3d run folder"):
        load_run(tmp_path)


@pytest.mark.gl
def test_step_updates_the_window() -> None:
    torch.manual_seed(0)
    model = small_net()
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    with viz3d.watch(model, torch.rand(1, 3, 16, 16), every=2, backend="egl", size=(160, 100)) as w:
        window, session = w.window, w.session
        window.canvas.events.ignore_callback_errors = False
        before = session.trace.node("0").display.clone()
        seen: list[str] = []
        session.events.values.connect(lambda: seen.append("values"))
        handle = w.hook(opt)  # step() after every optimizer step
        for _ in range(2):
            opt.zero_grad()
            model(torch.rand(4, 3, 16, 16)).square().mean().backward()
            opt.step()
        handle.remove()
        assert w.steps == 2 and seen == ["values"]
        assert session.shown_snapshot is w.ring.latest and session.timeline_index == len(session.timeline) - 1
        assert not torch.equal(session.trace.node("0").display, before)  # the conv's new weights show
        assert "step 2" in session.current_message()
        window.draw_now()
    assert window.closed
