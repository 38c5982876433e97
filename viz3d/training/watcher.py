"""Watch a network while an ordinary training loop trains it.

Every ``every`` steps :meth:`Watcher.step` captures the probe input's
activations and copies the weights into a :class:`~viz3d.session.timeline.Snapshot`
(the capture restores training flags, BatchNorm statistics, RNG state and
grad mode, so training goes on exactly as without the watch). Snapshots go
into a bounded ring, optionally into a run folder, and to the view: a window
whose events each ``step()`` pumps without waiting (the loop keeps the
thread; a frame is drawn only when something changed), or a notebook widget
in a Jupyter kernel.
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
    run_dir
        A new folder to write the snapshots and the metrics into; None keeps them in memory only.
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
        self.ring = SnapshotRing(keep)
        self.run = RunFolder(run_dir) if run_dir is not None else None
        self.steps = 0
        self.history: list[tuple[int, dict[str, float]]] = []  # every step's metrics, as floats
        self._pending: list[tuple[int, Mapping[str, Metric]]] = []  # not yet read (tensors: no sync per step)
        self.options = options or ViewOptions()
        self.session: Session | None = None
        self.window: Any = None  # a ViewerWindow, or a notebook widget
        self.closed = False
        first = self._snapshot()
        if window:
            self._open_view(first, backend, size)

    # --- the view ---------------------------------------------------------------------
    def _open_view(self, first: Snapshot, backend: Backend, size: tuple[int, int] | None) -> None:
        from viz3d.notebook import in_notebook

        assert first.trace is not None
        notebook = in_notebook()
        size = size or ((960, 600) if notebook else (1280, 800))
        self.session = Session(first.trace, model=self.model, inputs=[self.probe], options=self.options, size=size)
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
        if self.session is None or snapshot.trace is None:
            return
        loss = snapshot.metrics.get("loss")
        self.session.show_trace(snapshot.trace)
        self.session.say(f"step {snapshot.step}" + ("" if loss is None else f" · loss {loss:.4g}"))

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
        snapshot = take_snapshot(self.model, self.probe, self.steps, metrics, self.options.group_depth)
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
    def close(self) -> None:
        """Stop watching: a last snapshot when steps ran since the previous one, the index written, the window closed.

        A notebook widget stays in its cell (it still shows the last snapshot).
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
        if self.window is not None and hasattr(self.window, "canvas") and not self.window.closed:
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
