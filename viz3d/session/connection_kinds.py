"""Kinds of connections drawn between slabs: a registry (GL-free).

Each kind has a name, the key that toggles it in the viewer, a label, a
legend colour, whether it needs a selected unit, and a builder that turns
the shown trace and layout into :class:`~viz3d.layout.connections.ConnectionSet`
batches. A new kind is one builder and one row in :data:`CONNECTION_KINDS`;
the window, the API, the CLI and the key help read the registry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from viz3d.capture.trace import Trace
from viz3d.layout.connections import KIND_COLORS, ConnectionSet, graph_connections
from viz3d.layout.slabs import Layout
from viz3d.session.unit_links import unit_connections

Unit = tuple[int, int, int, int]  # (node id, channel, y, x) in display coordinates


@dataclass(frozen=True)
class ConnectionContext:
    """What a builder may read: the shown network, where it sits, the selection and the signal flow."""

    trace: Trace
    layout: Layout
    unit: Unit | None
    flow: Mapping[int, float]  # node id → mean |activation|


@dataclass(frozen=True)
class ConnectionKind:
    """One kind of connection."""

    name: str
    key: str
    label: str
    colour: tuple[float, float, float, float]
    needs_selection: bool
    build: Callable[[ConnectionContext], list[ConnectionSet]]


def _graph(ctx: ConnectionContext) -> list[ConnectionSet]:
    lines, arcs = graph_connections(ctx.layout, ctx.flow)
    return [lines, arcs]


def _unit_kind(kind: str) -> Callable[[ConnectionContext], list[ConnectionSet]]:
    def build(ctx: ConnectionContext) -> list[ConnectionSet]:
        if ctx.unit is None:
            return []
        return unit_connections(ctx.trace, ctx.layout, *ctx.unit, kinds=(kind,)).get(kind, [])

    return build


CONNECTION_KINDS: dict[str, ConnectionKind] = {
    k.name: k
    for k in (
        ConnectionKind("graph", "1", "dataflow connections", KIND_COLORS["sequential"], False, _graph),
        ConnectionKind("rf", "2", "receptive field", KIND_COLORS["rf"], True, _unit_kind("rf")),
        ConnectionKind("weights", "3", "strongest weights", KIND_COLORS["positive"], True, _unit_kind("weights")),
    )
}


def register_connection_kind(kind: ConnectionKind) -> None:
    """Add a kind (its name must be new)."""
    if kind.name in CONNECTION_KINDS:
        raise ValueError(f"a connection kind named {kind.name!r} exists already")
    CONNECTION_KINDS[kind.name] = kind
