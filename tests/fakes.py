"""Stand-ins shared by tests."""

from __future__ import annotations

from typing import Any


class FakeClock:
    """A clock the test advances by hand (``clock.t += dt``), so flights and messages are deterministic."""

    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def minimap_point(window: Any, layer: str) -> tuple[int, tuple[float, float]]:
    """The node id of ``layer`` and the window position of the centre of its minimap box (drawn once first)."""
    window.on_draw()
    mini = window.hud.minimap(window.size)
    target = window.session.trace.node(layer).id
    gnode = next(n for n in mini.graph.nodes if target in n.members)
    x0, y0, x1, y1 = mini._rect(gnode.id)
    return target, (mini.position[0] + (x0 + x1) / 2, mini.position[1] + (y0 + y1) / 2)
