"""A run folder on disk: one safetensors file per snapshot and a small JSON index (torch and safetensors only).

``step-00000010.safetensors`` holds the shown activations (``activation/NODE``)
and the weights (``weight/NAME``) of one snapshot; its header repeats the
step, wall time and metrics. ``index.json`` lists the snapshots (step, wall
time, metrics, file) and every step's metrics (the loss curve). Every file is
written atomically, so a run killed mid-write leaves a readable folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from safetensors import SafetensorError, safe_open
from safetensors.torch import save as save_tensors

from viz3d.errors import Viz3dError
from viz3d.files import atomic_write_bytes
from viz3d.session.timeline import Snapshot

INDEX = "index.json"
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


class RunFolder:
    """Writes a run's snapshots into ``path`` (created if missing; a folder holding another run is refused)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise Viz3dError(f"run folder {self.path} is a file: pass a folder")
        if (self.path / INDEX).exists():
            raise Viz3dError(f"{self.path} already holds a run ({INDEX}): pass a new folder or remove it")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise Viz3dError(f"cannot create run folder {self.path}: {exc.strerror or exc}") from None
        self.entries: list[dict[str, Any]] = []

    def write(self, snapshot: Snapshot, history: list[tuple[int, dict[str, float]]]) -> Path:
        """Write ``snapshot``'s file, then the index with it and the metrics ``history`` so far."""
        name = f"step-{snapshot.step:08d}.safetensors"
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
        atomic_write_bytes(self.path / INDEX, json.dumps(index, indent=1).encode())


def read_index(path: str | Path) -> dict[str, Any]:
    """A run folder's index, checked (one-line errors for a missing or foreign folder)."""
    file = Path(path) / INDEX
    try:
        index = json.loads(file.read_text())
    except FileNotFoundError:
        raise Viz3dError(
            f"{path} is not a viz3d run folder: no {INDEX} (written by viz3d.watch(run_dir=...))"
        ) from None
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


def load_run(path: str | Path) -> tuple[list[Snapshot], list[tuple[int, dict[str, float]]]]:
    """A run folder's snapshots (in step order) and its per-step metrics history."""
    index = read_index(path)
    snapshots = [load_snapshot(Path(path) / e["file"]) for e in sorted(index["snapshots"], key=lambda e: e["step"])]
    history = [(int(h["step"]), {k: float(v) for k, v in h["metrics"].items()}) for h in index.get("history", [])]
    return snapshots, history
