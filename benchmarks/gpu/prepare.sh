#!/usr/bin/env bash
# Run HERE (not on the GPU machine), once, before benchmarks/gpu/check.sh is run
# on a lent NVIDIA machine: that machine has torch, cupy-cuda13x and
# cuda-bindings but no vispy/PyOpenGL/glfw and no package registry, so those
# travel as wheels (.whl/) and the GL loader libraries as Debian packages (.gl/),
# with fontconfig and its own libraries (`import vispy` needs libfontconfig) in
# .gl/side/: check.sh unpacks those into a side folder, not over /.
# Both folders are git-ignored (.gitignore) and must be named in the device tool's `carry`.
set -euo pipefail
cd "$(dirname "$0")/../.."
{ git check-ignore -q .whl/a.whl && git check-ignore -q .gl/a.deb; } || { echo "prepare: .whl and .gl must be git-ignored" >&2; exit 1; }
rm -rf .whl .gl
mkdir -p .whl .gl/side
PLATFORMS=(--platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64
           --platform manylinux2014_x86_64 --platform manylinux1_x86_64 --platform any)
for req in vispy==0.17.0 PyOpenGL==3.1.10 glfw==2.11.0 hsluv freetype-py kiwisolver pytest-timeout==2.4.0; do
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    "${PLATFORMS[@]}" -d .whl "$req"
done
mkdir -p /tmp/amd64/partial
o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
# shellcheck disable=SC2086
apt-get $o update -qq
# shellcheck disable=SC2086
(cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 >/dev/null)
# shellcheck disable=SC2086
(cd .gl/side && apt-get $o download libfontconfig1 fontconfig-config libfreetype6 libpng16-16 libbrotli1 libexpat1 \
  zlib1g >/dev/null)
ls -la .whl .gl .gl/side
du -sh .whl .gl
echo "prepare: ready; run on the GPU machine with carry=['.whl', '.gl']: bash benchmarks/gpu/check.sh"
