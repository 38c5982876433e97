"""A run folder on disk: one safetensors file per snapshot and a small JSON index (torch and safetensors only).

``step-00000010.safetensors`` holds the shown activations (``activation/NODE``)
and the weights (``weight/NAME``) of one snapshot; its header repeats the
step, wall time and metrics. ``index.json`` lists the snapshots (step, wall
time, metrics, file) and every step's metrics (the loss curve). Every file is
written atomically, so a run killed mid-write leaves a readable folder.

Under ``torch.distributed`` every rank writes into the same (shared) folder
with its rank in the names, ``step-00000010.rank-1.safetensors`` and
``index.rank-1.json``, so no rank overwrites another's files; a
single-process run keeps the plain names and reads back as rank 0.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from safetensors import SafetensorError, safe_open
from safetensors.torch import save as save_tensors

from viz3d.errors import Viz3dError
from viz3d.files import atomic_write_bytes
from viz3d.session.timeline import Snapshot

INDEX = "index.json"
RANK_INDEX = re.compile(r"index\.rank-(\d+)\.json")
FORMAT = "viz3d-run"
ACTIVATION, WEIGHT = "activation/", "weight/"


def snapshot_bytes(snapshot: Snapshot) -> bytes:
    """A snapshot as safetensors bytes (tensors copied to the host, contiguous)."""
    tensors = {ACTIVATION + k: v for k, v in snapshot.activations.items()}
    tensors |= {WEIGHT + k: v for k, v in snapshot.weights.items()}
    host, seen = {}, set()
    for k, v in tensors.items():
        t = v.detach().to("cpu").contiguous()
        # An identity layer (Dropout in eval mode) hands on its input: safetensors refuses shared storage.
        ptr = t.untyped_storage().data_ptr()
        host[k] = t.clone() if ptr in seen else t
        seen.add(ptr)
    meta = {"step": str(snapshot.step), "wall_time": repr(snapshot.wall_time), "metrics": json.dumps(snapshot.metrics)}
    return save_tensors(host, metadata=meta)


def index_name(rank: int | None) -> str:
    """The index file of ``rank`` (None: a single-process run)."""
    return INDEX if rank is None else f"index.rank-{rank}.json"


def snapshot_name(step: int, rank: int | None) -> str:
    """The file of the snapshot of ``step`` written by ``rank`` (None: a single-process run)."""
    return f"step-{step:08d}.safetensors" if rank is None else f"step-{step:08d}.rank-{rank}.safetensors"


def run_ranks(path: str | Path) -> list[int]:
    """The ranks with snapshots in a run folder: [0] for a single-process run, [] for no run."""
    folder = Path(path)
    ranks = sorted(int(m.group(1)) for f in _names(folder) if (m := RANK_INDEX.fullmatch(f)))
    return ranks or ([0] if (folder / INDEX).is_file() else [])


def _names(folder: Path) -> list[str]:
    try:
        return [f.name for f in folder.iterdir()]
    except OSError:
        return []


class RunFolder:
    """Writes a run's snapshots into ``path`` (created if missing; a folder holding another run is refused).

    ``rank``: this process's rank under ``torch.distributed`` (its files carry it), None for a single process.
    """

    def __init__(self, path: str | Path, rank: int | None = None) -> None:
        self.path, self.rank = Path(path), rank
        if self.path.exists() and not self.path.is_dir():
            raise Viz3dError(f"run folder {self.path} is a file: pass a folder")
        # Other ranks write their own indexes into the folder at the same time: only this rank's name and
        # the single-process one mean another run (a single process refuses any run's index).
        taken = (
            [INDEX, index_name(rank)]
            if rank is not None
            else [INDEX, *(f"index.rank-{k}.json" for k in run_ranks(self.path))]
        )
        held = next((name for name in taken if (self.path / name).exists()), None)
        if held is not None:
            raise Viz3dError(f"{self.path} already holds a run ({held}): pass a new folder or remove it")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise Viz3dError(f"cannot create run folder {self.path}: {exc.strerror or exc}") from None
        self.entries: list[dict[str, Any]] = []

    def write(self, snapshot: Snapshot, history: list[tuple[int, dict[str, float]]]) -> Path:
        """Write ``snapshot``'s file, then the index with it and the metrics ``history`` so far."""
        name = snapshot_name(snapshot.step, self.rank)
        atomic_write_bytes(self.path / name, snapshot_bytes(snapshot))
        entry = {"step": snapshot.step, "wall_time": snapshot.wall_time, "metrics": snapshot.metrics, "file": name}
        self.entries = [e for e in self.entries if e["step"] != snapshot.step] + [entry]
        self.write_index(history)
        return self.path / name

    def write_index(self, history: list[tuple[int, dict[str, float]]]) -> None:
        """The index: the snapshots written so far and the metrics of every step."""
        index = {
            "format": FORMAT,
            "version": 1,
            "snapshots": self.entries,
            "history": [{"step": s, "metrics": m} for s, m in history],
        }
        if self.rank is not None:
            index["rank"] = self.rank
        atomic_write_bytes(self.path / index_name(self.rank), json.dumps(index, indent=1).encode())


