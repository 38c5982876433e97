"""The viewer's minimap: the architecture graph in a corner, block bands with captions, the camera marked, clickable.

The network's blocks (``layer1`` .. ``layer4`` of a ResNet, ``denseblockN`` of a
DenseNet, ``encoder_layer_N`` of a ViT) are shaded bands with their names in a
gutter on the left, so the map reads as a table of contents even when 700
units make each node a one-pixel line; hovering a node names it and a click
flies there. The block depth is the shallowest module depth that splits the
network into at least :data:`MIN_BLOCKS` blocks of several units.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

from viz3d.app.panels import font
from viz3d.capture.trace import Trace
from viz3d.graph import build_graph, layered_drawing
from viz3d.graph.style import style_of

MAX_WIDTH = 180
MAX_HEIGHT = 420
PAD = 6
CAPTION_PX = 11
MAX_GUTTER = 96  # caption column width at most (longer names are cut with an ellipsis)
MIN_BLOCKS = 3
BANDS = ((30, 34, 44, 235), (20, 23, 30, 235))
HOVER_RGBA = (255, 214, 90, 255)


def block_names(names: Sequence[str], has_module: Sequence[bool], depth: int) -> list[str]:
    """The block each unit belongs to at dotted-name ``depth``; an op without a module (an ``add``) joins
    the block of the units around it when both sides agree, else stands alone."""
    keys: list[str | None] = [
        ".".join(n.split(".")[:depth]) if has_module[i] or "." in n else None for i, n in enumerate(names)
    ]
    out = []
    for i, k in enumerate(keys):
        if k is None:
            before = next((keys[j] for j in range(i - 1, -1, -1) if keys[j] is not None), None)
            after = next((keys[j] for j in range(i + 1, len(keys)) if keys[j] is not None), None)
            k = before if before is not None and before == after else names[i]
        out.append(k)
    return out


def blocks_of(trace: Trace) -> list[str]:
    """Block names of ``trace``'s nodes, at the shallowest depth giving :data:`MIN_BLOCKS` blocks of 2+ units."""
    names = [n.name for n in trace.nodes]
    has_module = [n.module is not None for n in trace.nodes]
    best: tuple[int, list[str]] = (-1, names)
    for depth in range(1, 5):
        keys = block_names(names, has_module, depth)
        runs = [k for i, k in enumerate(keys) if i == 0 or keys[i - 1] != k]
        big = sum(1 for k in set(runs) if keys.count(k) >= 2)
        if big >= MIN_BLOCKS:
            return keys
        if big > best[0]:
            best = (big, keys)
    return best[1]


