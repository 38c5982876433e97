"""The shader loader: by name, with includes, raising on unknown names."""

from __future__ import annotations

from pathlib import Path

import pytest

from viz3d.errors import Viz3dError
from viz3d.renderer import shaders


def test_includes_are_expanded() -> None:
    src = shaders.load_shader("slab_face.frag")
    assert "#include" not in src
    assert "vec3 colormap(sampler2D lut" in src
    assert src.startswith("#version 330 core")


def test_unknown_shader_names_raise_listing_the_known_ones() -> None:
    with pytest.raises(Viz3dError, match=r"unknown shader 'nope\.frag'.*slab_face\.frag"):
        shaders.load_shader("nope.frag")


def test_include_cycles_are_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a.glsl").write_text('#include "b.glsl"\n')
    (tmp_path / "b.glsl").write_text('#include "a.glsl"\n')
    monkeypatch.setattr(shaders, "shader_dir", lambda: tmp_path)
    with pytest.raises(Viz3dError, match=r"include cycle: a\.glsl -> b\.glsl -> a\.glsl"):
        shaders._load("a.glsl", ())


def test_every_shader_file_loads() -> None:
    names = shaders.available_shaders()
    assert {"slab_face.vert", "slab_face.frag", "line.vert", "label.frag", "colormap.glsl"} <= set(names)
    for name in names:
        assert shaders.load_shader(name)
