"""The one-line public API: capture, render and show a network."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from viz3d.capture import capture
from viz3d.capture.trace import Trace
from viz3d.errors import Viz3dError
from viz3d.layout import Layout, layout_trace
from viz3d.scene.camera import PRESETS, OrbitCamera, frame_points
from viz3d.unit_links import CONNECTION_KINDS, parse_unit, unit_connections, unit_outline


def _trace_of(model: nn.Module | Trace, x: Any, group_depth: int | None, batch_index: int) -> Trace:
    if isinstance(model, Trace):
        return model
    if x is None:
        raise Viz3dError("an input tensor is needed to capture activations: pass x")
    return capture(model, x, group_depth=group_depth, batch_index=batch_index)


def camera_for(layout: Layout, camera: str | OrbitCamera, size: tuple[int, int]) -> OrbitCamera:
    """The camera to use: a copy of the given one, or a named preset framing the whole layout."""
    if isinstance(camera, OrbitCamera):
        return camera.copy()
    if str(camera).endswith(".json"):
        cam = frame_points(layout.corner_points(), "overview", aspect=size[0] / size[1])
        load_camera_file(cam, camera)
        return cam
    if camera not in PRESETS:
        raise Viz3dError(f"unknown camera {camera!r}; choose one of {', '.join(PRESETS)} or a saved view.json")
    return frame_points(layout.corner_points(), camera, aspect=size[0] / size[1])


def load_camera_file(camera: OrbitCamera, path: str | Path) -> None:
    """Apply a camera state saved as JSON (K in the viewer) to ``camera``."""
    p = Path(path)
    try:
        camera.apply_dict(json.loads(p.read_text()))
    except FileNotFoundError:
        raise Viz3dError(f"camera file not found: {p}") from None
    except (json.JSONDecodeError, ValueError, AttributeError, UnicodeDecodeError) as exc:
        raise Viz3dError(f"cannot read camera file {p}: {exc} (save one with K in the viewer)") from exc


def render(
    model: nn.Module | Trace,
    x: torch.Tensor | None = None,
    *,
    size: tuple[int, int] = (1280, 720),
    camera: str | OrbitCamera = "overview",
    colormap: str = "viridis",
    normalization: str = "layer",
    group_depth: int | None = None,
    batch_index: int = 0,
    ssaa: int = 2,
    labels: bool = True,
    edges: bool = True,
    texture_format: str = "r32f",
    connections: tuple[str, ...] | None = None,
    select: str | tuple[int, int, int, int] | None = None,
    connection_budget: int | None = None,
    show: str = "activations",
    shared_filter_range: bool = False,
) -> np.ndarray:
    """Render a network's activations offscreen.

    Parameters
    ----------
    model
        An ``nn.Module`` (captured on ``x``) or an existing :class:`Trace`.
    x
        Input batch for the model.
    size
        (width, height) in pixels.
    camera
        ``"overview"``, ``"front"``, ``"side"`` or an :class:`OrbitCamera`.
    ssaa
        Supersampling factor for anti-aliasing (1 = off).
    connections
        Kinds drawn, any of ``"graph"``, ``"rf"`` (the selected unit's
        receptive field) and ``"weights"`` (its strongest weights); default
        ``("graph",)`` (none with ``edges=False``).
    select
        The unit for ``rf``/``weights``: ``"LAYER:CHANNEL[:Y:X]"`` or a
        (node id, channel, y, x) tuple; it is also outlined.
    connection_budget
        Most curve segments drawn (strongest first); None for the default.
    show
        ``"activations"`` or ``"weights"`` (conv filters and weight matrices).
    shared_filter_range
        Weights view: one range for all colour filters of a layer instead of one per filter.

    Returns
    -------
    numpy.ndarray
        (height, width, 4) uint8 RGBA image, top row first.

    Examples
    --------
    >>> import torch, viz3d
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU())
    >>> img = viz3d.render(net, torch.rand(1, 3, 32, 32), size=(320, 200))
    >>> img.shape
    (200, 320, 4)
    """
    from viz3d.render.offscreen import offscreen_canvas, render_frame
    from viz3d.render.scene_renderer import SceneRenderer

    trace = _trace_of(model, x, group_depth, batch_index)
    if show == "weights":
        from viz3d.capture.weights import weights_trace

        trace = weights_trace(trace, shared_normalization=shared_filter_range)
    elif show != "activations":
        raise Viz3dError(f"unknown view {show!r}: use 'activations' or 'weights'")
    kinds = set(connections if connections is not None else (("graph",) if edges else ()))
    unknown = kinds - set(CONNECTION_KINDS)
    if unknown:
        raise Viz3dError(f"unknown connection kinds {sorted(unknown)}; use {', '.join(CONNECTION_KINDS)}")
    # Every argument is checked before any GL work starts.
    unit = parse_unit(trace, select) if isinstance(select, str) else select
    if unit is None and kinds & {"rf", "weights"}:
        raise Viz3dError("connections 'rf' and 'weights' need a selected unit: pass select='LAYER:CHANNEL[:Y:X]'")
    layout = layout_trace(trace)
    cam = camera_for(layout, camera, size)
    links = unit_connections(trace, layout, *unit, kinds=kinds) if unit is not None else {}
    renderer = SceneRenderer(
        trace,
        layout,
        colormap=colormap,
        normalization=normalization,
        labels=labels,
        edges="graph" in kinds,
        texture_format=texture_format,
    )
    if connection_budget is not None:
        renderer.connection_budget = connection_budget
    offscreen_canvas()
    try:
        renderer.initialize()
        for kind, sets in links.items():
            renderer.set_connections(kind, sets)
            renderer.set_kind_visible(kind, True)
        if unit is not None:
            renderer.set_highlight(unit_outline(trace, layout, *unit))
        return render_frame(renderer, cam.view_projection(size[0] / size[1]), size, ssaa=ssaa)
    finally:
        renderer.delete()  # a call leaves no GL objects behind, even when it fails


def show(
    model: nn.Module | Trace,
    x: torch.Tensor | None = None,
    *,
    size: tuple[int, int] = (1440, 900),
    colormap: str = "viridis",
    normalization: str = "layer",
    group_depth: int | None = None,
    title: str = "viz3d",
    run: bool = True,
) -> Any:
    """Open a window showing the network (orbit: drag, scroll, right-drag).

    Returns the window object; with ``run=True`` (default) this blocks until
    the window is closed.
    """
    from viz3d.app.window import ViewerWindow

    trace = _trace_of(model, x, group_depth, 0)
    source = None if isinstance(model, Trace) else model
    inputs = [x] if (source is not None and x is not None) else []
    window = ViewerWindow(
        trace, model=source, inputs=inputs, size=size, colormap=colormap, normalization=normalization, title=title
    )
    if run:
        window.run()
    return window
