"""The layer search of a session: ``/`` opens a type-ahead over layer names and types (GL-free).

Mixed into :class:`~viz3d.session.session.Session`. While the search is open
(:attr:`Search.search_query` is a string) a front end sends typed text to
:meth:`Search.type_search` instead of the key table; Enter flies to the
chosen layer. Ranking is :func:`viz3d.scene.search.rank_layers`.
"""

from __future__ import annotations

from collections.abc import Callable

from viz3d.capture.trace import Trace
from viz3d.layout.slabs import Layout
from viz3d.scene.search import rank_layers
from viz3d.session.events import SessionEvents

SEARCH_ROWS = 8  # results shown (and chosen among) at once


class Search:
    """Search state and actions; needs ``trace``, ``layout``, ``events``, ``say`` and ``fly_to_node``."""

    trace: Trace
    layout: Layout
    events: SessionEvents
    say: Callable[[str], None]
    fly_to_node: Callable[..., None]

    def _init_search(self) -> None:
        self.search_query: str | None = None  # None: closed
        self.search_choice = 0  # index into search_results()

    @property
    def search_open(self) -> bool:
        return self.search_query is not None

    def open_search(self) -> None:
        """``/``: open an empty search (every layer listed in network order)."""
        self.search_query, self.search_choice = "", 0
        self.events.search.emit()

    def close_search(self) -> None:
        if self.search_query is not None:
            self.search_query = None
            self.events.search.emit()

    def type_search(self, text: str) -> None:
        """Add typed ``text`` to the query; the best result is chosen again."""
        self.search_query = (self.search_query or "") + text
        self.search_choice = 0
        self.events.search.emit()

    def erase_search(self) -> None:
        """Backspace: drop the query's last character."""
        self.search_query = (self.search_query or "")[:-1]
        self.search_choice = 0
        self.events.search.emit()

    def move_search(self, delta: int) -> None:
        """Arrows: choose the result ``delta`` rows down (clamped to the list)."""
        count = len(self.search_results())
        self.search_choice = max(0, min(count - 1, self.search_choice + delta)) if count else 0
        self.events.search.emit()

    def search_results(self, limit: int = SEARCH_ROWS) -> list[int]:
        """Node ids of the layers matching the query, best first (empty while closed)."""
        if self.search_query is None:
            return []
        placed = {s.node_id for s in self.layout.slabs}  # only what has a place can be flown to
        nodes = [n for n in self.trace.nodes if n.id in placed]
        return [nodes[i].id for i in rank_layers(self.search_query, [(n.name, n.op) for n in nodes], limit)]

    def go_to_search_choice(self) -> None:
        """Enter: fly to the chosen layer and close; with no match, say so and stay open."""
        results = self.search_results()
        if not results:
            self.say(f"no layer matches {self.search_query!r}: Backspace to edit, Esc to close")
            return
        node = self.trace.nodes[results[min(self.search_choice, len(results) - 1)]]
        self.close_search()
        self.fly_to_node(node.id)
        self.say(f"{node.name} ({node.op})")
