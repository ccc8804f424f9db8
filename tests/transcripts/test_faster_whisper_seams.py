"""faster-whisper's building blocks that transcripts/engines.py drives directly (one decode per packed window,
instead of its `transcribe`): an upgrade that renames, drops or adds one of them must fail here, by name, not in
the middle of a meeting. The version pin alone would let a reinstall with other pins slip through."""

from __future__ import annotations

import ast
import dataclasses
import inspect
from pathlib import Path

import faster_whisper
from faster_whisper import WhisperModel
from faster_whisper.transcribe import TranscriptionOptions

ENGINES = Path(__file__).resolve().parents[2] / "transcripts" / "engines.py"

# The methods of WhisperModel that the engine calls, with the parameters it passes (positionally, in this order).
METHODS = {
    "get_prompt": ["tokenizer", "previous_tokens", "without_timestamps"],
    "encode": ["features"],
    "generate_with_fallback": ["encoder_output", "prompt", "tokenizer", "options"],
    "add_word_timestamps": [
        "segments",
        "tokenizer",
        "encoder_output",
        "num_frames",
        "prepend_punctuations",
        "append_punctuations",
        "last_speech_timestamp",
    ],
    "detect_language": ["audio"],
}


def _options_passed() -> set[str]:
    calls = [
        node
        for node in ast.walk(ast.parse(ENGINES.read_text()))
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "TranscriptionOptions"
    ]
    return {keyword.arg for call in calls for keyword in call.keywords}


def test_the_engine_passes_every_transcription_option_and_no_unknown_one():
    passed = _options_passed()
    assert len(passed) > 20  # the scan found the call
    expected = {field.name for field in dataclasses.fields(TranscriptionOptions)}
    assert passed == expected, (
        f"faster-whisper {faster_whisper.__version__}: options missing {sorted(expected - passed)}, "
        f"unknown {sorted(passed - expected)} — update FasterWhisperEngine.transcribe"
    )


def test_the_whisper_model_methods_the_engine_calls_take_the_same_parameters():
    for name, wanted in METHODS.items():
        method = getattr(WhisperModel, name, None)
        assert method is not None, f"faster-whisper {faster_whisper.__version__} has no WhisperModel.{name}"
        parameters = [p for p in inspect.signature(method).parameters if p != "self"]
        assert parameters[: len(wanted)] == wanted, (name, parameters)
        assert f".{name}(" in ENGINES.read_text(), name  # still used: otherwise drop it from this list