def read_index(path: str | Path, rank: int = 0) -> dict[str, Any]:
    """A run folder's index (of ``rank``'s snapshots), checked: one-line errors for a missing or foreign folder."""
    folder = Path(path)
    ranks = run_ranks(folder)
    if not ranks:
        raise Viz3dError(f"{path} is not a viz3d run folder: no {INDEX} (written by viz3d.watch(run_dir=...))")
    if rank not in ranks:
        raise Viz3dError(f"{path} has no snapshots of rank {rank}: its ranks are {', '.join(map(str, ranks))}")
    file = folder / (INDEX if (folder / INDEX).is_file() and rank == 0 else index_name(rank))
    try:
        index = json.loads(file.read_text())
    except (OSError, ValueError) as exc:
        raise Viz3dError(f"cannot read {file}: {exc}") from None
    if not isinstance(index, dict) or index.get("format") != FORMAT:
        raise Viz3dError(f"{file} is not a viz3d run index (format {FORMAT!r} expected)")
    return index


def load_snapshot(file: str | Path) -> Snapshot:
    """One snapshot file back as a :class:`Snapshot` (tensors on the CPU, no trace)."""
    try:
        with safe_open(str(file), framework="pt") as handle:
            meta = handle.metadata() or {}
            tensors = {k: handle.get_tensor(k) for k in handle.keys()}  # noqa: SIM118 (not a dict)
        step, wall_time, metrics = int(meta["step"]), float(meta["wall_time"]), json.loads(meta["metrics"])
    except FileNotFoundError:
        raise Viz3dError(f"snapshot file {file} is missing from its run folder") from None
    except (OSError, ValueError, KeyError, SafetensorError) as exc:
        raise Viz3dError(f"snapshot file {file} is corrupt or not a viz3d snapshot: {exc}") from None
    activations = {k[len(ACTIVATION) :]: v for k, v in tensors.items() if k.startswith(ACTIVATION)}
    weights = {k[len(WEIGHT) :]: v for k, v in tensors.items() if k.startswith(WEIGHT)}
    return Snapshot(step, wall_time, metrics, activations, weights)


def load_run(path: str | Path, rank: int = 0) -> tuple[list[Snapshot], list[tuple[int, dict[str, float]]]]:
    """A run folder's snapshots of ``rank`` (in step order) and that rank's per-step metrics history.

    A single-process run is rank 0; :func:`run_ranks` lists the ranks of a distributed one.
    """
    index = read_index(path, rank)
    snapshots = [load_snapshot(Path(path) / e["file"]) for e in sorted(index["snapshots"], key=lambda e: e["step"])]
    history = [(int(h["step"]), {k: float(v) for k, v in h["metrics"].items()}) for h in index.get("history", [])]
    return snapshots, history


def load_step(path: str | Path, step: int, rank: int = 0) -> Snapshot:
    """The snapshot of ``step`` written by ``rank`` (a one-line error naming the steps there are)."""
    entries = {int(e["step"]): e["file"] for e in read_index(path, rank)["snapshots"]}
    if step not in entries:
        steps = ", ".join(map(str, sorted(entries)))
        raise Viz3dError(f"rank {rank} of {path} has no snapshot of step {step}: its steps are {steps}")
    return load_snapshot(Path(path) / entries[step])
