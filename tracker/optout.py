"""Who opted out during a meeting, and removing them from what was derived from the call.

`/record optout` during a call deletes the person's audio (the recorder), and the live transcriber forgets their
lines (`tracker.live`); both note it in `opted_out.json` in the recording folder, so every later step — the
pipeline's transcribe and summarize steps, whatever process runs them — drops what is left of them before anything
is stored or published. Their action items stay, unassigned and without their words.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from tracker.recording_files import OPTED_OUT

log = logging.getLogger(__name__)

UNASSIGNED = ""  # an action item's owner_name when nobody owns it


@dataclass(frozen=True)
class OptedOut:
    user_id: str
    speakers: frozenset[str] = field(default_factory=frozenset)  # the names their tracks and lines were filed under
    tracks: frozenset[str] = field(default_factory=frozenset)  # their track files' stems


def load(folder: Path | str | None) -> list[OptedOut]:
    path = Path(folder) / OPTED_OUT if folder else None
    if path is None or not path.is_file():
        return []
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))["opted_out"]
        return [
            OptedOut(str(e["user_id"]), frozenset(e.get("speakers", ())), frozenset(e.get("tracks", ())))
            for e in entries
        ]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        # Unreadable: nothing derived from the call may be trusted to be free of them. Fail the step loudly.
        raise RuntimeError(f"{path}: unreadable opt-out record ({exc})") from None


def record(folder: Path | str, user_id: int | str, *, speakers=(), tracks=()) -> None:
    """Note (merging, idempotent) that `user_id` opted out during the meeting recorded in `folder`."""
    folder = Path(folder)
    by_user = {e.user_id: e for e in load(folder)}
    old = by_user.get(str(user_id), OptedOut(str(user_id)))
    by_user[old.user_id] = OptedOut(
        old.user_id, old.speakers | {s for s in speakers if s}, old.tracks | {Path(t).stem for t in tracks if t}
    )
    data = {
        "opted_out": [
            {"user_id": e.user_id, "speakers": sorted(e.speakers), "tracks": sorted(e.tracks)} for e in by_user.values()
        ]
    }
    write_private(folder / OPTED_OUT, json.dumps(data, indent=2) + "\n")


def write_private(path: Path, text: str) -> None:
    """Write `text` atomically, readable by the owner only."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def speakers_of(entries: list[OptedOut]) -> set[str]:
    return {s for e in entries for s in e.speakers}


def is_theirs(entries: list[OptedOut], *, speaker: str, track: str = "") -> bool:
    stem = Path(track).stem if track else ""
    return any(speaker in e.speakers or (stem and stem in e.tracks) for e in entries)


def scrub_transcript(transcript, entries: list[OptedOut]):
    """The transcript without the lines of anyone in `entries`; returns (transcript, number of lines removed)."""
    from transcripts.types import Transcript

    if not entries:
        return transcript, 0
    kept = [s for s in transcript.segments if not is_theirs(entries, speaker=s.speaker, track=s.track)]
    removed = len(transcript.segments) - len(kept)
    return (
        Transcript(
            segments=kept,
            started_at=transcript.started_at,
            duration=transcript.duration,
            warnings=list(transcript.warnings),
        ),
        removed,
    )


def scrub_minutes(minutes, entries: list[OptedOut]):
    """Their action items stay, unassigned and without their words (the excerpt quotes the call)."""
    names = {n.casefold() for n in speakers_of(entries)}
    if not names:
        return minutes
    items = []
    for item in minutes.action_items:
        quoted = [line for line in (item.excerpt or "").splitlines() if line.split(":", 1)[0].casefold() in names]
        if item.owner.casefold() in names or quoted:
            kept = [line for line in (item.excerpt or "").splitlines() if line not in quoted]
            owner = UNASSIGNED if item.owner.casefold() in names else item.owner
            item = item.model_copy(update={"owner": owner, "excerpt": "\n".join(kept)})
        items.append(item)
    wishes = []
    for wish in minutes.wishes:
        lines = (wish.excerpt or "").splitlines()
        kept = [line for line in lines if line.split(":", 1)[0].casefold() not in names]
        wishes.append(wish if kept == lines else wish.model_copy(update={"excerpt": "\n".join(kept)}))
    return minutes.model_copy(update={"action_items": items, "wishes": wishes})
