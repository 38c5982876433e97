"""Reading GL objects back for exact comparisons in tests."""

from __future__ import annotations

from typing import Any

import numpy as np


def read_texture(texture: Any, canvas: Any) -> np.ndarray:
    """The float contents of a gloo Texture3D as (depth, height, width)."""
    from OpenGL import GL

    from viz3d.gpu.gl_objects import gl_object_handle

    handle = gl_object_handle(texture, canvas)
    d, h, w = (int(v) for v in texture.shape[:3])
    GL.glBindTexture(GL.GL_TEXTURE_3D, handle)
    GL.glPixelStorei(GL.GL_PACK_ALIGNMENT, 4)
    raw = GL.glGetTexImage(GL.GL_TEXTURE_3D, 0, GL.GL_RED, GL.GL_FLOAT)
    GL.glBindTexture(GL.GL_TEXTURE_3D, 0)
    return np.frombuffer(bytes(raw) if not isinstance(raw, np.ndarray) else raw.tobytes(), np.float32).reshape(d, h, w)


def assert_within_one_half_step(got: np.ndarray, exact: np.ndarray) -> None:
    """``got`` is ``exact`` (float32) rounded to float16 some way: within one half-precision step, NaN where NaN."""
    np.testing.assert_array_equal(np.isnan(got), np.isnan(exact))
    finite = ~np.isnan(exact)
    step = np.spacing(np.abs(exact[finite]).astype(np.float16)).astype(np.float32)
    assert np.all(np.abs(got[finite] - exact[finite]) <= step)
    assert np.array_equal(got[finite], got[finite].astype(np.float16).astype(np.float32))  # halves, nothing finer
