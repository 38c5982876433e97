"""viz3d: a GPU-accelerated 3D visualizer for PyTorch networks.

>>> import torch, viz3d
>>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU())
>>> trace = viz3d.capture(net, torch.rand(1, 3, 32, 32))
>>> image = viz3d.render(trace, size=(640, 360))          # (360, 640, 4) RGBA
>>> viz3d.show(trace)                                     # doctest: +SKIP

Importing viz3d touches no GPU and no GL.
"""

from __future__ import annotations

# The subpackage viz3d.render must be imported before the function of the same
# name is bound, or a later ``import viz3d.render.x`` would rebind the attribute.
import viz3d.render as _render_package  # noqa: F401
from viz3d.api import render, show
from viz3d.capture import Viz3dWarning, capture
from viz3d.capture.trace import Edge, Node, Trace
from viz3d.errors import Viz3dError
from viz3d.scene.camera import OrbitCamera

__version__ = "0.1.0"
__all__ = ["Edge", "Node", "OrbitCamera", "Trace", "Viz3dError", "Viz3dWarning", "capture", "render", "show"]
