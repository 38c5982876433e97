"""Load GLSL sources from the ``shaders/`` folder by name, resolving ``#include``.

Installed wheels carry the folder as ``viz3d/shaders``; a source checkout uses
the top-level ``shaders/``. Sources are cached; an unknown name raises.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from viz3d.errors import Viz3dError

_INCLUDE = re.compile(r'^\s*#include\s+"([^"]+)"\s*$', re.MULTILINE)
_SUFFIXES = (".vert", ".frag", ".glsl")


@cache
def shader_dir() -> Path:
    """The folder the shaders are read from."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "shaders", here.parent / "shaders"):
        if candidate.is_dir():
            return candidate
    raise Viz3dError(f"viz3d's shaders folder is missing (looked in {here / 'shaders'}); reinstall viz3d")


def available_shaders() -> list[str]:
    """Names of every shader file, e.g. ``slab_face.frag``."""
    return sorted(p.name for p in shader_dir().iterdir() if p.suffix in _SUFFIXES)


@cache
def load_shader(name: str) -> str:
    """The source of shader ``name`` with every ``#include "file.glsl"`` expanded."""
    return _load(name, ())


def with_defines(source: str, *names: str) -> str:
    """``source`` with ``#define NAME`` lines after its ``#version`` line (one shader file, two variants)."""
    head, _, rest = source.partition("\n")
    return "\n".join([head, *(f"#define {n}" for n in names), rest])


def _load(name: str, chain: tuple[str, ...]) -> str:
    if name in chain:
        raise Viz3dError(f"shader include cycle: {' -> '.join((*chain, name))}")
    path = shader_dir() / name
    if path.suffix not in _SUFFIXES or not path.is_file():
        raise Viz3dError(f"unknown shader {name!r}; available: {', '.join(available_shaders())}")
    source = path.read_text()

    def expand(match: re.Match[str]) -> str:
        return _load(match.group(1), (*chain, name))

    return _INCLUDE.sub(expand, source)
