"""What the GPU check's report records: torch, cupy, cuda-bindings, NVIDIA driver, vispy and PyOpenGL versions.

Read from package metadata and ``nvidia-smi``; none of the packages is
imported, so this is fast and works where one of them is broken.
Run: ``python benchmarks/gpu/versions.py`` (one line).
"""

from __future__ import annotations

import subprocess
from importlib import metadata

# Label → distributions that provide it, the usual one first.
PACKAGES = {
    "torch": ("torch",),
    "cupy": ("cupy-cuda13x", "cupy-cuda12x", "cupy"),
    "cuda-bindings": ("cuda-bindings", "cuda-python"),
    "vispy": ("vispy",),
    "PyOpenGL": ("PyOpenGL",),
}


def package_version(dists: tuple[str, ...]) -> str:
    """The installed version of the first of ``dists`` found (named when it is not the usual one)."""
    for dist in dists:
        try:
            version = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
        return version if dist == dists[0] else f"{version} ({dist})"
    return "not installed"


def driver_version() -> str:
    """The NVIDIA driver's version as ``nvidia-smi`` reports it."""
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except FileNotFoundError:
        return "none (no nvidia-smi)"
    except subprocess.TimeoutExpired:
        return "unknown (nvidia-smi timed out)"
    lines = out.stdout.split()
    return lines[0] if out.returncode == 0 and lines else f"unknown (nvidia-smi exit status {out.returncode})"


def versions() -> dict[str, str]:
    """Label → version of every package in :data:`PACKAGES`, and ``driver``."""
    found = {label: package_version(dists) for label, dists in PACKAGES.items()}
    found["driver"] = driver_version()
    return found


def one_line(found: dict[str, str]) -> str:
    return "versions: " + ", ".join(f"{label} {version}" for label, version in found.items())


if __name__ == "__main__":
    print(one_line(versions()))
