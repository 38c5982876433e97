#!/usr/bin/env bash
# The whole GPU check, in one short run on a lent NVIDIA machine. Its time limits add up to 280 s (setup 30,
# preflight 15, nvidia-smi 10, versions 10, tests 85, benchmark 55, live training 30, draw overhead 20,
# render 25; each step
# gets 3 s more to die after its limit), well inside the 600 s of one device call, so a second run fits too.
#   1. setup: the carried GL loader .debs (.gl/*.deb) over / as the device README says; fontconfig and its
#      own libraries (.gl/side/*.deb) into a side folder registered with ldconfig, keeping only what the
#      system lacks; the carried wheels (.whl) into /tmp/site;
#   2. preflight: `import vispy.gloo, OpenGL.GL` with VISPY_GL_LIB=libOpenGL.so.0 (gloo's default libGL.so.1
#      needs libGLX and X11); when it fails nothing else runs;
#   3. the versions (torch, cupy, cuda-bindings, driver, vispy, PyOpenGL), the GPU, the EGL vendor file
#      (falling back to glvnd's standard place) and the EGL/OpenGL libraries the loader sees;
#   4. the CUDA and GL tests (per-test limit with pytest-timeout), the upload/frame benchmark, ResNet-50
#      training on CUDA with and without viz3d.watch(every=10) (hidden window, CUDA upload), the
#      draw-overhead benchmark and `viz3d render --device cuda` with the CUDA path forced.
# Under $OUT (7 files; the device tool returns at most 8):
#   status.txt  the report: line 1 the preflight, then versions, GPU, EGL vendor file, loader libraries,
#               one line per step with its exit status and time (124: its time limit), and last the
#               status line: every step's exit status and the total time
#   setup.log, pytest.log, bench.log + report.json (the benchmark's figures; bench.log also has the live
#   training figures), draw.log (draw overhead and
#   the render's output), render.png
# The exit status is 0 only when every step passed.
# Prepare the carried files first, here: bash benchmarks/gpu/prepare.sh
# DRY_RUN=1 (implied where there is no nvidia-smi) runs the same steps under the same limits on a machine
# without a GPU: nothing is written over / or registered with ldconfig, the wheels are not installed (the
# packages of $PYTHON are used), the CUDA tests skip themselves, the benchmark runs with --allow-cpu and the
# render on the CPU.
set -uo pipefail
cd "$(dirname "$0")/../.."
START=$SECONDS
OUT=${OUT:-/tmp/viz3d-gpu-out}
mkdir -p "$OUT"
PY=${PYTHON:-python3}
DRY_RUN=${DRY_RUN:-}
if [ "$DRY_RUN" = 1 ]; then
  DRY_RUN="DRY_RUN=1"
elif [ -z "$DRY_RUN" ] && ! command -v nvidia-smi >/dev/null 2>&1; then
  DRY_RUN="no nvidia-smi"
fi
REPORT=$OUT/status.txt
SETUP_LOG=$OUT/setup.log
: >"$REPORT"
: >"$SETUP_LOG"
NOTES=()  # report lines found before the preflight, which must be line 1
RCS=()    # name=exit status of each step, for the status line
FAILED=0

note() { NOTES+=("$*"); }
say() { echo "$*" | tee -a "$REPORT"; }

# step NAME LIMIT LOG COMMAND...: run COMMAND with a time limit, its output into LOG (and here); record its status.
step() {
  local name=$1 limit=$2 log=$3 t0=$SECONDS rc
  shift 3
  timeout -k 3 "$limit" "$@" 2>&1 | tee -a "$log"
  rc=${PIPESTATUS[0]}
  RCS+=("$name=$rc")
  [ "$rc" = 0 ] || FAILED=1
  case $rc in
    124 | 137) say "$name: exit status $rc: stopped at its time limit of $limit s" ;;
    *) say "$name: exit status $rc in $((SECONDS - t0)) s (limit $limit s)" ;;
  esac
  return "$rc"
}

