"""Stand-ins shared by tests."""

from __future__ import annotations


class FakeClock:
    """A clock the test advances by hand (``clock.t += dt``), so flights and messages are deterministic."""

    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t
