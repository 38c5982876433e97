"""The viewer's minimap: the architecture graph in a corner, the camera's place marked, clickable."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from viz3d.capture.trace import Trace
from viz3d.graph import build_graph, layered_drawing
from viz3d.graph.style import style_of

MAX_WIDTH = 180
MAX_HEIGHT = 420
PAD = 6


class Minimap:
    """A small drawing of ``trace``'s graph (one box per node, nothing folded, so each box is a slab)."""

    def __init__(self, trace: Trace, max_height: int = MAX_HEIGHT) -> None:
        self.graph = build_graph(trace, fold_repeats=False)
        self.drawing = layered_drawing(self.graph)
        d = self.drawing
        top = min((b.y for b in d.boxes), default=0.0)  # skip the legend band of the full diagram
        self.offset = top - 4
        self.scale = min(MAX_WIDTH / d.width, max_height / max(d.height - self.offset, 1.0))
        self.size = (int(d.width * self.scale) + 2 * PAD, int((d.height - self.offset) * self.scale) + 2 * PAD)
        self.position = (10.0, 10.0)  # top-left in window pixels, set by the viewer
        self.marked: int | None = None
        self._image: np.ndarray | None = None

    def _rect(self, i: int) -> tuple[float, float, float, float]:
        b = self.drawing.boxes[i]
        s, o = self.scale, self.offset
        return (PAD + b.left * s, PAD + (b.y - o) * s, PAD + b.right * s, PAD + (b.bottom - o) * s)

    def node_at(self, x: float, y: float) -> int | None:
        """The trace node id under window pixel (x, y), if the click hit the minimap."""
        px, py = x - self.position[0], y - self.position[1]
        if not (0 <= px < self.size[0] and 0 <= py < self.size[1]):
            return None
        best, best_d = None, float("inf")
        for node in self.graph.nodes:
            x0, y0, x1, y1 = self._rect(node.id)
            dx = max(x0 - px, 0.0, px - x1)
            dy = max(y0 - py, 0.0, py - y1)
            d = dx * dx + dy * dy
            if d < best_d:
                best, best_d = node.members[0], d
        return best if best_d <= 16.0 else None  # within 4 px of a box

    def mark(self, node_id: int | None) -> bool:
        """Mark the camera at ``node_id``; True when the picture changed."""
        if node_id == self.marked and self._image is not None:
            return False
        self.marked = node_id
        self._image = None
        return True

    def image(self) -> np.ndarray:
        """Premultiplied RGBA picture of the map."""
        if self._image is None:
            img = Image.new("RGBA", self.size, (14, 16, 21, 210))
            draw = ImageDraw.Draw(img)
            s, o = self.scale, self.offset
            for r in self.drawing.routes:
                (x0, y0), (x3, y3) = r.points[0], r.points[-1]
                draw.line(
                    [(PAD + x0 * s, PAD + (y0 - o) * s), (PAD + x3 * s, PAD + (y3 - o) * s)], fill=(120, 126, 140, 255)
                )
            for node in self.graph.nodes:
                fill, _ = style_of(node.kind)
                draw.rectangle(self._rect(node.id), fill=fill)
            if self.marked is not None:
                for node in self.graph.nodes:
                    if self.marked in node.members:
                        x0, y0, x1, y1 = self._rect(node.id)
                        draw.rectangle((x0 - 3, y0 - 3, x1 + 3, y1 + 3), outline=(255, 255, 255, 255), width=2)
            arr = np.asarray(img, dtype=np.float32)
            arr[..., :3] *= arr[..., 3:] / 255.0
            self._image = arr.round().astype(np.uint8)
        return self._image
