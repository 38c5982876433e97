#!/usr/bin/env bash
# Set up viz3d on a fresh Debian/Ubuntu machine: system GL libraries (apt, when
# root and missing) and a virtual environment with viz3d and its dev tools.
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
# Mesa's EGL and software rasterizer (headless rendering), fontconfig for
# vispy, Xvfb for window tests.
APT_PACKAGES=(libegl1 libegl-mesa0 libgl1-mesa-dri libgl1 libglx-mesa0 libfontconfig1 xvfb xauth)
# A CPU build of torch 2.13.0 installs from local disk where the machine has it;
# set VIZ3D_TORCH to another requirement (e.g. "torch" for the CUDA build).
TORCH_REQ=${VIZ3D_TORCH:-torch==2.13.0}

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
fi
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing system packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing system packages; run:" >&2
    echo "  sudo apt-get install --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating virtual environment $VENV"
  "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)
if ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
  echo "setup: installing $TORCH_REQ"
  "${PIP[@]}" install "$TORCH_REQ"
fi
stamp="$VENV/.viz3d-installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing viz3d and its dev tools"
  "${PIP[@]}" install -e ".[dev]"
  touch "$stamp"
fi
echo "setup: ready ($("$VENV/bin/python" -c 'import torch, vispy; print("torch", torch.__version__, "vispy", vispy.__version__)'))"
