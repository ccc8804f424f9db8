"""The numbered transcript lines the model reads and every item is grounded to.

A line is one speaker's turn: consecutive segments of the same speaker, close in time, joined (ASR splits sentences
into several segments; a model and a fuzzy matcher both do better on whole turns). Numbers start at 1 and are stable
for one transcript, so a line number in a model answer can be checked against the text it claims.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from transcripts.minutes.injection import INJECTION
from transcripts.types import Transcript

MAX_LINE_WORDS = 60  # a longer turn is kept as several lines, so a line stays one or two thoughts
MAX_JOIN_GAP = 1.5  # seconds of silence within one turn


@dataclass(frozen=True, slots=True)
class Line:
    number: int
    speaker: str
    start: float
    end: float
    text: str

    def render(self, text: str | None = None) -> str:
        return f"[{self.number}] {self.speaker}: {text if text is not None else self.text}"

    @property
    def quote(self) -> str:
        return f"{self.speaker}: {self.text}"


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def transcript_lines(transcript: Transcript) -> list[Line]:
    lines: list[Line] = []
    speaker: str | None = None
    start, end = 0.0, 0.0
    parts: list[str] = []

    def close() -> None:
        if parts:
            lines.append(Line(len(lines) + 1, speaker or "?", start, end, _clean(" ".join(parts))))

    for seg in sorted(transcript.segments, key=lambda s: (s.start, s.end)):
        text = _clean(seg.text)
        if not text:
            continue
        joined_words = sum(len(p.split()) for p in parts) + len(text.split())
        # Speech addressed to the note-taker stays a line of its own, so withholding it hides nothing else.
        alone = bool(INJECTION.search(text)) or any(INJECTION.search(p) for p in parts)
        if seg.speaker == speaker and seg.start - end <= MAX_JOIN_GAP and joined_words <= MAX_LINE_WORDS and not alone:
            parts.append(text)
            end = max(end, seg.end)
            continue
        close()
        speaker, start, end, parts = seg.speaker, seg.start, seg.end, [text]
    close()
    return lines
