"""Errors raised by `transcripts`: each carries one line a person can act on, naming the file or setting."""

from __future__ import annotations


class UserError(Exception):
    """A message written for the person who asked (bad input, a refusal, a missing setting): every face shows it as
    it is — the CLI on one line, Discord as the command's answer — never as a traceback. Every such error of
    wgbot's subclasses this, so no face keeps a list of them."""


class TranscriptionError(UserError, RuntimeError):
    """Nothing could be transcribed (every track failed), or the input cannot be read at all."""


class AudioError(TranscriptionError):
    """One audio file cannot be decoded: missing, empty, corrupt, not audio, or an unsupported codec."""


class RecordingError(TranscriptionError):
    """A recording folder or its manifest.json is unusable."""


class EngineError(TranscriptionError):
    """A speech engine or its model cannot be loaded."""