finish() {
  say "status: $([ "$FAILED" = 0 ] && echo ok || echo FAILED)${DRY_RUN:+ (dry run: $DRY_RUN)}: ${RCS[*]} in $((SECONDS - START)) s"
  exit "$FAILED"
}

# unpack_side DEBS SIDE: the .debs in DEBS unpacked into SIDE, minus every library the loader already knows
# (so nothing of the system's is shadowed); prints the sonames kept.
unpack_side() {
  local debs=$1 side=$2 f lib name
  local -a kept=()
  compgen -G "$debs/*.deb" >/dev/null || { echo "no $debs/*.deb: run benchmarks/gpu/prepare.sh" >&2 && return 1; }
  rm -rf "$side" && mkdir -p "$side" || return 1
  for f in "$debs"/*.deb; do
    [ -e "$f" ] || continue
    dpkg -x "$f" "$side" || return 1
  done
  for lib in "$side"/usr/lib/x86_64-linux-gnu/*.so.* "$side"/lib/x86_64-linux-gnu/*.so.*; do
    [ -L "$lib" ] || continue # sonames are links to the files
    name=$(basename "$lib")
    if ldconfig -p | awk -v n="$name" '$1 == n { found = 1 } END { exit !found }'; then
      rm -f "$(readlink -f "$lib")" "$lib"
    else
      kept+=("$name")
    fi
  done
  echo "${kept[*]:-}"
}

# --- 1. setup ------------------------------------------------------------------------------------------
export PYTHONUNBUFFERED=1 PYOPENGL_PLATFORM=egl
export VISPY_GL_LIB=${VISPY_GL_LIB:-libOpenGL.so.0}
if [ -z "$DRY_RUN" ]; then
  SIDE=/tmp/gl-side
  {
    for f in .gl/*.deb; do dpkg -x "$f" / || echo "setup: cannot unpack $f"; done
    ldconfig
  } >>"$SETUP_LOG" 2>&1
  if kept=$(unpack_side .gl/side "$SIDE" 2>>"$SETUP_LOG"); then
    printf '%s\n' "$SIDE/usr/lib/x86_64-linux-gnu" "$SIDE/lib/x86_64-linux-gnu" >/etc/ld.so.conf.d/zz-viz3d-gl-side.conf
    ldconfig
    note "setup: side folder $SIDE registered with ldconfig, holding: ${kept:-nothing (the system has all)}"
  else
    note "setup: FAILED to unpack .gl/side into $SIDE: $(tail -n 1 "$SETUP_LOG")"
  fi
  if timeout -k 3 30 "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl >>"$SETUP_LOG" 2>&1; then
    note "setup: wheels installed into /tmp/site: $(cd .whl && echo *.whl)"
  else
    note "setup: FAILED to install the wheels: $(tail -n 1 "$SETUP_LOG")"
  fi
  export PYTHONPATH=/tmp/site:$PWD
else
  SIDE=/tmp/viz3d-gl-side-dry
  if kept=$(unpack_side .gl/side "$SIDE" 2>>"$SETUP_LOG"); then
    note "setup (dry run): .gl/side unpacked into $SIDE, not registered; it would hold: ${kept:-nothing (the system has all)}"
  else
    note "setup (dry run): FAILED to unpack .gl/side into $SIDE: $(tail -n 1 "$SETUP_LOG")"
  fi
  export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
fi
if [ ! -e /etc/fonts/fonts.conf ] && [ -e "$SIDE/etc/fonts/fonts.conf" ]; then
  export FONTCONFIG_FILE=$SIDE/etc/fonts/fonts.conf FONTCONFIG_PATH=$SIDE/etc/fonts
fi

# --- 2. preflight: line 1 of the report -----------------------------------------------------------------
preflight=$(timeout -k 3 15 "$PY" benchmarks/gpu/preflight.py 2>>"$SETUP_LOG")
preflight_rc=$?
[ -n "$preflight" ] || preflight="preflight: FAILED: exit status $preflight_rc without a word (see setup.log)"
say "$preflight"
RCS+=("preflight=$preflight_rc")
[ "$preflight_rc" = 0 ] || FAILED=1

# --- 3. what this machine is ----------------------------------------------------------------------------
for line in "${NOTES[@]}"; do say "$line"; done
say "$(timeout -k 3 10 "$PY" benchmarks/gpu/versions.py 2>&1 || echo "versions: FAILED")"
if [ -z "$DRY_RUN" ]; then
  say "gpu: $(timeout -k 3 10 nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1)"
else
  say "gpu: none (dry run: $DRY_RUN)"
fi
EGL_VENDOR_NVIDIA=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
EGL_VENDOR_GLVND=/usr/share/glvnd/egl_vendor.d/10_nvidia.json
asked=${__EGL_VENDOR_LIBRARY_FILENAMES:-}
egl_vendor=""
for f in "$asked" "$EGL_VENDOR_NVIDIA" "$EGL_VENDOR_GLVND"; do
  if [ -n "$f" ] && [ -f "$f" ]; then
    egl_vendor=$f
    break
  fi
done
if [ -n "$egl_vendor" ]; then
  export __EGL_VENDOR_LIBRARY_FILENAMES=$egl_vendor
  library=$(tr -d ' \n\t' <"$egl_vendor" | grep -o '"library_path":"[^"]*"' || echo 'no library_path')
  say "egl vendor file: $egl_vendor: $library${asked:+$([ "$asked" = "$egl_vendor" ] || echo " ($asked does not exist)")}"
else
  unset __EGL_VENDOR_LIBRARY_FILENAMES
  say "egl vendor file: none of ${asked:+$asked }$EGL_VENDOR_NVIDIA $EGL_VENDOR_GLVND exists: glvnd chooses (Mesa's if present); the CUDA tests skip themselves"
fi
ldconfig -p | grep -E 'libEGL|libOpenGL|libGL|libfontconfig' | sed 's/^[[:space:]]*/loader sees: /' | tee -a "$REPORT"
if [ "$preflight_rc" != 0 ]; then
  say "nothing else ran: without those imports no test, benchmark or render can"
  finish
fi

# --- 4. tests, benchmarks, render ------------------------------------------------------------------------
per_test=()
if "$PY" -c "import pytest_timeout" 2>/dev/null; then
  per_test=(--timeout=40)
else
  say "tests: pytest-timeout is missing: no per-test limit, only the step's"
fi
step tests 85 "$OUT/pytest.log" "$PY" -m pytest -q -p no:cacheprovider "${per_test[@]}" -m "cuda or gl" \
  tests/test_cuda_upload.py tests/test_render_pixels.py tests/test_upload_paths.py \
  tests/test_explain.py::test_gradients_on_cuda_equal_the_cpu_ones
step bench 55 "$OUT/bench.log" "$PY" benchmarks/gpu/bench_gpu.py --json "$OUT/report.json" ${DRY_RUN:+--allow-cpu}
# Live training: ResNet-50 steps on CUDA with and without watch(every=10) through the CUDA upload path.
step watch 30 "$OUT/bench.log" "$PY" benchmarks/gpu/bench_watch_gpu.py --rounds 2 ${DRY_RUN:+--allow-cpu}
# Per-frame CPU cost of the slab faces on this driver (raw-GL pass vs gloo, same run).
step draw 20 "$OUT/draw.log" "$PY" benchmarks/bench_draw_overhead.py
# End to end, headless, the CUDA path forced (a failure shows instead of falling back): a PNG to look at.
if [ -z "$DRY_RUN" ]; then
  render=(env VIZ3D_UPLOAD=cuda "$PY" -m viz3d render --device cuda)
else
  render=("$PY" -m viz3d render --device cpu)
fi
step render 25 "$OUT/draw.log" "${render[@]}" --size 1280x720 --ssaa 1 --out "$OUT/render.png"
finish
