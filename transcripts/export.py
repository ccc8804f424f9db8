"""A transcript as JSON, Markdown, WebVTT and SRT.

- JSON: `Transcript.to_dict()` plus the speaker list: ``{"segments": [{"speaker", "start", "end", "text"}, ...],
  "speakers": [...], "started_at": ..., "duration": ..., "warnings": [...]}`` (words with times when asked).
- Markdown: a paragraph per turn (consecutive segments of one speaker), each with its start time.
- WebVTT: one cue per segment, the speaker as a voice span (``<v Alice>``), which players show as the name.
- SRT: one cue per segment, the text prefixed with ``Alice:`` (SRT has no speaker field).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from transcripts import clock as meeting_clock

from .types import Segment, Transcript

# A speaker's segments closer together than this are one paragraph in the Markdown.
PARAGRAPH_GAP = 20.0


def _cue_times(segment: Segment) -> tuple[float, float]:
    # a cue must end after it starts; segments are never shorter than 50 ms, but rounding must not break that
    start = max(0.0, segment.start)
    return start, max(segment.end, start + 0.001)


def to_json(transcript: Transcript, *, with_words: bool = False, indent: int | None = 2) -> str:
    data = transcript.to_dict(with_words=with_words)
    data["speakers"] = transcript.speakers
    return json.dumps(data, ensure_ascii=False, indent=indent) + "\n"


def from_json(text: str) -> Transcript:
    return Transcript.from_dict(json.loads(text))


def to_markdown(transcript: Transcript, title: str | None = None) -> str:
    lines: list[str] = []
    if title:
        lines += [f"# {title}", ""]
    facts = []
    if transcript.started_at:
        facts.append(transcript.started_at.strftime("%Y-%m-%d %H:%M UTC"))
    if transcript.duration:
        facts.append(f"{meeting_clock.padded(transcript.duration)} long")
    if transcript.speakers:
        facts.append("speakers: " + ", ".join(transcript.speakers))
    if facts:
        lines += ["_" + " · ".join(facts) + "_", ""]
    if not transcript.segments:
        lines += ["_(no speech was transcribed)_", ""]
    for speaker, start, texts in _turns(transcript.segments):
        lines += [f"**{_escape_md(speaker)}** [{meeting_clock.padded(start)}]: " + _escape_md(" ".join(texts)), ""]
    if transcript.warnings:
        lines += ["---", "", "Notes:", ""] + [f"- {_escape_md(w)}" for w in transcript.warnings] + [""]
    return "\n".join(lines).rstrip() + "\n"


def _turns(segments: list[Segment]):
    """(speaker, start, texts) per turn: consecutive segments of one speaker, split at long pauses."""
    turns: list[tuple[str, float, list[str], float]] = []
    for seg in segments:
        if turns and turns[-1][0] == seg.speaker and seg.start - turns[-1][3] < PARAGRAPH_GAP:
            speaker, start, texts, end = turns[-1]
            texts.append(seg.text)
            turns[-1] = (speaker, start, texts, max(end, seg.end))
        else:
            turns.append((seg.speaker, seg.start, [seg.text], seg.end))
    return [(speaker, start, texts) for speaker, start, texts, _ in turns]


def _escape_md(text: str) -> str:
    return text.replace("*", "\\*").replace("_", "\\_")


def _escape_vtt(text: str) -> str:
    # "-->" must not appear in cue text; &, < and > are markup in WebVTT
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_vtt(transcript: Transcript) -> str:
    out = ["WEBVTT", ""]
    for i, seg in enumerate(transcript.segments, 1):
        start, end = _cue_times(seg)
        speaker = _escape_vtt(seg.speaker).replace("&gt;", "")  # a voice name ends at ">"
        text = " ".join(_escape_vtt(seg.text).split())
        out += [
            str(i),
            f"{meeting_clock.subtitle(start)} --> {meeting_clock.subtitle(end)}",
            f"<v {speaker}>{text}</v>",
            "",
        ]
    return "\n".join(out) + "\n"


def to_srt(transcript: Transcript) -> str:
    out: list[str] = []
    for i, seg in enumerate(transcript.segments, 1):
        start, end = _cue_times(seg)
        text = " ".join(seg.text.split())  # a blank line would end the cue
        out += [
            str(i),
            f"{meeting_clock.subtitle(start, ',')} --> {meeting_clock.subtitle(end, ',')}",
            f"{seg.speaker}: {text}",
            "",
        ]
    return "\n".join(out) + ("\n" if out else "")


def _write(path: Path, text: str) -> Path:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}", suffix=".part")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)
    return path


def write_all(
    transcript: Transcript, out_dir: str | Path, *, title: str | None = None, with_words: bool = False
) -> dict[str, Path]:
    """Write transcript.json, transcript.md, transcript.vtt and transcript.srt into `out_dir` (each atomically)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return {
        "json": _write(out / "transcript.json", to_json(transcript, with_words=with_words)),
        "md": _write(out / "transcript.md", to_markdown(transcript, title=title)),
        "vtt": _write(out / "transcript.vtt", to_vtt(transcript)),
        "srt": _write(out / "transcript.srt", to_srt(transcript)),
    }
