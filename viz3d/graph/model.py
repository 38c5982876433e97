"""The architecture graph drawn by ``viz3d graph``: Trace nodes, with repeated runs folded.

A run of consecutive units that are the same op with the same output shape
and parameter count, each feeding only the next (ResNet's identical
bottleneck blocks), becomes one node with a count. So does a run of
identical *sequences* of units (period up to ``MAX_PERIOD``): a flat
``Sequential`` of 400 × (Conv2d, ReLU) is one node "0 .. 799 (x400)", not 800
boxes, whatever the module nesting says.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from viz3d.capture.trace import Trace

MAX_PERIOD = 8  # longest repeated sequence folded (a block of a flat Sequential)
_NEVER_FOLDED = ("input", "merge")


@dataclass
class GraphNode:
    """One box of the diagram (``count`` > 1 for a folded run)."""

    id: int
    name: str
    op: str
    kind: str
    shape: tuple[int, ...]
    params: int
    count: int = 1
    members: list[int] = field(default_factory=list)  # trace node ids
    last_name: str = ""  # the last member's name, for a folded run
    period: int = 1  # units per repeat: 1 for a run of one op, k for a repeated k-unit sequence

    @property
    def label(self) -> str:
        if self.count > 1:
            return f"{self.name} .. {self.last_name} (x{self.count})"
        return self.name

    @property
    def detail(self) -> str:
        shape = "x".join(str(v) for v in self.shape) if self.shape else "-"
        return f"{self.op} | {shape}"


@dataclass(frozen=True)
class GraphEdge:
    src: int
    dst: int
    kind: str


@dataclass
class Graph:
    nodes: list[GraphNode]
    edges: list[GraphEdge]
    group_depth: int | None = None


def _links(trace: Trace) -> dict[int, int]:
    """``following[a] = b`` where ``b`` is ``a``'s only child and ``a`` is ``b``'s only parent."""
    children: dict[int, list[int]] = {}
    parents: dict[int, list[int]] = {}
    for e in trace.edges:
        children.setdefault(e.src, []).append(e.dst)
        parents.setdefault(e.dst, []).append(e.src)
    return {a: kids[0] for a, kids in children.items() if len(kids) == 1 and parents.get(kids[0]) == [a]}


def _chains(trace: Trace, following: dict[int, int]) -> list[list[int]]:
    """Maximal one-in one-out chains of foldable nodes (every node in exactly one chain, in execution order)."""
    foldable = {n.id for n in trace.nodes if n.kind not in _NEVER_FOLDED}
    linked = {b for a, b in following.items() if a in foldable and b in foldable}
    chains = []
    for n in trace.nodes:
        if n.id in linked:
            continue  # inside the chain of an earlier node
        chain = [n.id]
        while n.id in foldable and chain[-1] in following and following[chain[-1]] in linked:
            chain.append(following[chain[-1]])
        chains.append(chain)
    return chains


def _best_repeat(sigs: list[tuple[object, ...]], start: int, max_period: int) -> tuple[int, int]:
    """(period, repeats) of the run from ``start`` that covers the most units (the shortest period on ties)."""
    best = (1, 1)
    for k in range(1, max_period + 1):
        block = sigs[start : start + k]
        if len(block) < k:
            break
        repeats = 1
        while sigs[start + repeats * k : start + (repeats + 1) * k] == block:
            repeats += 1
        if repeats > 1 and repeats * k > best[0] * best[1]:
            best = (k, repeats)
    return best


def _fold_chain(trace: Trace, chain: list[int], max_period: int) -> list[tuple[list[int], int, int]]:
    """Split a chain into (members, period, repeats) groups, greedily from its start."""
    units = [trace.nodes[i] for i in chain]
    sigs: list[tuple[object, ...]] = [(n.op, n.kind, tuple(n.shape[1:]), n.params) for n in units]
    out, at = [], 0
    while at < len(chain):
        period, repeats = _best_repeat(sigs, at, max_period) if max_period else (1, 1)
        out.append((chain[at : at + period * repeats], period, repeats))
        at += period * repeats
    return out


def _group_node(trace: Trace, gid: int, members: list[int], period: int, repeats: int) -> GraphNode:
    first, last = trace.nodes[members[0]], trace.nodes[members[-1]]
    if period == 1:
        node = GraphNode(gid, first.name, first.op, first.kind, tuple(first.shape[1:]), first.params, repeats)
    else:
        ops = [trace.nodes[i].op for i in members[:period]]
        op = "+".join(ops) if period <= 3 else f"{ops[0]}+..+{ops[-1]} ({period} ops)"
        params = sum(trace.nodes[i].params for i in members[:period])
        node = GraphNode(gid, first.name, op, "block", tuple(last.shape[1:]), params, repeats, period=period)
    node.members = list(members)
    node.last_name = last.name if len(members) > 1 else ""
    return node


def build_graph(trace: Trace, fold_repeats: bool = True, max_period: int = MAX_PERIOD) -> Graph:
    """The diagram's nodes and edges from a Trace (ids are positions in ``nodes``).

    With ``fold_repeats``, runs of identical units (period 1) and of
    identical sequences of up to ``max_period`` units (a flat
    ``Sequential`` of Conv, BatchNorm, ReLU repeated) become one node each.
    """
    following = _links(trace)
    groups = []
    for chain in _chains(trace, following):
        groups += _fold_chain(trace, chain, max_period if fold_repeats else 0)
    # Execution order of each group's first member is a topological order: edges enter a group only at
    # its first member and leave only from its last.
    groups.sort(key=lambda g: g[0][0])
    nodes = [_group_node(trace, gid, *g) for gid, g in enumerate(groups)]
    group_of = {m: node.id for node in nodes for m in node.members}
    edges: dict[tuple[int, int], str] = {}
    for e in trace.edges:
        a, b = group_of[e.src], group_of[e.dst]
        if a != b:
            edges.setdefault((a, b), e.kind)
    return Graph(nodes, [GraphEdge(a, b, k) for (a, b), k in edges.items()], trace.group_depth)
