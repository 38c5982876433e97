"""Which modules are shown as one unit: leaf modules, blocks folded at a depth, and blocks opened one at a time.

Plain data (torch only). ``Folding(depth=2)`` shows every module at dotted-name
depth 2 (``layer3.1``) as one unit; ``opened={"layer3.1"}`` shows that one
block's own modules instead, its neighbours staying folded.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Folding:
    """``depth=None``: every leaf module is a unit. ``opened``: folded blocks shown opened."""

    depth: int | None = None
    opened: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def of(cls, value: Folding | int | None, opened: Iterable[str] = ()) -> Folding:
        """A Folding from a depth (or an existing Folding), with ``opened`` blocks added."""
        if isinstance(value, Folding):
            return cls(value.depth, value.opened | frozenset(opened))
        return cls(value, frozenset(opened))

    def folds(self, qualified_name: str) -> bool:
        """Whether the module of this dotted name is one unit with its children hidden."""
        if self.depth is None or not qualified_name:
            return False
        return qualified_name.count(".") + 1 >= self.depth and qualified_name not in self.opened


def block_of(name: str, opened: Iterable[str]) -> str | None:
    """The innermost opened block a unit of this name belongs to (None: not inside one)."""
    inside = [b for b in opened if name.startswith(b + ".")]
    return max(inside, key=len) if inside else None


def closed(opened: Iterable[str], block: str) -> frozenset[str]:
    """``opened`` without ``block`` and the blocks opened inside it."""
    return frozenset(b for b in opened if b != block and not b.startswith(block + "."))
