"""The view settings, one dataclass for every front end (plain Python).

The command line maps its flags onto :class:`ViewOptions`; ``viz3d.render``,
``viz3d.show`` and ``viz3d demo`` take one, and the session keeps one, so
the window, stills, video and notebooks never drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal, get_args

from viz3d.errors import Viz3dError
from viz3d.layout.slabs import LayoutMode
from viz3d.scene.colormaps import COLORMAPS
from viz3d.scene.normalization import NORMALIZATIONS

TextureFormat = Literal["r32f", "r16f"]
UploadPath = Literal["auto", "host", "cuda"]
PinRanges = Literal["shared", "each"]
ArrangementChoice = Literal["auto", "line", "rows"]
TEXTURE_FORMATS: tuple[str, ...] = get_args(TextureFormat)
LAYOUT_MODES: tuple[str, ...] = get_args(LayoutMode)
# Curve segments drawn at most per frame, strongest first: keeps llvmpipe interactive;
# a GPU can take far more.
CONNECTION_BUDGET = 20_000


@dataclass(frozen=True)
class ViewOptions:
    """How the network is shown.

    Parameters
    ----------
    show
        The view: ``"activations"`` or ``"weights"`` (any name in
        :data:`viz3d.session.views.VIEWS`).
    colormap, normalization
        Colour mapping of heatmaps (``normalization``: layer, channel, global).
    layout_mode
        ``"tile"`` (every feature map a tile) or ``"volume"`` (ray-marched blocks).
    arrangement
        ``"line"`` (layers one behind the other along the depth axis), ``"rows"``
        (wrapped like lines of text, facing the camera, so a long network fills
        the frame) or ``"auto"`` (rows past
        :data:`~viz3d.layout.rows.ROWS_PAST_RANKS` layers in a row).
    connections
        Connection kinds drawn (names in :data:`viz3d.session.connection_kinds.CONNECTION_KINDS`).
    connection_budget
        Most curve segments drawn per frame, strongest first.
    labels
        Layer names beside the slabs.
    group_depth
        Capture granularity: ``None`` for leaf modules, ``k`` folds below dotted depth ``k``.
    fold_depth
        The depth G folds to from leaf modules.
    open_blocks
        Folded blocks shown opened (dotted module names), their neighbours folded.
    max_slabs
        A network of more units opens folded at the deepest depth where it fits
        (when ``group_depth`` is not given); None never folds by itself.
    shared_filter_range
        Weights view: one range for a layer's colour filters instead of one per filter.
    texture_format
        ``"r32f"`` or ``"r16f"`` (half the texture memory).
    texture_budget
        Bytes the activation textures may take, ``"auto"`` (sized to the GL
        implementation's memory, see :mod:`viz3d.renderer.gl_memory`) or None
        (no limit). Past it, layers take R16F where half precision is safe,
        then the largest maps are box-filtered 2x, 4x...; said once and in the HUD.
    upload
        ``"auto"``, ``"host"`` or ``"cuda"``; None follows ``VIZ3D_UPLOAD``.
    stats, minimap, hud, help
        Histograms and health flags; the minimap; the HUD text; the key help.
    present
        Presenter mode: no HUD, minimap or help whatever those say; large text.
    font_scale
        Size of the viewer's text (HUD, messages, captions) relative to the default.
    input_rgb
        A 3-channel image input drawn as one true-colour picture (normalization
        undone); False shows its channels as heatmaps.
    prediction
        The answer panel after the last slab (top-5 classes of a classifier output).
    pin_ranges
        Pinned maps in the inset: ``"shared"`` (one colour range and colorbar) or
        ``"each"`` (a range and colorbar per map).
    target
        What the gradient, attribution and Grad-CAM views explain: ``None`` for
        the predicted class, a class index or name, or ``"LAYER:CHANNEL"``.
    """

    show: str = "activations"
    colormap: str = "viridis"
    normalization: str = "layer"
    layout_mode: LayoutMode = "tile"
    arrangement: ArrangementChoice = "auto"
    connections: frozenset[str] = field(default_factory=lambda: frozenset({"graph"}))
    connection_budget: int = CONNECTION_BUDGET
    labels: bool = True
    group_depth: int | None = None
    fold_depth: int = 1
    open_blocks: frozenset[str] = field(default_factory=frozenset)
    max_slabs: int | None = 60
    shared_filter_range: bool = False
    texture_format: TextureFormat = "r32f"
    texture_budget: int | Literal["auto"] | None = "auto"
    upload: UploadPath | None = None
    stats: bool = False
    minimap: bool = True
    hud: bool = True
    help: bool = False
    present: bool = False
    font_scale: float = 1.0
    input_rgb: bool = True
    prediction: bool = True
    pin_ranges: PinRanges = "shared"
    target: int | str | None = None

    def __post_init__(self) -> None:
        from viz3d.session.connection_kinds import CONNECTION_KINDS
        from viz3d.session.views import VIEWS

        object.__setattr__(self, "connections", frozenset(self.connections))
        object.__setattr__(self, "open_blocks", frozenset(self.open_blocks))
        if self.max_slabs is not None and (not isinstance(self.max_slabs, int) or self.max_slabs < 1):
            raise Viz3dError(f"max_slabs must be 1 or more (None: never fold by itself), got {self.max_slabs!r}")
        _choice("show", self.show, tuple(VIEWS))
        _choice("colormap", self.colormap, COLORMAPS)
        _choice("normalization", self.normalization, NORMALIZATIONS)
        _choice("layout_mode", self.layout_mode, LAYOUT_MODES)
        _choice("arrangement", self.arrangement, get_args(ArrangementChoice))
        _choice("texture_format", self.texture_format, TEXTURE_FORMATS)
        _choice("pin_ranges", self.pin_ranges, get_args(PinRanges))
        budget = self.texture_budget
        if (
            budget is not None
            and budget != "auto"
            and (isinstance(budget, bool) or not isinstance(budget, int) or budget < 1)
        ):
            raise Viz3dError(f"texture_budget must be a number of bytes >= 1, 'auto' or None, got {budget!r}")
        if self.upload is not None:
            _choice("upload", self.upload, get_args(UploadPath))
        unknown = sorted(self.connections - set(CONNECTION_KINDS))
        if unknown:
            raise Viz3dError(f"unknown connection kinds {unknown}; use {', '.join(CONNECTION_KINDS)}")
        if not isinstance(self.connection_budget, int) or self.connection_budget < 0:
            raise Viz3dError(f"connection_budget must be a whole number of segments >= 0, got {self.connection_budget}")
        for name in ("group_depth", "fold_depth"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise Viz3dError(f"{name} must be 1 or more (None for leaf modules), got {value!r}")
        target = self.target
        if target is not None and (isinstance(target, bool) or not isinstance(target, int | str)):
            raise Viz3dError(f"target must be a class index, a class name or 'LAYER:CHANNEL', got {target!r}")
        if isinstance(target, int) and target < 0:
            raise Viz3dError(f"target class must be 0 or more, got {target}")
        scale = self.font_scale
        if isinstance(scale, bool) or not isinstance(scale, int | float) or not 0.25 <= scale <= 8:
            raise Viz3dError(f"font_scale must be a number from 0.25 to 8, got {scale!r}")

    def with_(self, **changes: Any) -> ViewOptions:
        """A copy with ``changes`` applied (validated; unknown names are a one-line error)."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise Viz3dError(f"unknown view options {unknown}; known: {', '.join(sorted(known))}")
        return replace(self, **changes)


def _choice(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise Viz3dError(f"unknown {name.replace('_', ' ')} {value!r}; choose one of {', '.join(allowed)}")


_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def parse_texture_budget(text: str) -> int | str | None:
    """A texture budget as written on the command line: ``auto``, ``none``, bytes, or ``512M``/``2G``/``1.5G``."""
    word = text.strip().upper().removesuffix("B").removesuffix("I")  # 2G, 2GB, 2GiB
    if word in ("AUTO", "NONE"):
        return None if word == "NONE" else "auto"
    unit = word[-1:] if word[-1:] in _UNITS else ""
    try:
        value = float(word[: len(word) - len(unit)]) * _UNITS[unit]
    except ValueError:
        value = 0.0
    if not value >= 1:
        raise Viz3dError(f"texture budget {text!r} is not a size: use e.g. 512M, 2G, 'auto' or 'none'")
    return int(value)
