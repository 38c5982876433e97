"""The Trace: a network's dataflow graph with the activations it produced.

Plain data: capture fills it, layout and rendering read it. Tensors stay on
the device they were computed on.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Literal

import torch
from torch import nn

from viz3d.capture.spatial import SpatialOp

EdgeKind = Literal["sequential", "skip", "merge"]
CaptureMethod = Literal["fx", "hooks", "synthetic"]


@dataclass
class Node:
    """One unit of the network: a module, a functional op, or the input.

    ``tensor`` is the activation as computed (batch dimension included,
    detached, on its original device), or ``None`` when the op produced no
    tensor (it is then drawn as a generic box). ``display`` is the same
    activation reshaped for showing: (C, H, W).
    """

    id: int
    name: str
    op: str
    kind: str
    shape: tuple[int, ...]
    dtype: str
    params: int
    tensor: torch.Tensor | None = None
    display: torch.Tensor | None = None
    display_note: str = ""
    spec: SpatialOp = field(default_factory=SpatialOp)
    inputs: tuple[int, ...] = ()  # parent node ids in argument order
    module: nn.Module | None = None  # the module that produced the output, if any
    # How to show ``display`` when it is not an ordinary activation (weights mode):
    display_rgb: bool = False  # consecutive channel triples are one colour tile
    display_colormap: str | None = None  # overrides the view's colormap
    display_norm: str | None = None  # "layer" or "channel": overrides the view's normalization
    display_centred: bool = False  # ranges symmetric around zero (signed weights)
    display_range: tuple[float, float] | None = None  # a fixed (lo, hi) for every channel (an RGB picture: 0, 1)
    grid_cols: int | None = None  # tiles per row (an out x in grid of kernels)

    @property
    def tiles(self) -> int:
        """Number of tiles shown: channels, or channel triples for colour tiles."""
        return self.channels // 3 if self.display_rgb else self.channels

    @property
    def channels(self) -> int:
        """Number of feature maps shown (1 for a generic box)."""
        return int(self.display.shape[0]) if self.display is not None else 1

    def __repr__(self) -> str:  # tensors make the default repr unreadable
        return f"Node({self.id}, {self.name!r}, {self.op}, shape={self.shape})"


@dataclass(frozen=True)
class Edge:
    """Dataflow from ``src`` to ``dst`` (node ids)."""

    src: int
    dst: int
    kind: EdgeKind = "sequential"


@dataclass
class Trace:
    """A captured network: nodes in execution order and the edges between them."""

    nodes: list[Node]
    edges: list[Edge]
    method: CaptureMethod = "fx"
    batch_index: int = 0
    group_depth: int | None = None
    notes: list[str] = field(default_factory=list)

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)

    def node(self, key: int | str) -> Node:
        """Find a node by id or qualified name."""
        for n in self.nodes:
            if n.id == key or n.name == key:
                return n
        raise KeyError(f"no node {key!r} in trace; names are: {', '.join(n.name for n in self.nodes[:8])}...")

    def __getitem__(self, key: int | str) -> Node:
        return self.node(key)

    def parents(self, node_id: int) -> list[int]:
        """Ids of the nodes feeding ``node_id``."""
        return [e.src for e in self.edges if e.dst == node_id]

    def children(self, node_id: int) -> list[int]:
        """Ids of the nodes fed by ``node_id``."""
        return [e.dst for e in self.edges if e.src == node_id]

    def activation_count(self) -> int:
        """Number of activation values shown (sum over nodes of C·H·W)."""
        return sum(int(n.display.numel()) for n in self.nodes if n.display is not None)

    def map_count(self) -> int:
        """Number of feature maps shown (tiles)."""
        return sum(n.channels for n in self.nodes if n.display is not None)

    def with_nodes(self, nodes: list[Node]) -> Trace:
        """The same graph with other node contents (e.g. weights instead of activations)."""
        return replace(self, nodes=nodes)

    def summary(self) -> str:
        """A short human-readable table of the nodes."""
        lines = [f"{'id':>4}  {'name':<32} {'op':<18} {'shape':<22} params"]
        for n in self.nodes:
            lines.append(f"{n.id:>4}  {n.name:<32.32} {n.op:<18.18} {n.shape!s:<22} {n.params}")
        return "\n".join(lines)
