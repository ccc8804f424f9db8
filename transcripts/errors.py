"""Errors raised by `transcripts`: each carries one line a person can act on, naming the file or setting."""

from __future__ import annotations


class TranscriptionError(RuntimeError):
    """Nothing could be transcribed (every track failed), or the input cannot be read at all."""


class AudioError(TranscriptionError):
    """One audio file cannot be decoded: missing, empty, corrupt, not audio, or an unsupported codec."""


class RecordingError(TranscriptionError):
    """A recording folder or its manifest.json is unusable."""


class EngineError(TranscriptionError):
    """A speech engine or its model cannot be loaded."""
