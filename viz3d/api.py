"""The one-line public API: trace, render and show a network.

``render`` and ``show`` open a :class:`~viz3d.session.Session` and hand it to
a front end (one offscreen frame, or a window). View settings are the fields
of :class:`~viz3d.session.ViewOptions`, passed as ``options=`` or as keywords.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from viz3d.capture import capture
from viz3d.capture.trace import Trace
from viz3d.errors import Viz3dError
from viz3d.preprocess import Preprocess, preprocessing
from viz3d.scene.camera import OrbitCamera
from viz3d.session import Session, ViewOptions
from viz3d.session.answer import Labels
from viz3d.session.connection_kinds import CONNECTION_KINDS, Unit
from viz3d.session.navigation import checked_size

trace = capture  # viz3d.trace(model, x): run the model once, record its graph and activations


def view_options(options: ViewOptions | None = None, **settings: Any) -> ViewOptions:
    """``options`` (or the defaults) with keyword ``settings`` applied; unknown names are one-line errors.

    ``connections`` may be any iterable of kind names.
    """
    base = options or ViewOptions()
    if "connections" in settings:
        settings["connections"] = frozenset(settings["connections"] or ())
    return base.with_(**settings) if settings else base


def open_session(
    model: nn.Module | Trace,
    x: torch.Tensor | list[torch.Tensor] | None,
    options: ViewOptions,
    batch_index: int = 0,
    preprocess: str | Preprocess | None = None,
    class_names: Labels = None,
    preprocessed: bool = False,
    **kwargs: Any,
) -> Session:
    """A session on a trace, or on a model captured on ``x`` (a tensor or a list of inputs to cycle).

    ``preprocess`` is applied to ``x`` (images in [0, 1]) before the capture, unless
    ``preprocessed`` says ``x`` went through it already; with a trace it names what
    its input went through. ``class_names`` names the classes.
    """
    prep = preprocessing(preprocess)
    if isinstance(model, Trace):
        return Session(model, options=options, preprocess=prep, class_names=class_names, **kwargs)
    if not isinstance(model, nn.Module):
        raise Viz3dError(f"expected a torch.nn.Module or a viz3d Trace, got {type(model).__name__}")
    if x is None:
        raise Viz3dError("an input tensor is needed to capture activations: pass x")
    if prep.name != "none" and not preprocessed:
        x = prep.apply(x) if isinstance(x, torch.Tensor) else [prep.apply(v) for v in x]
    return Session.from_model(
        model, x, options=options, batch_index=batch_index, preprocess=prep, class_names=class_names, **kwargs
    )


def render(
    model: nn.Module | Trace,
    x: torch.Tensor | None = None,
    *,
    size: tuple[int, int] = (1280, 720),
    camera: str | Path | OrbitCamera | None = None,
    select: str | Unit | None = None,
    focus: str | None = None,
    ssaa: int = 2,
    batch_index: int = 0,
    preprocess: str | Preprocess | None = None,
    class_names: Labels = None,
    preprocessed: bool = False,
    options: ViewOptions | None = None,
    **settings: Any,
) -> np.ndarray:
    """Render a network offscreen.

    Parameters
    ----------
    model
        An ``nn.Module`` (captured on ``x``) or an existing :class:`Trace`.
    x
        Input batch for the model.
    size
        (width, height) in pixels.
    camera
        ``"overview"`` (default), ``"front"``, ``"side"``, a saved view.json or an :class:`OrbitCamera`.
    select
        A unit to outline and to draw ``rf``/``weights`` connections from:
        ``"LAYER:CHANNEL[:Y:X]"`` or a (node id, channel, y, x) tuple.
    focus
        A layer name: the layers in front of it are cut away and, unless
        ``camera`` is given, the camera frames it.
    ssaa
        Supersampling factor for anti-aliasing (1 = off).
    batch_index
        Which sample of the batch is shown.
    preprocess
        ``"imagenet"`` (resize 256, centre crop 224, ImageNet mean/std) applied to
        ``x``, an image batch in [0, 1]; ``"none"`` (default) takes ``x`` as it is.
        With a Trace: what its input went through. The input picture undoes it.
    preprocessed
        ``x`` went through ``preprocess`` already (it is not applied again).
    class_names
        Names of the classifier output's classes: a list or a labels file (text, one
        per line, or JSON); by default the model's ``classes``, or ImageNet's for 1000 classes.
    options, **settings
        View settings: a :class:`ViewOptions`, and/or its fields as keywords
        (``show="weights"``, ``colormap="magma"``, ``connections=("graph", "rf")``...).

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
    from viz3d.export.offscreen import OffscreenView

    w, h = checked_size(size)
    opts = view_options(options, **settings)
    # Every argument is checked before any GL work starts.
    session = open_session(
        model, x, opts, batch_index, preprocess, class_names, preprocessed, size=(w, h), camera=camera or "overview"
    )
    if focus is not None:
        session.focus_layer(focus, frame=camera is None)
    if select is not None:
        session.select(select)
    needs = sorted(k for k in opts.connections if CONNECTION_KINDS[k].needs_selection)
    if needs and session.selection is None:
        raise Viz3dError(f"connections {needs} need a selected unit: pass select='LAYER:CHANNEL[:Y:X]'")
    if needs and opts.layout_mode != "tile":
        raise Viz3dError(f"connections {needs} are drawn between tiles: use layout_mode='tile'")
    with OffscreenView(session, (w, h), ssaa) as view:  # a call leaves no GL objects behind
        return view.frame()