class Minimap:
    """A small drawing of ``trace``'s graph (one box per node, nothing folded, so each box is a slab)."""

    def __init__(self, trace: Trace, max_height: int = MAX_HEIGHT) -> None:
        self.trace = trace
        self.graph = build_graph(trace, fold_repeats=False)
        self.drawing = layered_drawing(self.graph)
        d = self.drawing
        top = min((b.y for b in d.boxes), default=0.0)  # skip the legend band of the full diagram
        self.offset = top - 4
        self.scale = min(MAX_WIDTH / d.width, max_height / max(d.height - self.offset, 1.0))
        self.blocks = self._bands(blocks_of(trace))
        f = font(CAPTION_PX)
        widest = max((f.getlength(name) for name, _, _ in self.blocks), default=0.0)
        self.gutter = int(min(widest, MAX_GUTTER)) + 8 if self.blocks else 0
        width = int(d.width * self.scale) + 2 * PAD + self.gutter
        self.size = (width, int((d.height - self.offset) * self.scale) + 2 * PAD)
        self.position = (10.0, 10.0)  # top-left in window pixels, set by the viewer
        self.marked: int | None = None
        self.hovered: int | None = None
        self._boxes: np.ndarray | None = None
        self._image: np.ndarray | None = None

    def _bands(self, keys: list[str]) -> list[tuple[str, float, float]]:
        """(caption, y0, y1) of each block: the vertical span of its nodes in map pixels (before the gutter)."""
        spans: dict[str, list[float]] = {}
        for node in self.graph.nodes:
            key = keys[node.members[0]]
            _, y0, _, y1 = self._rect(node.id, gutter=0)
            span = spans.setdefault(key, [y0, y1])
            span[0], span[1] = min(span[0], y0), max(span[1], y1)
        if len(spans) < 2:
            return []
        return sorted(((k.split(".")[-1], y0, y1) for k, (y0, y1) in spans.items()), key=lambda b: b[1])

    def _rect(self, i: int, gutter: int | None = None) -> tuple[float, float, float, float]:
        b = self.drawing.boxes[i]
        s, o = self.scale, self.offset
        x = PAD + (self.gutter if gutter is None else gutter)
        return (x + b.left * s, PAD + (b.y - o) * s, x + b.right * s, PAD + (b.bottom - o) * s)

    def node_at(self, x: float, y: float) -> int | None:
        """The trace node id under window pixel (x, y), if it is on the minimap (the nearest node within 4 px)."""
        px, py = x - self.position[0], y - self.position[1]
        if not (0 <= px < self.size[0] and 0 <= py < self.size[1]):
            return None
        if self._boxes is None:  # every box once, as arrays: a hover test per mouse move stays cheap at 700 nodes
            self._boxes = np.array([self._rect(node.id) for node in self.graph.nodes], float).reshape(-1, 4)
        b = self._boxes
        dx = np.maximum.reduce([b[:, 0] - px, np.zeros(len(b)), px - b[:, 2]])
        dy = np.maximum.reduce([b[:, 1] - py, np.zeros(len(b)), py - b[:, 3]])
        d = dx * dx + dy * dy
        if not len(d) or d.min() > 16.0:  # within 4 px of a box
            return None
        return self.graph.nodes[int(np.argmin(d))].members[0]

    def node_y(self, node_id: int) -> float:
        """Window y of the middle of ``node_id``'s box (where a tooltip for it goes)."""
        for node in self.graph.nodes:
            if node_id in node.members:
                _, y0, _, y1 = self._rect(node.id)
                return self.position[1] + (y0 + y1) / 2
        return self.position[1]

    def mark(self, node_id: int | None) -> bool:
        """Mark the camera at ``node_id``; True when the picture changed."""
        if node_id == self.marked and self._image is not None:
            return False
        self.marked = node_id
        self._image = None
        return True

    def hover(self, node_id: int | None) -> bool:
        """Outline the node under the pointer (None: none); True when the picture changed."""
        if node_id == self.hovered:
            return False
        self.hovered = node_id
        self._image = None
        return True

    def _outline(self, draw: ImageDraw.ImageDraw, node_id: int, rgba: tuple[int, ...], grow: float) -> None:
        for node in self.graph.nodes:
            if node_id in node.members:
                x0, y0, x1, y1 = self._rect(node.id)
                draw.rectangle((x0 - grow, y0 - grow, x1 + grow, y1 + grow), outline=rgba, width=2)

    def _captions(self, draw: ImageDraw.ImageDraw) -> None:
        """Shaded bands across the map and, where they fit without overlapping, block names in the gutter."""
        f = font(CAPTION_PX)
        for k, (_, y0, y1) in enumerate(self.blocks):
            draw.rectangle((0, y0 - 1, self.size[0], y1 + 1), fill=BANDS[k % 2])
        taken: list[tuple[float, float]] = []
        for name, y0, y1 in sorted(self.blocks, key=lambda b: b[1] - b[2]):  # the tallest blocks are named first
            y = max(y0, min((y0 + y1) / 2 - CAPTION_PX / 2, y1 - CAPTION_PX))
            if y < 0 or y + CAPTION_PX > self.size[1] or any(y < b and a < y + CAPTION_PX + 1 for a, b in taken):
                continue
            text = name
            while text and f.getlength(text) > self.gutter - 6:
                text = text[:-2] + "…" if len(text) > 2 else ""
            if text:
                draw.text((4, y), text, font=f, fill=(200, 205, 215, 255))
                taken.append((y, y + CAPTION_PX + 1))

    def image(self) -> np.ndarray:
        """Premultiplied RGBA picture of the map."""
        if self._image is None:
            img = Image.new("RGBA", self.size, (14, 16, 21, 210))
            draw = ImageDraw.Draw(img)
            self._captions(draw)
            s, o, g = self.scale, self.offset, PAD + self.gutter
            for r in self.drawing.routes:
                (x0, y0), (x3, y3) = r.points[0], r.points[-1]
                draw.line(
                    [(g + x0 * s, PAD + (y0 - o) * s), (g + x3 * s, PAD + (y3 - o) * s)], fill=(120, 126, 140, 255)
                )
            for node in self.graph.nodes:
                fill, _ = style_of(node.kind)
                draw.rectangle(self._rect(node.id), fill=fill)
            if self.marked is not None:
                self._outline(draw, self.marked, (255, 255, 255, 255), 3)
            if self.hovered is not None:
                self._outline(draw, self.hovered, HOVER_RGBA, 2)
            arr = np.asarray(img, dtype=np.float32)
            arr[..., :3] *= arr[..., 3:] / 255.0
            self._image = arr.round().astype(np.uint8)
        return self._image
