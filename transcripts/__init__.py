"""wgbot's speech work: per-speaker recordings in, a speaker-attributed, timestamped transcript (and minutes) out.

Knows nothing of Discord or the database. The main entry points (imported lazily, so `import transcripts` stays
cheap):

    from transcripts import transcribe_recording, write_all, Hints
    transcript = transcribe_recording("recordings/2026-11-26", hints=Hints(glossary=["HNSW"]))
    write_all(transcript, "out/")

- `read_recording` / `Recording`: a folder of per-speaker tracks with manifest.json, or one mixed file.
- `transcribe_recording`: the batch path; `IncrementalTranscriber`: the same while the meeting is recorded.
- `load_engine`: faster-whisper (int8, default) or openai-whisper, loaded once per process.
- `to_json`, `to_markdown`, `to_vtt`, `to_srt`, `write_all`: exports.
- `synthesize_meeting`, `ScriptLine`, `mix_down`: espeak-ng meetings with ground truth, for tests and demos.
- `word_error_rate`: WER with normalization.
"""

from __future__ import annotations

import importlib

__all__ = [
    "AudioError",
    "Engine",
    "Hints",
    "IncrementalTranscriber",
    "ProgressEvent",
    "Recording",
    "ScriptLine",
    "Segment",
    "SynthesizedMeeting",
    "Transcript",
    "TranscriptionError",
    "Word",
    "load_engine",
    "mix_down",
    "read_recording",
    "synthesize_meeting",
    "to_json",
    "to_markdown",
    "to_srt",
    "to_vtt",
    "transcribe_recording",
    "word_error_rate",
    "write_all",
]

_WHERE = {
    "AudioError": "errors",
    "TranscriptionError": "errors",
    "Engine": "engines",
    "load_engine": "engines",
    "Hints": "types",
    "Segment": "types",
    "Transcript": "types",
    "Word": "types",
    "IncrementalTranscriber": "incremental",
    "ProgressEvent": "transcribe",
    "transcribe_recording": "transcribe",
    "Recording": "recording",
    "read_recording": "recording",
    "ScriptLine": "synthesize",
    "SynthesizedMeeting": "synthesize",
    "mix_down": "synthesize",
    "synthesize_meeting": "synthesize",
    "to_json": "export",
    "to_markdown": "export",
    "to_srt": "export",
    "to_vtt": "export",
    "write_all": "export",
    "word_error_rate": "wer",
}


def __getattr__(name: str):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'transcripts' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
