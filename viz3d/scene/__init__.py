"""Scene state that is not GL: camera, colormaps, normalization, labels (numpy only)."""

from __future__ import annotations

from viz3d.scene.camera import PRESETS, CameraPreset, OrbitCamera, frame_bounds
from viz3d.scene.colormaps import COLORMAPS, NAN_COLOR, ColormapName, apply_colormap, colormap_lut
from viz3d.scene.normalization import NORMALIZATIONS, ChannelStats, NormalizationMode, value_range

__all__ = [
    "COLORMAPS",
    "NAN_COLOR",
    "NORMALIZATIONS",
    "PRESETS",
    "CameraPreset",
    "ChannelStats",
    "ColormapName",
    "NormalizationMode",
    "OrbitCamera",
    "apply_colormap",
    "colormap_lut",
    "frame_bounds",
    "value_range",
]
