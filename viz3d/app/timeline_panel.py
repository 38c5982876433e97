"""The training timeline on the HUD: a loss sparkline (top right) and a scrubber slider (bottom centre).

Both are Pillow pictures drawn from the session's timeline and metric
history, at the device's resolution. The slider's place is one function
(:func:`slider_rect`) that the drawing and the pointer share: a click or a
drag on it shows the snapshot under the pointer. :class:`TimelinePanels`
draws only these two over an offscreen frame (a recording of a training);
the viewer's HUD draws them with its other panels.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from viz3d.app.panels import DIM, PANEL, TEXT, _premultiply, font
from viz3d.session.scrubbing import sparkline_metric
from viz3d.session.session import Session

SPARK_SIZE = (240, 64)  # logical pixels
SPARK_PLOT = (8, 24, 232, 56)  # the polyline's box inside the picture: x0, y0, x1, y1
SPARK_COLOUR = (255, 170, 60, 255)
MARK_COLOUR = (120, 200, 255, 255)
SLIDER_HEIGHT = 46
SLIDER_PAD = 14  # the track's ends, from the picture's sides
MARGIN = 10
MAX_POINTS = 2000  # a long run's curve is drawn through this many evenly spaced steps
Panel = tuple[str, Any, Callable[[], np.ndarray], Callable[[np.ndarray], tuple[float, float]]]


def sparkline_points(steps: np.ndarray, values: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """(x, y) picture pixels of each (step, value): steps across the plot box, the largest value at its top."""
    x0, y0, x1, y1 = (v * scale for v in SPARK_PLOT)
    s_lo, s_hi = float(steps.min()), float(steps.max())
    v_lo, v_hi = float(values.min()), float(values.max())
    fx = (steps - s_lo) / (s_hi - s_lo) if s_hi > s_lo else np.zeros_like(steps, dtype=float)
    fy = (values - v_lo) / (v_hi - v_lo) if v_hi > v_lo else np.full_like(values, 0.5, dtype=float)
    return np.stack([x0 + fx * (x1 - x0), y1 - fy * (y1 - y0)], axis=1)


def _metric_series(session: Session, name: str) -> tuple[np.ndarray, np.ndarray]:
    pairs = [(s, m[name]) for s, m in session.metric_history if name in m and math.isfinite(m[name])]
    if len(pairs) > MAX_POINTS:
        pairs = [pairs[i] for i in np.linspace(0, len(pairs) - 1, MAX_POINTS).round().astype(int)]
    data = np.asarray(pairs, dtype=float).reshape(-1, 2)
    return data[:, 0], data[:, 1]


def sparkline_picture(session: Session, scale: float = 1.0) -> np.ndarray:
    """The metric's curve over the steps so far, the shown snapshot's step marked, its latest value as text."""
    name = sparkline_metric(session.metric_history) or ""
    steps, values = _metric_series(session, name)
    w, h = (round(v * scale) for v in SPARK_SIZE)
    img = Image.new("RGBA", (w, h), PANEL)
    draw = ImageDraw.Draw(img)
    if len(values):
        title = f"{name} {values[-1]:.4g}  (min {values.min():.3g}, step {int(steps[-1])})"
    else:
        title = f"{name}: no finite values yet"
    draw.text((round(8 * scale), round(5 * scale)), title, font=font(max(8, round(12 * scale))), fill=TEXT)
    shown = session.shown_snapshot
    if len(values) and shown is not None and steps.max() > steps.min():
        x0, y0, x1, y1 = (v * scale for v in SPARK_PLOT)
        fraction = min(max((shown.step - steps.min()) / (steps.max() - steps.min()), 0.0), 1.0)
        x = x0 + fraction * (x1 - x0)
        draw.line([(x, y0), (x, y1)], fill=MARK_COLOUR, width=1)  # under the curve: the curve stays exact
    if len(values) >= 2:
        points = [tuple(p) for p in sparkline_points(steps, values, scale)]
        draw.line(points, fill=SPARK_COLOUR, width=max(1, round(1.5 * scale)))
    elif len(values) == 1:
        x, y = sparkline_points(steps, values, scale)[0]
        draw.ellipse([x - 2 * scale, y - 2 * scale, x + 2 * scale, y + 2 * scale], fill=SPARK_COLOUR)
    return _premultiply(img)


def slider_rect(session: Session, size: tuple[int, int]) -> tuple[float, float, float, float] | None:
    """Where the slider sits in a view of ``size`` logical pixels (x, y, width, height), or None when hidden."""
    o = session.options
    if not session.timeline or not o.hud or o.present:
        return None
    w, h = size
    width = float(min(640, max(200, 0.42 * w)))
    return (w - width) / 2, h - SLIDER_HEIGHT - MARGIN, width, float(SLIDER_HEIGHT)


def slider_index(session: Session, size: tuple[int, int], x: float, y: float, anywhere: bool = False) -> int | None:
    """The snapshot under a pointer at (x, y) on the slider (None off it, unless ``anywhere``: a drag goes on)."""
    rect = slider_rect(session, size)
    if rect is None:
        return None
    left, top, width, height = rect
    if not anywhere and not (left <= x < left + width and top <= y < top + height):
        return None
    n = len(session.timeline)
    fraction = (x - left - SLIDER_PAD) / max(width - 2 * SLIDER_PAD, 1.0)
    return round(min(max(fraction, 0.0), 1.0) * (n - 1))


def slider_picture(session: Session, width: float, scale: float = 1.0) -> np.ndarray:
    """The track with a tick per snapshot, the knob on the shown one, its step and the first and last steps."""
    n, i = len(session.timeline), max(session.timeline_index, 0)
    w, h = round(width * scale), round(SLIDER_HEIGHT * scale)
    img = Image.new("RGBA", (w, h), PANEL)
    draw = ImageDraw.Draw(img)
    f = font(max(8, round(12 * scale)))
    x0, x1, y = SLIDER_PAD * scale, w - SLIDER_PAD * scale, 31 * scale
    draw.line([(x0, y), (x1, y)], fill=DIM, width=max(1, round(2 * scale)))
    xs = [x0 + (x1 - x0) * k / max(n - 1, 1) for k in range(n)]
    if n <= 200:  # more ticks than that would be a grey bar
        for x in xs:
            draw.line([(x, y - 4 * scale), (x, y + 4 * scale)], fill=DIM, width=1)
    r = 6 * scale
    draw.ellipse([xs[i] - r, y - r, xs[i] + r, y + r], fill=MARK_COLOUR)
    playing = "  (playing)" if session.timeline_playing else ""
    draw.text((x0, 4 * scale), session.snapshot_text() + playing, font=f, fill=TEXT)
    span = f"steps {session.timeline[0].step}..{session.timeline[-1].step}  , . step  Y play"
    draw.text((x1 - f.getlength(span), 4 * scale), span, font=f, fill=DIM)
    return _premultiply(img)


def timeline_panels(session: Session, size: tuple[int, int], unit: float) -> Iterator[Panel]:
    """(name, key, make, place) of the sparkline and the slider; key None: the panel is hidden."""
    o, w = session.options, size[0]
    shown = session.shown_snapshot
    step = None if shown is None else shown.step
    has_metric = bool(session.metric_history)  # a step is in the history only with metrics passed
    spark_key = (len(session.metric_history), step, unit) if has_metric and o.hud and not o.present else None
    yield (
        "sparkline",
        spark_key,
        lambda: sparkline_picture(session, unit),
        lambda img: (w - img.shape[1] / unit - MARGIN, MARGIN),
    )
    rect = slider_rect(session, size)
    slider_key: tuple[Any, ...] | None = None
    if rect is not None:
        ends = (session.timeline[0].step, session.timeline[-1].step)
        slider_key = (len(session.timeline), session.timeline_index, session.timeline_playing, rect, unit, ends)
    yield (
        "slider",
        slider_key,
        lambda: slider_picture(session, rect[2] if rect else 0.0, unit),
        lambda img: (rect[0], rect[1]) if rect else (0.0, 0.0),
    )


class TimelinePanels:
    """Only the timeline's panels over an offscreen frame (a recording of a training: no status text)."""

    def __init__(self, session: Session, slider: bool = True) -> None:
        self.session = session
        self.slider = slider  # False: the sparkline only (a recording made as training goes keeps one snapshot)
        self._overlay: Any = None
        self._drawn: dict[str, Any] = {}

    def prepare(self, size: tuple[int, int], physical: tuple[int, int], fps: float | None) -> None:
        """Update the panels for a view of ``size`` logical (``physical`` device) pixels."""
        from viz3d.renderer.overlay import Overlay

        if self._overlay is None:
            self._overlay = Overlay()
        unit = physical[0] / size[0]
        for name, key, make, place in timeline_panels(self.session, size, unit):
            if name == "slider" and not self.slider:
                key = None
            if key is None:
                self._overlay.remove(name)
                self._drawn.pop(name, None)
            elif self._drawn.get(name) != key:
                image = make()
                self._overlay.set(name, image, place(image), unit)
                self._drawn[name] = key

    def rects(self, unit: float = 1.0) -> list[tuple[float, float, float, float]]:
        return self._overlay.rects(unit) if self._overlay is not None else []

    def draw(self, physical: tuple[int, int], unit: float = 1.0) -> None:
        if self._overlay is not None:
            self._overlay.draw(physical, unit)

    def delete(self) -> None:
        if self._overlay is not None:
            self._overlay.delete()
            self._overlay = None
