"""Pinned feature maps: session state without GL, the side-by-side picture, and the window's Shift-click."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.fakes import FakeClock
from viz3d.app.pin_panel import PinnedMap, pins_panel
from viz3d.errors import Viz3dError
from viz3d.models.default_net import default_model
from viz3d.models.shapes import sample_image
from viz3d.scene.colormaps import apply_colormap
from viz3d.session import Session
from viz3d.session.pins import MAX_PINS

INPUTS = [torch.from_numpy(sample_image(i))[None] for i in range(2)]


@pytest.fixture
def session() -> Session:
    return Session.from_model(default_model(), INPUTS, size=(320, 200), clock=FakeClock())


def test_pins_keep_pin_order_unpin_and_stop_at_eight(session: Session) -> None:
    fired: list[str] = []
    session.events.changed.append(fired.append)
    conv3 = session.trace.node("conv3").id
    session.toggle_pin("conv3:5")
    session.toggle_pin((conv3, 2, 0, 0))
    session.toggle_pin("bn1:0")
    assert session.pins == [(conv3, 5), (conv3, 2), (session.trace.node("bn1").id, 0)]
    assert "selection" in fired
    session.toggle_pin("conv3:2")  # again: unpinned
    assert session.pins == [(conv3, 5), (session.trace.node("bn1").id, 0)]
    for c in range(10, 20):
        session.toggle_pin((conv3, c))
    assert len(session.pins) == MAX_PINS and (conv3, 16) not in session.pins
    assert f"{MAX_PINS} maps are pinned already" in session.current_message()


def test_pins_refuse_pictures_and_bad_channels(session: Session) -> None:
    with pytest.raises(Viz3dError, match="no single-channel maps"):
        session.toggle_pin("input:0")
    with pytest.raises(Viz3dError, match=r"channel must be in 0\.\.63"):
        session.toggle_pin("conv3:64")
    assert session.pins == []


def test_esc_clears_pins_next_input_keeps_them_a_new_structure_drops_them(session: Session) -> None:
    session.toggle_pin("conv3:5")
    session.next_input()  # same network, new values: the comparison stays
    assert session.pins == [(session.trace.node("conv3").id, 5)]
    session.clear_selection()
    assert session.pins == []
    session.toggle_pin("conv3:5")
    session.toggle_view("weights")
    assert session.pins == []


def test_r_switches_between_shared_and_per_map_ranges(session: Session) -> None:
    assert session.options.pin_ranges == "shared"
    session.toggle_pin_ranges()
    assert session.options.pin_ranges == "each" and "a colorbar each" in session.current_message()
    with pytest.raises(Viz3dError, match="unknown pin ranges"):
        session.update(pin_ranges="some")


def test_pinned_maps_are_drawn_in_pin_order_with_their_colours() -> None:
    rng = np.random.default_rng(0)
    maps = [PinnedMap(rng.random((4, 4)) * (k + 1), 0.0, float(k + 1), f"layer{k}.conv ch {k}") for k in range(5)]
    for shared in (True, False):
        image, rects = pins_panel(maps, "magma", shared, side=64)
        assert len(rects) == 5
        assert rects[1][0] > rects[0][0] and rects[4][1] > rects[0][1]  # 4 to a row, in pin order
        for m, (x0, y0, x1, _y1) in zip(maps, rects, strict=True):
            cell = (x1 - x0) // 4
            for y, x in ((0, 0), (1, 2), (3, 3)):
                got = image[y0 + y * cell + cell // 2, x0 + x * cell + cell // 2, :3]
                want = apply_colormap(np.array([m.values[y, x]]), m.lo, m.hi, "magma")[0]
                assert np.array_equal(got, want)