def show(
    model: nn.Module | Trace,
    x: torch.Tensor | list[torch.Tensor] | None = None,
    *,
    size: tuple[int, int] | None = None,
    camera: str | Path | OrbitCamera = "overview",
    focus: str | None = None,
    title: str = "viz3d",
    run: bool = True,
    preprocess: str | Preprocess | None = None,
    class_names: Labels = None,
    options: ViewOptions | None = None,
    **settings: Any,
) -> Any:
    """Show the network: a window (orbit: drag, scroll, right-drag; H lists every key), or in Jupyter a widget.

    ``x`` may be a list of inputs (I cycles through them); ``focus`` names a
    layer to start at; ``preprocess`` and ``class_names`` as in :func:`render`.
    ``size`` defaults to 1440×900 for a window and 960×600 for a widget.
    In a Jupyter kernel this returns a widget (needs ``viz3d[notebook]``) with
    the same controls, whose ``session`` scripts the view. Elsewhere it returns
    the window; with ``run=True`` (default) this blocks until it is closed.
    """
    from viz3d.notebook import in_notebook

    opts = view_options(options, **settings)
    notebook = in_notebook()
    size = size or ((960, 600) if notebook else (1440, 900))
    session = open_session(model, x, opts, 0, preprocess, class_names, size=checked_size(size), camera=camera)
    if focus is not None:
        session.focus_layer(focus)
    if notebook:
        return notebook_widget(session, size)
    from viz3d.app.window import ViewerWindow

    window = ViewerWindow(session, title=title)
    if run:
        window.run()
    return window


def notebook_widget(session: Session, size: tuple[int, int]) -> Any:
    """The notebook widget on ``session``, or a one-line error naming the extra it needs."""
    try:
        from viz3d.notebook.widget import Viz3dWidget
    except ImportError as exc:
        raise Viz3dError(
            f"the notebook widget needs jupyter_rfb ({exc.name or exc} is missing): pip install 'viz3d[notebook]'"
        ) from None
    return Viz3dWidget(session, size)


def record(
    model: nn.Module | Trace,
    x: torch.Tensor | None = None,
    *,
    out: str | Path,
    tour: Any = "flythrough",
    size: tuple[int, int] = (1920, 1080),
    fps: float = 30,
    ssaa: int = 1,
    batch_index: int = 0,
    options: ViewOptions | None = None,
    **settings: Any,
) -> Path:
    """Record a camera tour offscreen: ``out`` a ``.mp4`` (H.264, needs ``viz3d[video]``), ``.gif`` or a folder.

    ``tour`` is ``"flythrough"`` (input to output, stopping at each stage),
    ``"orbit"`` (a full turn), a tour ``.json`` saved in the viewer (Ctrl-S)
    or a :class:`viz3d.scene.tour.Tour`. Frame ``k`` is the tour at ``k / fps``
    seconds: the same call gives the same frames. View settings as for
    :func:`render`.
    """
    from viz3d.export.record import check_record_output, check_tour_spec, record_tour

    w, h = checked_size(size)
    check_record_output(out, (w, h), 1)  # before the capture
    check_tour_spec(tour)
    session = open_session(model, x, view_options(options, **settings), batch_index, size=(w, h))
    return record_tour(session, tour, out, (w, h), fps, ssaa)
