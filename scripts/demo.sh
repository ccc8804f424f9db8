#!/usr/bin/env bash
# `make demo`: process the bundled sample meeting end to end on the embedded defaults (SQLite, local models).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${WGBOT_DEMO_OUT:-demo-output}
.venv/bin/wgbot process transcripts/sample --out "$out"
echo
echo "Minutes: $out/minutes.md   Transcript: $out/transcript.md   (JSON beside them)"
