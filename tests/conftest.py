"""Test set-up: real OpenGL through EGL (Mesa llvmpipe when there is no GPU)."""

from __future__ import annotations

import os

# PyOpenGL binds its platform at import: set these before anything imports it.
os.environ.setdefault("EGL_PLATFORM", "surfaceless")
os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)
    np.random.seed(0)


@pytest.fixture
def gl() -> Iterator[Any]:
    """The shared offscreen EGL canvas, with the GL error flag checked around the test."""
    from OpenGL import GL

    from viz3d.render.offscreen import offscreen_canvas

    canvas = offscreen_canvas()
    canvas.context.flush_commands()
    assert GL.glGetError() == GL.GL_NO_ERROR, "GL error flag set before the test"
    yield canvas
    canvas.set_current()
    canvas.context.flush_commands()
    assert GL.glGetError() == GL.GL_NO_ERROR, "GL error flag set by the test"
