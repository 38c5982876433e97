"""The window's layer search keys and Shift-click pins, on a hidden EGL canvas."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from vispy.util import keys

from tests.fakes import FakeClock
from tests.test_window import INPUTS, MODEL, SIZE, key, pixel_of, settle
from viz3d.app.compare import inset_range, map_range, pinned_ranges
from viz3d.app.window import ViewerWindow
from viz3d.session import Session

pytestmark = pytest.mark.gl


@pytest.fixture
def window() -> Iterator[ViewerWindow]:
    session = Session.from_model(MODEL, INPUTS, size=SIZE, clock=FakeClock())
    w = ViewerWindow(session, backend="egl")
    w.canvas.events.ignore_callback_errors = False
    yield w
    w.canvas.close()


def typed(window: ViewerWindow, text: str) -> None:
    for ch in text:
        name = "Space" if ch == " " else ch.upper()
        window.canvas.events.key_press(key=keys.Key(name), modifiers=(), text=ch)


def test_slash_opens_the_search_typed_keys_go_to_it_and_enter_flies(window: ViewerWindow) -> None:
    s = window.session
    key(window, "/")
    assert s.search_open
    typed(window, "bk cv")  # C, V and Space would change the colormap, the mode, fly up: not while typing
    assert s.search_query == "bk cv" and s.options.colormap == "viridis" and s.options.layout_mode == "tile"
    window.on_draw()
    assert "search" in window.hud.names()
    key(window, "Down")
    key(window, "Enter")
    assert not s.search_open and s.flight is not None
    settle(window)
    assert s.camera_node() == s.trace.node("block.conv2").id
    window.on_draw()
    assert "search" not in window.hud.names()
    window.canvas.events.key_press(key=keys.Key("7"), modifiers=(keys.SHIFT,), text="/")  # '/' on another keyboard
    assert s.search_open
    key(window, "Escape")
    assert not s.search_open


def _tile_pixel(window: ViewerWindow, name: str, channel: int) -> tuple[float, float]:
    s = window.session
    node = s.trace.node(name)
    s.fly_to_node(node.id)
    settle(window)
    slab = s.layout.slab(node.id)
    x0, y0, x1, y1 = slab.tile_rects()[channel]
    return tuple(pixel_of(window, np.array([(x0 + x1) / 2, (y0 + y1) / 2, slab.front_z])))  # type: ignore[return-value]


def shift_click(window: ViewerWindow, pos: tuple[float, float]) -> None:
    window.canvas.events.mouse_press(pos=pos, button=1, modifiers=(keys.SHIFT,))
    window.canvas.events.mouse_release(pos=pos, button=1, modifiers=(keys.SHIFT,))


def test_shift_click_pins_and_the_hud_names_the_colorbars_range(window: ViewerWindow) -> None:
    s = window.session
    conv3 = s.trace.node("conv3").id
    for channel in (7, 2):
        shift_click(window, _tile_pixel(window, "conv3", channel))
    assert s.pins == [(conv3, 7), (conv3, 2)] and s.selection is None
    window.on_draw()
    assert "inset" in window.hud.names()
    renderer = window.renderer
    shared = pinned_ranges(s, renderer)
    own = [map_range(s, renderer, conv3, c) for c in (7, 2)]
    assert shared[0] == shared[1] == (min(own[0][0], own[1][0]), max(own[0][1], own[1][1]))
    pos = _tile_pixel(window, "conv3", 2)
    window.canvas.events.mouse_move(pos=pos, buttons=[])
    lo, hi = shared[1]
    assert f"colour range {lo:.4g} .. {hi:.4g}" in window.hud.hover_text  # the pinned colorbar's range
    key(window, "R")
    assert inset_range(s, renderer, conv3, 2) == own[1]
    window.canvas.events.mouse_move(pos=(1, 1), buttons=[])
    window.canvas.events.mouse_move(pos=pos, buttons=[])
    assert f"colour range {own[1][0]:.4g} .. {own[1][1]:.4g}" in window.hud.hover_text
    key(window, "Escape")
    window.on_draw()
    assert s.pins == [] and "inset" not in window.hud.names()
