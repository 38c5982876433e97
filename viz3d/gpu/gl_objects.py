"""GL names of gloo objects, for the raw GL calls gloo has no wrapper for."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def gl_object_handle(obj: Any, canvas: Any) -> int:
    """The GL name of a gloo object (texture, buffer, program), creating it now if gloo has only queued it.

    gloo queues commands per object until the object is tied to a context;
    tie it to ``canvas`` (whose context must be current) and run the queue so
    raw GL calls can follow.
    """
    return gl_object_handles([obj], canvas)[0]


def gl_object_handles(objs: Sequence[Any], canvas: Any) -> list[int]:
    """:func:`gl_object_handle` for many objects, running gloo's queue once."""
    for obj in objs:
        canvas.context.glir.associate(obj.glir)
    canvas.context.flush_commands()
    parser = canvas.context.shared.parser
    return [int(parser.get_object(obj.id).handle) for obj in objs]
