"""2-process CPU runs (torch.distributed.run, gloo; DDP, FSDP, FSDP1 on the default network) write both ranks' files.

One launch (tests/distributed_worker.py) runs all six trainings: starting processes costs more than the training.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist

from viz3d.capture import capture
from viz3d.errors import Viz3dError
from viz3d.models.default_net import default_model
from viz3d.session.comparing import rank_difference
from viz3d.session.run_folder import RunFolder, load_run, run_ranks
from viz3d.session.timeline import take_snapshot

pytestmark = pytest.mark.skipif(
    not (dist.is_available() and dist.is_gloo_available()), reason="torch.distributed with gloo is not available"
)
# The launch: three processes each importing torch (22-28 s here on 2 cores under a load average of 6-9).
launched = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
STEPS = 2


def test_rank_files_share_a_folder_and_a_single_process_run_is_rank_0(tmp_path: Path) -> None:
    model, probe = torch.nn.Sequential(torch.nn.Conv2d(3, 2, 1)), torch.rand(1, 3, 4, 4)
    shared = tmp_path / "shared"
    for rank in (1, 0):  # in any order, into one folder
        RunFolder(shared, rank=rank).write(take_snapshot(model, probe, 5), [(5, {"loss": float(rank)})])
    assert run_ranks(shared) == [0, 1]
    assert sorted(f.name for f in shared.iterdir()) == [
        "index.rank-0.json",
        "index.rank-1.json",
        "step-00000005.rank-0.safetensors",
        "step-00000005.rank-1.safetensors",
    ]
    assert load_run(shared, rank=1)[1] == [(5, {"loss": 1.0})]
    with pytest.raises(Viz3dError, match=r"already holds a run \(index.rank-1.json\)"):
        RunFolder(shared, rank=1)
    with pytest.raises(Viz3dError, match="already holds a run"):
        RunFolder(shared)  # a single process does not mix into a distributed run's folder
    single = tmp_path / "single"
    RunFolder(single).write(take_snapshot(model, probe, 0), [])
    assert run_ranks(single) == [0] and [s.step for s in load_run(single, rank=0)[0]] == [0]
    with pytest.raises(Viz3dError, match="already holds a run"):
        RunFolder(single, rank=0)
    assert run_ranks(tmp_path / "missing") == []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("distributed")
    command = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc-per-node", "2"]
    command += ["--master-addr", "127.0.0.1", "--master-port", str(free_port())]
    command += [str(ROOT / "tests" / "distributed_worker.py"), str(run), str(STEPS)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env["OMP_NUM_THREADS"] = "1"  # two processes on a small machine
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    return run


@launched
@pytest.mark.parametrize("kind", ["ddp", "fsdp", "fsdp1"])
def test_each_rank_writes_its_snapshots_and_index_and_training_is_unchanged(runs: Path, kind: str) -> None:
    root = runs
    run = root / kind
    assert run_ranks(run) == [0, 1]
    names = sorted(f.name for f in run.iterdir())
    for rank in (0, 1):
        assert f"index.rank-{rank}.json" in names
        assert [f"step-{s:08d}.rank-{rank}.safetensors" for s in range(STEPS + 1)] == [
            n for n in names if n.endswith(f".rank-{rank}.safetensors")
        ]
    assert "index.json" not in names
    sums = [json.loads((root / f"sums.rank-{rank}.json").read_text())[kind] for rank in (0, 1)]
    assert sums[0] == sums[1]  # the replicas agree
    assert sums[0]["watched"] == sums[0]["plain"]  # watching changed no parameter


@launched
@pytest.mark.parametrize("kind", ["ddp", "fsdp", "fsdp1"])
def test_ranks_load_and_differ_in_activations_not_in_weights(runs: Path, kind: str) -> None:
    run = runs / kind
    (r0, h0), (r1, h1) = load_run(run, rank=0), load_run(run, rank=1)
    assert [s.step for s in r0] == [s.step for s in r1] == list(range(STEPS + 1))
    assert [h[0] for h in h0] == [h[0] for h in h1] == list(range(1, STEPS + 1))
    assert h0[-1][1]["loss"] != h1[-1][1]["loss"]  # each rank's own batch and loss
    plain = {k: v for k, v in default_model().state_dict().items() if v.is_floating_point()}
    # The plain network's names and full shapes: no "module." prefix (DDP), no shards (FSDP).
    assert {k: tuple(v.shape) for k, v in r0[0].weights.items()} == {k: tuple(v.shape) for k, v in plain.items()}
    for a, b in zip(r0, r1, strict=True):
        params = [k for k in a.weights if "running" not in k]  # BatchNorm statistics are each rank's own
        assert all(torch.equal(a.weights[k], b.weights[k]) for k in params)
    structure = capture(default_model(), torch.rand(1, 3, 64, 64))
    weights = rank_difference(run, structure, STEPS, what="weights")
    shown = [n for n in weights.nodes if n.display is not None]
    assert shown and all(not n.display.any() for n in shown)  # replicas in sync: zero everywhere
    acts = rank_difference(run, structure, STEPS)
    conv1 = acts.node("conv1").display
    expected = r1[-1].activations["conv1"] - r0[-1].activations["conv1"]
    assert conv1.abs().max() > 0 and torch.equal(conv1, expected)  # different probes: different activations
    with pytest.raises(Viz3dError, match="no snapshots of rank 2"):
        load_run(run, rank=2)
    with pytest.raises(Viz3dError, match="no snapshot of step 99"):
        rank_difference(run, structure, 99)


@launched
def test_replay_shows_any_rank_and_the_difference_between_ranks(runs: Path, tmp_path: Path) -> None:
    from viz3d.cli import _build_parser, main
    from viz3d.cli_replay import open_replay

    run = runs / "ddp"
    (r0, _), (r1, _) = load_run(run, rank=0), load_run(run, rank=1)
    parser = _build_parser()
    one = open_replay(parser.parse_args(["replay", str(run), "--rank", "1"]))
    assert torch.equal(one.trace.node("conv1").display, r1[-1].activations["conv1"])
    diff = open_replay(parser.parse_args(["replay", str(run), "--rank", "1", "--against-rank", "0", "--step", "1"]))
    expected = r1[1].activations["conv1"] - r0[1].activations["conv1"]
    assert diff.options.colormap == "coolwarm" and torch.allclose(diff.trace.node("conv1").display, expected)
    assert [s.step for s in diff.timeline] == list(range(STEPS + 1))
    out = tmp_path / "diff.png"
    assert main(["replay", str(run), "--against-rank", "1", "--render", str(out), "--size", "160x90"]) == 0
    assert out.stat().st_size > 0
    assert main(["replay", str(run), "--rank", "5"]) == 2  # one line: the ranks there are
    assert main(["replay", str(run), "--against-rank", "1", "--step", "99", "--render", str(out)]) == 2
    assert diff.options.prediction is False and diff.options.input_rgb is False  # no answer, no photo of a difference
    with pytest.raises(Viz3dError, match="explains one model"):
        diff.update(show="gradients")
