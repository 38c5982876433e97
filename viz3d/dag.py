"""Graph helpers shared by the 3D layout and the 2D diagram (plain Python)."""

from __future__ import annotations

from collections.abc import Sequence


def ranks_of(n: int, edges: Sequence[tuple[int, int]]) -> list[int]:
    """Longest-path depth of each node (nodes are in execution, i.e. topological, order)."""
    rank = [0] * n
    parents: dict[int, list[int]] = {}
    for s, d in edges:
        parents.setdefault(d, []).append(s)
    for i in range(n):
        ps = [p for p in parents.get(i, []) if p < i]
        rank[i] = max((rank[p] + 1 for p in ps), default=0)
    return rank
