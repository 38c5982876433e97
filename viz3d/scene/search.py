"""Fuzzy ranking of layers for the viewer's type-ahead search (pure Python).

A query is words separated by spaces; a layer matches when every word
matches its name or its type. A word scores highest as a whole name segment
(``conv2`` in ``layer3.1.conv2``), then as a segment's prefix, then as a
substring, then as letters in order inside one segment starting at its
first letter (``l3`` in ``layer3``), and lowest as letters in order anywhere.
So ``l3 conv2`` finds ``layer3.*.conv2`` first, ahead of ``layer1.0.conv2``.
Ties keep the network's order, so the first block comes first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

SEGMENTS = re.compile(r"[._#/\s-]+")
EXACT, PREFIX, SUBSTRING, IN_SEGMENT, SCATTERED = 100.0, 80.0, 60.0, 40.0, 10.0
TYPE_WEIGHT = 0.9  # a word naming the type counts a little less than one in the name


def _in_order(word: str, text: str) -> list[int] | None:
    """Positions of ``word``'s letters found in order in ``text`` (leftmost), or None."""
    at, found = 0, []
    for ch in word:
        at = text.find(ch, at)
        if at < 0:
            return None
        found.append(at)
        at += 1
    return found


def word_score(word: str, text: str) -> float:
    """How well one lower-case query word matches ``text`` (lower case); 0 when it does not."""
    if not word:
        return 0.0
    segments = [s for s in SEGMENTS.split(text) if s]
    if word in segments:
        return EXACT
    if any(s.startswith(word) for s in segments):
        return PREFIX
    if word in text:
        return SUBSTRING
    best = 0.0
    for s in segments:
        found = _in_order(word, s)
        if found is not None and found[0] == 0:
            gaps = found[-1] - found[0] + 1 - len(word)  # letters skipped: fewer is a tighter match
            best = max(best, IN_SEGMENT - min(gaps, 20))
    if best:
        return best
    found = _in_order(word, text)
    return SCATTERED - min(found[-1] - found[0], 9) / 10 if found is not None else 0.0


def layer_score(query: str, name: str, kind: str) -> float:
    """Score of one layer (its ``name`` and type ``kind``) for ``query``; 0 when a word matches neither."""
    words = query.lower().split()
    name, kind = name.lower(), kind.lower()
    total = 0.0
    for word in words:
        score = max(word_score(word, name), TYPE_WEIGHT * word_score(word, kind))
        if score <= 0:
            return 0.0
        total += score
    if query.strip().lower() == name:
        total += EXACT  # the full name typed: that layer first
    return total


def rank_layers(query: str, layers: Sequence[tuple[str, str]], limit: int | None = None) -> list[int]:
    """Indices of ``layers`` ((name, type) pairs) matching ``query``, best first, network order on ties.

    An empty query matches every layer, in network order.
    """
    if not query.strip():
        order = list(range(len(layers)))
    else:
        scored = [(layer_score(query, name, kind), i) for i, (name, kind) in enumerate(layers)]
        order = [i for score, i in sorted(scored, key=lambda t: (-t[0], t[1])) if score > 0]
    return order if limit is None else order[:limit]
