#!/usr/bin/env bash
# `make demo`: process the bundled sample meeting end to end on the embedded defaults (SQLite, local models:
# Whisper base int8 and Qwen2.5-Coder-1.5B Q8_0) and say where the minutes are.
set -euo pipefail
cd "$(dirname "$0")/.."
sample=transcripts/sample
out=${WGBOT_DEMO_OUT:-demo-output}
.venv/bin/wgbot process "$sample" --date 2026-11-26 --title "Vector search weekly sync" \
  --agenda "$sample/agenda.md" --chat "$sample/chat.txt" --out "$out"
echo
echo "Minutes: $out/minutes.md (long version: $out/minutes-long.md)   Transcript: $out/transcript.md   (JSON beside them)"
