"""The data that flows through wgbot's speech work: transcripts in, minutes out.

Plain dataclasses for transcripts (produced in bulk, never validated from outside) and pydantic models for
minutes (parsed from a language model's answer, so they are validated).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field

from pydantic import BaseModel, Field


@dataclass(slots=True)
class Word:
    start: float  # seconds from the meeting start
    end: float
    text: str
    probability: float = 1.0


@dataclass(slots=True)
class Segment:
    """One utterance of one speaker, timed on the meeting timeline (seconds from the meeting start)."""

    speaker: str
    start: float
    end: float
    text: str
    track: str = ""  # the recording file the segment came from
    words: list[Word] = field(default_factory=list)

    def to_dict(self, with_words: bool = False) -> dict:
        data = {"speaker": self.speaker, "start": round(self.start, 3), "end": round(self.end, 3), "text": self.text}
        if with_words and self.words:
            data["words"] = [asdict(w) for w in self.words]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Segment:
        words = [Word(**w) for w in data.get("words", [])]
        return cls(
            speaker=data["speaker"],
            start=float(data["start"]),
            end=float(data["end"]),
            text=data["text"],
            track=data.get("track", ""),
            words=words,
        )


@dataclass(slots=True)
class Transcript:
    segments: list[Segment]
    started_at: dt.datetime | None = None  # wall-clock start of the meeting (UTC), when known
    duration: float = 0.0  # seconds covered by the recording
    warnings: list[str] = field(default_factory=list)  # e.g. "alice.ogg: no speech found"

    @property
    def speakers(self) -> list[str]:
        seen: dict[str, None] = {}
        for seg in self.segments:
            seen.setdefault(seg.speaker, None)
        return list(seen)

    def by_start(self) -> list[Segment]:
        """The segments in order of start, ties as they are: the order the tracker stores them in and reads them
        back (so minutes written before and after storing see the same speakers in the same order)."""
        return sorted(self.segments, key=lambda s: s.start)

    def to_dict(self, with_words: bool = False) -> dict:
        data: dict = {"segments": [s.to_dict(with_words) for s in self.segments]}
        if self.started_at:
            data["started_at"] = self.started_at.isoformat()
        data["duration"] = round(self.duration, 3)
        if self.warnings:
            data["warnings"] = list(self.warnings)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Transcript:
        started = data.get("started_at")
        return cls(
            segments=[Segment.from_dict(s) for s in data["segments"]],
            started_at=dt.datetime.fromisoformat(started) if started else None,
            duration=float(data.get("duration") or 0.0),
            warnings=list(data.get("warnings", [])),
        )


@dataclass(slots=True)
class Hints:
    """Vocabulary and context given to Whisper and the summarizer so names and jargon come out right."""

    title: str | None = None
    agenda: list[str] = field(default_factory=list)
    speakers: list[str] = field(default_factory=list)
    group_name: str | None = None
    glossary: list[str] = field(default_factory=list)


# ---- minutes -------------------------------------------------------------------------------------------------


class ActionItem(BaseModel):
    owner: str
    task: str
    due: dt.date | None = None
    at: float = Field(description="seconds from the meeting start of the supporting transcript segment")
    excerpt: str = ""  # the transcript line(s) that support it, "Speaker: text"


class Wish(BaseModel):
    title: str
    details: str = ""
    at: float
    excerpt: str = ""


class Minutes(BaseModel):
    # Markdown: a bold heading per topic with its points (`minutes.summary.short_summary_markdown`).
    summary: str = Field(default="", max_length=1500)
    long_summary: str = ""
    decisions: list[str] = Field(default_factory=list)
    action_items: list[ActionItem] = Field(default_factory=list)
    wishes: list[Wish] = Field(default_factory=list)
    links: list[str] = Field(default_factory=list)
    next_topics: list[str] = Field(default_factory=list)
    # What could not be produced (e.g. "decisions: the model gave no usable answer"), shown in the rendered minutes.
    notes: list[str] = Field(default_factory=list)

    def to_public_dict(self) -> dict:
        """The `minutes.json` shape documented in the README."""
        return {
            "summary": self.summary,
            "long_summary": self.long_summary,
            "decisions": list(self.decisions),
            "action_items": [
                {"owner": a.owner, "task": a.task, "due": a.due.isoformat() if a.due else None, "at": a.at}
                for a in self.action_items
            ],
            "wishes": [{"title": w.title, "details": w.details, "at": w.at} for w in self.wishes],
            "links": list(self.links),
            "next_topics": list(self.next_topics),
            "notes": list(self.notes),
        }
