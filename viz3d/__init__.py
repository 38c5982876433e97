"""viz3d: a GPU-accelerated 3D visualizer for PyTorch networks.

>>> import torch, viz3d
>>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU())
>>> trace = viz3d.trace(net, torch.rand(1, 3, 32, 32))
>>> image = viz3d.render(trace, size=(640, 360))          # (360, 640, 4) RGBA
>>> viz3d.show(trace)                                     # doctest: +SKIP

Importing viz3d touches no GPU and no GL. No public name here shadows a
subpackage: ``viz3d.capture`` and ``viz3d.renderer`` are packages,
``viz3d.trace`` and ``viz3d.render`` are functions.
"""

from __future__ import annotations

from viz3d.api import record, render, show, trace
from viz3d.capture.trace import Edge, Node, Trace
from viz3d.errors import Viz3dError, Viz3dWarning
from viz3d.scene.camera import OrbitCamera
from viz3d.session import Session, ViewOptions
from viz3d.training import watch

__version__ = "0.1.0"
__all__ = [
    "Edge",
    "Node",
    "OrbitCamera",
    "Session",
    "Trace",
    "ViewOptions",
    "Viz3dError",
    "Viz3dWarning",
    "record",
    "render",
    "show",
    "trace",
    "watch",
]
