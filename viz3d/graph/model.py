"""The architecture graph drawn by ``viz3d graph``: Trace nodes, with repeated runs folded.

A run of consecutive units that are the same op with the same output shape
and parameter count, each feeding only the next (ResNet's identical
bottleneck blocks), becomes one node with a count.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from viz3d.capture.trace import Trace


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


def build_graph(trace: Trace, fold_repeats: bool = True) -> Graph:
    """The diagram's nodes and edges from a Trace (ids are positions in ``nodes``)."""
    children: dict[int, list[int]] = {}
    parents: dict[int, list[int]] = {}
    for e in trace.edges:
        children.setdefault(e.src, []).append(e.dst)
        parents.setdefault(e.dst, []).append(e.src)

    def signature(i: int) -> tuple[object, ...]:
        n = trace.nodes[i]
        return (n.op, n.kind, tuple(n.shape[1:]), n.params)

    group_of: dict[int, int] = {}
    nodes: list[GraphNode] = []
    for n in trace.nodes:
        prev = parents.get(n.id, [])
        if (
            fold_repeats
            and n.kind not in ("input", "merge")
            and len(prev) == 1
            and children.get(prev[0], []) == [n.id]
            and prev[0] in group_of
            and signature(prev[0]) == signature(n.id)
        ):
            g = nodes[group_of[prev[0]]]
            g.count += 1
            g.members.append(n.id)
            g.last_name = n.name
            group_of[n.id] = g.id
            continue
        group_of[n.id] = len(nodes)
        nodes.append(GraphNode(len(nodes), n.name, n.op, n.kind, tuple(n.shape[1:]), n.params, 1, [n.id]))
    edges: dict[tuple[int, int], str] = {}
    for e in trace.edges:
        a, b = group_of[e.src], group_of[e.dst]
        if a != b:
            edges.setdefault((a, b), e.kind)
    return Graph(nodes, [GraphEdge(a, b, k) for (a, b), k in edges.items()], trace.group_depth)
