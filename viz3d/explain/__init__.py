"""Explaining what the network sees (torch only, GL-free).

- :func:`explain`: the gradient of a :class:`Target` (a class, or a unit)
  with respect to every unit's output, from one forward and one backward
  pass (the gradient, attribution and Grad-CAM views draw it);
- :func:`top_patches`: over a set of images, the crops (cut by the exact
  receptive field) where each channel of a layer fires most;
- :func:`feature_visualization`: an input image optimised to excite one
  channel (jitter, scaling, a decorrelated Fourier parametrisation), step by
  step so a front end can show it forming.

The model is always left as it was (:func:`viz3d.capture.guard.model_untouched`).
"""

from __future__ import annotations

from viz3d.capture.gradients import Explanation, Target, explain
from viz3d.explain.feature_vis import FeatureVis, FeatureVisStep, feature_visualization
from viz3d.explain.patches import Patch, TopPatches, top_patches

__all__ = [
    "Explanation",
    "FeatureVis",
    "FeatureVisStep",
    "Patch",
    "Target",
    "TopPatches",
    "explain",
    "feature_visualization",
    "top_patches",
]
