"""Hand-made transcripts for the minutes tests."""

from __future__ import annotations

from transcripts.types import Segment, Transcript


def transcript_of(script: list[tuple[str, str]] | tuple[tuple[str, str], ...], pause: float = 0.8) -> Transcript:
    """A transcript with one segment per (speaker, text), timed at about 150 words a minute."""
    segments, t = [], 1.0
    for speaker, text in script:
        duration = len(text.split()) * 0.4
        segments.append(Segment(speaker, round(t, 2), round(t + duration, 2), text))
        t += duration + pause
    return Transcript(segments, duration=t)
