"""Draw ConnectionSets: one instanced call per kind, widths in screen pixels, anti-aliased."""

from __future__ import annotations

from typing import Any

import numpy as np

from viz3d.layout.connections import ConnectionSet
from viz3d.renderer.shaders import load_shader


class ConnectionBatch:
    """The GL side of one ConnectionSet: a strip template and per-instance buffers."""

    def __init__(self, segments: int) -> None:
        from vispy import gloo

        self.segments = segments
        self.count = 0
        self.prog = gloo.Program(load_shader("connection.vert"), load_shader("connection.frag"))
        t = np.repeat(np.linspace(0.0, 1.0, segments + 1, dtype=np.float32), 2)
        side = np.tile(np.array([-1.0, 1.0], np.float32), segments + 1)
        self.prog["a_t"] = gloo.VertexBuffer(t)
        self.prog["a_side"] = gloo.VertexBuffer(side)
        self._buffers: dict[str, Any] = {}

    def set(self, connections: ConnectionSet) -> None:
        """Upload the instances (replacing the previous ones)."""
        from vispy import gloo

        assert connections.segments == self.segments
        self.count = len(connections)
        if self.count == 0:
            return
        data = {
            "a_p0": connections.p0,
            "a_p1": connections.p1,
            "a_ctrl": connections.ctrl,
            "a_color": connections.color,
            "a_width": connections.width,
        }
        for name, array in data.items():
            array = np.ascontiguousarray(array, np.float32)
            buf = self._buffers.get(name)
            if buf is None or buf.size != len(array):
                if buf is not None:
                    buf.delete()
                buf = gloo.VertexBuffer(array, divisor=1)
                self._buffers[name] = buf
                self.prog[name] = buf
            else:
                buf.set_data(array)

    def draw(self, mvp: np.ndarray, size: tuple[int, int], pixel_scale: float, cut_z: float) -> None:
        if self.count == 0:
            return
        self.prog["u_mvp"] = mvp
        self.prog["u_viewport"] = (float(size[0]), float(size[1]))
        self.prog["u_pixel_scale"] = float(pixel_scale)
        self.prog["u_cut_z"] = cut_z
        self.prog.draw("triangle_strip")

    def delete(self) -> None:
        for buf in self._buffers.values():
            buf.delete()
        self.prog.delete()


class ConnectionLayer:
    """Every visible connection kind, thinned to a segment budget (strongest first), one batch per set."""

    def __init__(self) -> None:
        self._batches: dict[tuple[str, int, int], ConnectionBatch] = {}
        self.thinned: tuple[int, int] = (0, 0)  # (drawn, total) curves after the budget

    def set(self, sets_by_kind: dict[str, list[ConnectionSet]], budget: int) -> None:
        """Upload what is drawn of ``sets_by_kind`` (kind → its sets) within ``budget`` segments."""
        from viz3d.layout.connections import apply_budget

        keys = [(k, i, s.segments) for k in sorted(sets_by_kind) for i, s in enumerate(sets_by_kind[k])]
        sets = [s for k in sorted(sets_by_kind) for s in sets_by_kind[k]]
        kept = apply_budget(sets, budget)
        self.thinned = (sum(len(s) for s in kept), sum(s.total for s in sets))
        for key in list(self._batches):
            if key not in keys:
                self._batches.pop(key).delete()
        for key, subset in zip(keys, kept, strict=True):
            batch = self._batches.get(key)
            if batch is None:
                batch = self._batches[key] = ConnectionBatch(key[2])
            batch.set(subset)

    @property
    def empty(self) -> bool:
        return not self._batches

    def draw(self, mvp: np.ndarray, size: tuple[int, int], pixel_scale: float, cut_z: float) -> None:
        for batch in self._batches.values():
            batch.draw(mvp, size, pixel_scale, cut_z)

    def delete(self) -> None:
        for batch in self._batches.values():
            batch.delete()
        self._batches = {}
