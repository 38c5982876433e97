"""Test set-up: real OpenGL through EGL (Mesa llvmpipe when there is no GPU)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import torch

from viz3d.renderer.context import set_egl_environment  # imports no GL

# PyOpenGL binds its platform at import: set the environment before any test
# imports it. (Mesa wants EGL_PLATFORM=surfaceless; NVIDIA's EGL, on a GPU
# machine, does not.)
set_egl_environment()


def cuda_gl_available() -> bool:
    """Whether the CUDA upload tests can run: a CUDA device and NVIDIA's EGL."""
    import os

    return torch.cuda.is_available() and "nvidia" in os.environ.get("__EGL_VENDOR_LIBRARY_FILENAMES", "").lower()


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    if cuda_gl_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU with NVIDIA's EGL (run benchmarks/gpu/check.sh on one)")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)
    np.random.seed(0)


@pytest.fixture
def gl() -> Iterator[Any]:
    """The shared offscreen EGL canvas, with the GL error flag checked around the test."""
    from OpenGL import GL

    from viz3d.renderer.offscreen import offscreen_canvas

    canvas = offscreen_canvas()
    canvas.context.flush_commands()
    assert GL.glGetError() == GL.GL_NO_ERROR, "GL error flag set before the test"
    yield canvas
    canvas.set_current()
    canvas.context.flush_commands()
    assert GL.glGetError() == GL.GL_NO_ERROR, "GL error flag set by the test"
