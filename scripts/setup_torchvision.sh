#!/usr/bin/env bash
# A second virtual environment with torchvision, for benchmarks/bench_torchvision.py: real torchvision
# architectures (random weights). torchvision's public wheels do not load their operators on torch 2.13's
# CPU build, so this one takes torch 2.14.1 with torchvision 0.29.1 (the CUDA build: several GB from the local
# package cache, a few minutes). The project's own .venv (and CI) stays as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv-tv}
PYTHON=${PYTHON:-python3}
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)
"${PIP[@]}" install "torch==2.14.1" "torchvision==0.29.1"
"${PIP[@]}" install -e .
echo "setup_torchvision: ready ($("$VENV/bin/python" -c 'import torch, torchvision; print("torch", torch.__version__, "torchvision", torchvision.__version__)'))"
