"""A layered (Sugiyama-style) drawing of the graph: ranks top to bottom, few crossings.

Ranks are longest paths from the input; the order within a rank is improved
by barycentre sweeps; x positions pull each node under its parents while
keeping the order and a minimum gap. Edges spanning several ranks are routed
beside the nodes they would cross. Deterministic; no Graphviz.
"""

from __future__ import annotations

from dataclasses import dataclass

from viz3d.dag import ranks_of
from viz3d.graph.model import Graph
from viz3d.graph.style import legend_width

NODE_H = 40.0
RANK_GAP = 34.0
NODE_GAP = 24.0
CHAR_W = 7.2  # average width of a 12 px label character
MARGIN = 30.0
LEGEND_H = 40.0


@dataclass
class Box:
    x: float  # centre
    y: float  # top
    w: float
    h: float = NODE_H

    @property
    def left(self) -> float:
        return self.x - self.w / 2

    @property
    def right(self) -> float:
        return self.x + self.w / 2

    @property
    def bottom(self) -> float:
        return self.y + self.h


@dataclass
class Route:
    src: int
    dst: int
    kind: str
    points: list[tuple[float, float]]  # cubic Bézier: start, control 1, control 2, end


@dataclass
class Drawing:
    boxes: list[Box]
    routes: list[Route]
    width: float
    height: float


def _order(graph: Graph, rank: list[int]) -> list[list[int]]:
    by_rank: dict[int, list[int]] = {}
    for node in graph.nodes:
        by_rank.setdefault(rank[node.id], []).append(node.id)
    layers = [by_rank[r] for r in sorted(by_rank)]
    parents: dict[int, list[int]] = {}
    children: dict[int, list[int]] = {}
    for e in graph.edges:
        parents.setdefault(e.dst, []).append(e.src)
        children.setdefault(e.src, []).append(e.dst)
    pos = {n: i for layer in layers for i, n in enumerate(layer)}
    for sweep in range(4):
        down = sweep % 2 == 0
        seq = layers[1:] if down else layers[-2::-1]
        for layer in seq:
            links = parents if down else children

            def bary(n: int, links: dict[int, list[int]] = links) -> float:
                near = links.get(n, [])
                return sum(pos[m] for m in near) / len(near) if near else pos[n]

            layer.sort(key=lambda n: (bary(n), pos[n]))
            for i, n in enumerate(layer):
                pos[n] = i
    return layers


def layered_drawing(graph: Graph) -> Drawing:
    """Boxes and edge routes of the whole graph, in pixels."""
    n = len(graph.nodes)
    rank = ranks_of(n, [(e.src, e.dst) for e in graph.edges])
    layers = _order(graph, rank)
    widths = [max(len(g.label), len(g.detail)) * CHAR_W + 24 for g in graph.nodes]
    boxes = [Box(0.0, 0.0, w) for w in widths]
    parents: dict[int, list[int]] = {}
    for e in graph.edges:
        parents.setdefault(e.dst, []).append(e.src)
    for r, layer in enumerate(layers):
        y = MARGIN + LEGEND_H + r * (NODE_H + RANK_GAP)
        # Where each node would like to be: under its parents (or packed, for the first rank).
        desired = []
        for node in layer:
            ps = parents.get(node, [])
            desired.append(sum(boxes[p].x for p in ps) / len(ps) if ps else 0.0)
        xs = list(desired)
        # Keep the order and the gaps: sweep right, then centre the block on the desired mean.
        for i in range(1, len(layer)):
            need = (boxes[layer[i - 1]].w + boxes[layer[i]].w) / 2 + NODE_GAP
            xs[i] = max(xs[i], xs[i - 1] + need)
        shift = (sum(desired) - sum(xs)) / len(xs)
        for node, x in zip(layer, xs, strict=True):
            boxes[node].x, boxes[node].y = x + shift, y
    left = min(b.left for b in boxes) if boxes else 0.0
    for b in boxes:
        b.x += MARGIN - left
    width = max(max((b.right for b in boxes), default=0.0) + MARGIN, legend_width())
    height = max((b.bottom for b in boxes), default=0.0) + MARGIN

    routes = []
    for e in graph.edges:
        a, b = boxes[e.src], boxes[e.dst]
        start, end = (a.x, a.bottom), (b.x, b.y)
        dy = end[1] - start[1]
        span = rank[e.dst] - rank[e.src]
        blockers = [
            boxes[m]
            for m in range(n)
            if rank[e.src] < rank[m] < rank[e.dst]
            and boxes[m].left - 6 < max(a.x, b.x)
            and boxes[m].right + 6 > min(a.x, b.x)
        ]
        if span > 1 and blockers:
            side = max(bx.right for bx in blockers) + 18.0 + 6.0 * (span % 4)
            points = [start, (side, start[1] + 0.25 * dy), (side, end[1] - 0.25 * dy), end]
            width = max(width, side + MARGIN)
        else:
            points = [start, (start[0], start[1] + dy / 2), (end[0], end[1] - dy / 2), end]
        routes.append(Route(e.src, e.dst, e.kind, points))
    return Drawing(boxes, routes, width, height)
