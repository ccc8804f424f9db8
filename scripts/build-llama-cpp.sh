#!/usr/bin/env bash
# Build llama-cpp-python from its source release with wgbot's llama.cpp patches (scripts/llama-cpp-*.patch: the AMX
# tile configuration fix, and Q8_0 repacking with AVX2 kernels for x86 CPUs without AMX), as a wheel kept in
# ~/.cache/wgbot/wheels (so a new checkout or CI run installs it in seconds), and install it into the venv given as
# $1. The wheel's version carries the label +wgbot.amx: transcripts.llm turns AMX on only for it.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=$1
VERSION=0.3.36
LABEL=wgbot.amx
PATCHES=(scripts/llama-cpp-*.patch)
# llama.cpp as a library only: the tools, examples, tests and server take most of the build time.
CMAKE_ARGS="-DLLAVA_BUILD=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF"
if [ "${WGBOT_LLAMA_PORTABLE:-0}" = 1 ]; then
  # For any x86-64 CPU (the Docker image): ggml's CPU backend is built once per CPU generation (AVX2, AVX-512,
  # AMX, ...) as loadable libraries beside libggml, and the best one for the host is loaded at run time.
  # They go into the wheel beside libggml (llama_cpp/lib), where transcripts/llama_backend.py loads them from.
  CMAKE_ARGS="$CMAKE_ARGS -DGGML_NATIVE=OFF -DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=ON"
  CMAKE_ARGS="$CMAKE_ARGS -DCMAKE_INSTALL_BINDIR=llama_cpp/lib"
  cpu=portable
else
  # Built for this machine's CPU (-march=native): the wheel's cache key says which CPU and which patches.
  cpu=$( (grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || uname -m) | sha256sum | cut -c1-12)
fi
key=$( (cat "${PATCHES[@]}"; echo "$CMAKE_ARGS $cpu") | sha256sum | cut -c1-12)
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/wgbot/wheels/$key
PIP=("$VENV/bin/python" -m pip)

wheel=$(ls "$CACHE"/llama_cpp_python-"$VERSION"+"$LABEL"-*.whl 2>/dev/null | head -1 || true)
if [ -z "$wheel" ]; then
  echo "building llama-cpp-python $VERSION with wgbot's patches (about 5 minutes on 2 cores, once per machine)"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  "${PIP[@]}" download --quiet --no-deps --no-binary :all: "llama-cpp-python==$VERSION" -d "$work"
  tar xzf "$work/llama_cpp_python-$VERSION.tar.gz" -C "$work"
  src="$work/llama_cpp_python-$VERSION"
  for p in "${PATCHES[@]}"; do patch -p1 -d "$src" < "$p"; done
  sed -i "s/^__version__ = \"$VERSION\"/__version__ = \"$VERSION+$LABEL\"/" "$src/llama_cpp/__init__.py"
  grep -q "+$LABEL" "$src/llama_cpp/__init__.py"
  mkdir -p "$CACHE"
  CMAKE_ARGS="$CMAKE_ARGS" "${PIP[@]}" wheel --progress-bar off --no-deps -w "$CACHE" "$src"
  wheel=$(ls "$CACHE"/llama_cpp_python-"$VERSION"+"$LABEL"-*.whl | head -1)
fi
"${PIP[@]}" install --progress-bar off --force-reinstall --no-deps "$wheel"
# Its own dependencies (numpy, jinja2, diskcache, typing-extensions), from the index as usual.
"${PIP[@]}" install --progress-bar off "$wheel"
