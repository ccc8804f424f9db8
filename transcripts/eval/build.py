"""Corpus meetings as recordings (one track per speaker + manifest.json), synthesized on demand into a cache.

Nothing here is committed audio: a meeting's folder is keyed by a hash of its script and voices, so a changed script
is synthesized again and an unchanged one is reused. Each line is rendered once (`render_line` caches it too).
Lines follow each other with pauses of 0.4 to 1.2 s; a line marked as overlapping starts while the previous one is
still being said; every track gets mild microphone noise.
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

from transcripts.eval.corpus import EvalMeeting, filled_script
from transcripts.synthesize import ESPEAK_RATE, ScriptLine, SynthesizedMeeting, render_line, synthesize_meeting
from transcripts.types import Hints

NOISE = 0.003  # RMS of the microphones' noise floor (mild)


def meeting_key(meeting: EvalMeeting) -> str:
    text = json.dumps([meeting.voices, filled_script(meeting), NOISE], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def build(meeting: EvalMeeting, cache: Path) -> tuple[Path, SynthesizedMeeting | None]:
    """The meeting's recording folder in `cache` (synthesized if it is not there yet), and its synthesis (None when
    it was found in the cache)."""
    folder = cache / f"{meeting.name}-{meeting_key(meeting)}"
    if (folder / "manifest.json").exists() and (folder / "script.json").exists():
        return folder, None
    rng = random.Random(meeting.name)
    turns = filled_script(meeting)
    lines: list[ScriptLine] = []
    cursor, previous = 1.0, (1.0, 0.0)
    for speaker, text, overlap in turns:
        seconds = render_line(text, meeting.voices[speaker]).size / ESPEAK_RATE
        start = previous[0] + 0.4 * previous[1] if overlap and lines else cursor + rng.uniform(0.4, 1.2)
        lines.append(ScriptLine(speaker, text, voice=meeting.voices[speaker], at=round(start, 3)))
        previous = (start, seconds)
        cursor = max(cursor, start + seconds)
    synthesized = synthesize_meeting(lines, folder, title=meeting.title, noise=NOISE, seed=len(meeting.name))
    (folder / "script.json").write_text(
        json.dumps([{"speaker": s.speaker, "text": s.text, "start": s.start, "end": s.end} for s in synthesized.lines])
    )
    return folder, synthesized


def said(folder: Path) -> list[dict]:
    """What was said in the meeting, line by line in time order: speaker, text, start, end."""
    return sorted(json.loads((folder / "script.json").read_text()), key=lambda line: line["start"])


def reference_text(folder: Path) -> str:
    """What was said in the meeting, in time order (for the word error rate)."""
    return " ".join(line["text"] for line in said(folder))


def hints(meeting: EvalMeeting) -> Hints:
    """What a chair would know before the call: title, the people, the group's words."""
    return Hints(title=meeting.title, speakers=meeting.speakers, glossary=list(meeting.glossary))
