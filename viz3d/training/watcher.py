"""Watch a network while an ordinary training loop trains it.

Every ``every`` steps :meth:`Watcher.step` captures the probe input's
activations and copies the weights into a :class:`~viz3d.session.timeline.Snapshot`
(the capture restores training flags, BatchNorm statistics, RNG state and
grad mode, so training goes on exactly as without the watch). Snapshots go
into a bounded ring, optionally into a run folder, and to the view: a window
whose events each ``step()`` pumps without waiting (the loop keeps the
thread; a frame is drawn only when something changed), or a notebook widget
in a Jupyter kernel. The view keeps the snapshots as a timeline to scrub
(:mod:`viz3d.session.scrubbing`), following the newest unless the user
stepped back, with the metrics passed to ``step()`` as a sparkline.

Under ``torch.distributed`` (DDP or FSDP) every rank watches its own probe
and writes its snapshots into the shared ``run_dir`` with its rank in the
file names (:mod:`viz3d.training.distributed`); only rank 0 opens a window.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from viz3d.errors import Viz3dError
from viz3d.session import Session, ViewOptions
from viz3d.session.run_folder import RunFolder
from viz3d.session.timeline import Metric, Snapshot, SnapshotRing, checked_metrics, metric_values, take_snapshot
from viz3d.training.distributed import (
    capture_method,
    full_weights,
    plain_names,
    process_rank,
    reshard,
    watched_module,
)

if TYPE_CHECKING:
    from viz3d.renderer.context import Backend


class Watcher:
    """A watch on ``model`` through ``probe``: call :meth:`step` after each optimizer step, :meth:`close` at the end.

    Parameters
    ----------
    model, probe
        The model being trained and the input whose activations are shown (on the model's device).
    every
        Snapshot every this many steps (step 0, before training, is always taken).
    window
        Show the snapshots: a window (a widget in a Jupyter kernel); False keeps them only.
        Under torch.distributed only rank 0 shows them.
    run_dir
        A new folder to write the snapshots and the metrics into; None keeps them in memory only.
        Under torch.distributed every rank writes into it, its rank in the file names.
    keep
        How many of the newest snapshots the ring keeps in memory.
    backend, size, options
        The window's backend (``"egl"``: a hidden canvas, for tests), its size and the view settings.
    """

    def __init__(
        self,
        model: nn.Module,
        probe: torch.Tensor | tuple[torch.Tensor, ...],
        *,
        every: int = 10,
        window: bool = True,
        run_dir: str | Path | None = None,
        keep: int = 32,
        backend: Backend = "glfw",
        size: tuple[int, int] | None = None,
        options: ViewOptions | None = None,
    ) -> None:
        if not isinstance(model, nn.Module):
            raise Viz3dError(f"watch needs a torch.nn.Module, got {type(model).__name__}")
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise Viz3dError(f"every must be a whole number of steps ≥ 1, got {every!r}")
        self.model, self.probe, self.every = model, probe, every
        self.module = watched_module(model)  # DDP: the replica it wraps (captured without collectives)
        self.rank = process_rank()  # None: a single process
        self.method = capture_method(self.module)
        self.ring = SnapshotRing(keep)
        self.run = RunFolder(run_dir, rank=self.rank) if run_dir is not None else None
        self.steps = 0
        self.history: list[tuple[int, dict[str, float]]] = []  # every step's metrics, as floats
        self._pending: list[tuple[int, Mapping[str, Metric]]] = []  # not yet read (tensors: no sync per step)
        self.options = options or ViewOptions()
        self.session: Session | None = None
        self.window: Any = None  # a ViewerWindow, or a notebook widget
        self.closed = False
        first = self._snapshot()
        if window and not self.rank:  # one window for a distributed job: rank 0's
            self._open_view(first, backend, size)

    # --- the view ---------------------------------------------------------------------
    def _open_view(self, first: Snapshot, backend: Backend, size: tuple[int, int] | None) -> None:
        from viz3d.notebook import in_notebook

        assert first.trace is not None
        notebook = in_notebook()
        size = size or ((960, 600) if notebook else (1280, 800))
        self.session = Session(first.trace, model=self.module, inputs=[self.probe], options=self.options, size=size)
        self.session.add_snapshot(first, self.history, keep=self.ring.keep)
        if notebook:
            from IPython.display import display

            from viz3d.api import notebook_widget

            self.window = notebook_widget(self.session, size)
            display(self.window)
        else:
            from viz3d.app.window import ViewerWindow

            self.window = ViewerWindow(self.session, title="viz3d: training", backend=backend)
            if backend != "egl":
                self.window.canvas.show()
        self._pump()

    def _pump(self, last: bool = False) -> None:
        """Handle the window's pending events and draw if something changed; never waits for input.

        A notebook widget paces its frames itself (the kernel's event loop waits
        while the cell trains); ``last`` sends the final state whatever the pace.
        """
        window = self.window
        if window is None or getattr(window, "closed", False):
            return
        if hasattr(window, "canvas"):
            window.canvas.app.process_events()
        elif not window.view.closed:
            window.flush(force=last)

    def _show(self, snapshot: Snapshot) -> None:
        """Put ``snapshot`` on the session's timeline: shown in place unless the user scrubbed back."""
        if self.session is None or snapshot.trace is None:
            return
        session = self.session
        following = session.timeline_index == len(session.timeline) - 1
        session.add_snapshot(snapshot, self.history, keep=self.ring.keep)
        if following:
            session.say(session.snapshot_text())

    # --- the training loop's calls -------------------------------------------------------
    def step(self, loss: Metric | None = None, **metrics: Metric) -> Snapshot | None:
        """One training step done (after ``optimizer.step()``): record ``loss`` and ``metrics``; snapshot every N.

        Returns the snapshot when one was taken. Tensors passed as metrics are
        read only at snapshots, so a CUDA loop is not synchronised every step.
        """
        if self.closed:
            raise Viz3dError("this watch is closed: open a new one with viz3d.watch(model, probe)")
        if loss is not None:
            metrics = {"loss": loss, **metrics}
        checked = checked_metrics(metrics)  # a bad value fails this call, before the step is counted
        self.steps += 1
        if checked:
            # Read at the next snapshot, not now: .item() on a CUDA tensor would wait for the GPU every step.
            self._pending.append((self.steps, checked))
        snapshot = None
        if self.steps % self.every == 0:
            snapshot = self._snapshot()
            self._show(snapshot)
        self._pump()
        return snapshot

    def _read_pending(self) -> None:
        self.history += [(step, metric_values(m)) for step, m in self._pending]
        self._pending = []

    def _snapshot(self) -> Snapshot:
        """Snapshot now, with this step's metrics (if any were passed)."""
        self._read_pending()
        metrics = self.history[-1][1] if self.history and self.history[-1][0] == self.steps else {}
        weights = full_weights(self.model)  # gathered where sharded (a collective under FSDP)
        depth = self.options.group_depth
        snapshot = take_snapshot(self.module, self.probe, self.steps, metrics, depth, weights, self.method)
        if self.method is not None:  # a sharded model
            reshard(self.module)  # its units back to their shards, as training expects
            snapshot = plain_names(snapshot)  # FSDP1: layer names without the wrapper's prefix
        self.ring.add(snapshot)
        if self.run is not None:
            self.run.write(snapshot, self.history)
        return snapshot

    def hook(self, optimizer: torch.optim.Optimizer) -> Any:
        """Call :meth:`step` after every ``optimizer.step()``; returns the handle that removes the hook."""

        def after_step(*_: Any) -> None:
            self.step()

        return optimizer.register_step_post_hook(after_step)

    # --- life cycle ----------------------------------------------------------------------
    def close(self, keep_window: bool = False) -> None:
        """Stop watching: a last snapshot when steps ran since the previous one, the index written, the window closed.

        A notebook widget stays in its cell (it still shows the last snapshot); so
        does the window with ``keep_window`` (run its loop to let the user scrub on).
        """
        if self.closed:
            return
        latest = self.ring.latest
        if latest is not None and latest.step != self.steps:
            self._show(self._snapshot())
        self._pump(last=True)
        self._read_pending()
        if self.run is not None:
            self.run.write_index(self.history)
        self.closed = True
        if self.window is not None and hasattr(self.window, "canvas") and not self.window.closed and not keep_window:
            self.window.canvas.close()

    def __enter__(self) -> Watcher:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def watch(
    model: nn.Module,
    probe: torch.Tensor | tuple[torch.Tensor, ...],
    every: int = 10,
    window: bool = True,
    run_dir: str | Path | None = None,
    keep: int = 32,
    **kwargs: Any,
) -> Watcher:
    """Watch ``model`` learn: snapshots of ``probe``'s activations and the weights every ``every`` steps.

    >>> with viz3d.watch(model, probe, every=10) as w:            # doctest: +SKIP
    ...     for x, y in loader:
    ...         loss = train_step(x, y)
    ...         w.step(loss=loss)

    ``window=False`` keeps the snapshots (``w.ring``) without showing them;
    ``run_dir`` writes them (safetensors and ``index.json``; read back with
    :func:`viz3d.session.run_folder.load_run`). See :class:`Watcher`.
    """
    return Watcher(model, probe, every=every, window=window, run_dir=run_dir, keep=keep, **kwargs)
