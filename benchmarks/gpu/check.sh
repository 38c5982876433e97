#!/usr/bin/env bash
# The whole GPU check, in one short run on a lent NVIDIA machine (about 3 minutes; at most 200 + 180 + 45 + 60 s of timeouts, under the 600 s a device call may run):
#   1. unpack the carried GL loader .debs and install the carried wheels;
#   2. run the CUDA tests (tests marked cuda) and the GL tests on NVIDIA's EGL;
#   3. run the upload/frame benchmark, the draw-overhead benchmark and `viz3d render --device cuda`;
# and write everything to $OUT (report.json, pytest.log, bench.log, draw.log, render.png, gpu.txt, status.txt).
# Prepare the carried files first, here: bash benchmarks/gpu/prepare.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/viz3d-gpu-out}
mkdir -p "$OUT"
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD
export PYTHONUNBUFFERED=1
export PYOPENGL_PLATFORM=egl
export __EGL_VENDOR_LIBRARY_FILENAMES=${__EGL_VENDOR_LIBRARY_FILENAMES:-/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader > "$OUT/gpu.txt" 2>&1
timeout 200 python3 -m pytest -q -p no:cacheprovider -m "cuda or gl" tests/test_cuda_upload.py tests/test_render_pixels.py \
  tests/test_upload_paths.py 2>&1 | tee "$OUT/pytest.log"
tests_rc=${PIPESTATUS[0]}
timeout 180 python3 benchmarks/gpu/bench_gpu.py --json "$OUT/report.json" 2>&1 | tee "$OUT/bench.log"
bench_rc=${PIPESTATUS[0]}
# Per-frame CPU cost of the slab faces on NVIDIA's driver (raw-GL pass vs gloo, same run).
timeout 45 python3 benchmarks/bench_draw_overhead.py 2>&1 | tee "$OUT/draw.log"
# End to end, headless, the CUDA path forced (a failure shows instead of falling back): a PNG to look at.
VIZ3D_UPLOAD=cuda timeout 60 python3 -m viz3d render --device cuda --size 1280x720 --ssaa 1 \
  --out "$OUT/render.png" 2>&1 | tee -a "$OUT/draw.log"
echo "tests rc=$tests_rc bench rc=$bench_rc" | tee "$OUT/status.txt"
exit $(( tests_rc != 0 || bench_rc != 0 ))
