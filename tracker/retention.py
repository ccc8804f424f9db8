"""Deleting raw meeting audio once its time is up, as a job: the bot runs it at start and every day, and the publisher
right after a meeting is published when `retention_days` is 0.

When a recording's audio expires (`audio_expiry`):
- a published meeting: `retention_days` after its minutes were published (0: as soon as they are);
- any other meeting with a finished recording — failed, held in review, never published — `retention_days` after
  the end of the recording, but not before `UNPUBLISHED_GRACE` has passed (the pipeline needs the audio while it
  runs, and an organizer may retry a failed meeting);
- a meeting still recording: never.

With the audio go the files derived from it in the folder that hold what was said (the live transcript and the
minutes' answer cache, `SPEECH_FILES`); the transcript kept in the database is the tracker's. The manifest stays,
and `audio_deleted.json` beside it records when and which files, so the folder still explains itself and the
deletion is not repeated.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session, col, select

from tracker.models import Meeting, MeetingState, as_utc
from tracker.optout import write_private
from tracker.recording_files import DELETED_MARKER, LIVE_SEGMENTS, LIVE_TRANSCRIPT, MINUTES_CACHE
from tracker.recordings import folder_name
from transcripts.recording import MANIFEST_NAME

__all__ = [
    "DELETED_MARKER",
    "SPEECH_FILES",
    "UNPUBLISHED_GRACE",
    "PurgedRecording",
    "audio_expiry",
    "purge",
    "purge_expired_audio",
    "recordings_dir",
]

log = logging.getLogger(__name__)

SPEECH_FILES = (LIVE_SEGMENTS, LIVE_TRANSCRIPT, LIVE_TRANSCRIPT + ".tmp", MINUTES_CACHE)
UNPUBLISHED_GRACE = dt.timedelta(days=1)


@dataclass(slots=True)
class PurgedRecording:
    folder: Path
    meeting: str
    files: list[str]
    bytes: int


def audio_expiry(session: Session, retention_days: int) -> dict[str, dt.datetime]:
    """Recording folder name → when that meeting's audio expires (see the module's docstring)."""
    days = dt.timedelta(days=retention_days)
    expiry: dict[str, dt.datetime] = {}
    for meeting in session.exec(select(Meeting).where(col(Meeting.recording_dir).is_not(None))):
        if meeting.state == MeetingState.recording:
            continue
        if meeting.state == MeetingState.published:
            expiry[folder_name(meeting)] = as_utc(meeting.updated_at) + days
        else:
            ended = as_utc(meeting.ended_at or meeting.updated_at)
            expiry[folder_name(meeting)] = ended + max(days, UNPUBLISHED_GRACE)
    return expiry


def recordings_dir(settings) -> Path:
    """Where the bot records (bot/app.py: the data folder's `recordings`)."""
    return Path(settings.storage.data_dir) / "recordings"


def purge(db, recordings_dir: Path, retention_days: int, now: dt.datetime | None = None) -> list[PurgedRecording]:
    """The retention job: delete every expired recording's audio under `recordings_dir`."""
    with db.session() as session:
        expiry = audio_expiry(session, retention_days)
    purged = purge_expired_audio(
        recordings_dir, retention_days=retention_days, expires_at=expiry.get, now=now, speech_files=SPEECH_FILES
    )
    for item in purged:
        log.info("deleted the audio of %s (%d files, retention over)", item.meeting, len(item.files))
    return purged


def purge_expired_audio(
    recordings_dir: Path,
    *,
    retention_days: int,
    published_at: Callable[[str], dt.datetime | None] | None = None,
    expires_at: Callable[[str], dt.datetime | None] | None = None,
    now: dt.datetime | None = None,
    dry_run: bool = False,
    speech_files: tuple[str, ...] = (),
) -> list[PurgedRecording]:
    """Delete the audio of every recording folder under `recordings_dir` whose time is up, and the files named in
    `speech_files` there (what was said, derived from the audio).

    `expires_at(meeting_id)` gives when that meeting's audio expires (None: keep it); or `published_at(meeting_id)`
    when its minutes were published (None if they were not), the audio expiring `retention_days` later.
    With `dry_run`, report what would be deleted without deleting it.
    """
    if retention_days < 0:
        raise ValueError(f"recording.retention_days must be 0 or more, not {retention_days}")
    if expires_at is None:
        if published_at is None:
            raise TypeError("purge_expired_audio needs expires_at or published_at")

        def expires_at(meeting: str) -> dt.datetime | None:
            published = published_at(meeting)
            return as_utc(published) + dt.timedelta(days=retention_days) if published else None

    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    purged: list[PurgedRecording] = []
    recordings_dir = Path(recordings_dir)
    if not recordings_dir.is_dir():
        return purged
    for manifest in sorted(recordings_dir.glob(f"*/{MANIFEST_NAME}")):
        folder = manifest.parent
        audio = sorted(folder.glob("*.ogg")) + [f for name in speech_files if (f := folder / name).is_file()]
        if not audio:
            continue
        try:
            meeting = json.loads(manifest.read_text(encoding="utf-8"))["meeting"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("%s: unreadable manifest, its audio is left alone: %s", manifest, exc)
            continue
        expires = expires_at(meeting)
        if expires is None or now < as_utc(expires):
            continue
        size = sum(f.stat().st_size for f in audio)
        purged.append(PurgedRecording(folder, meeting, [f.name for f in audio], size))
        if dry_run:
            continue
        for file in audio:
            file.unlink(missing_ok=True)
        _write_marker(folder, now, as_utc(expires), retention_days, [f.name for f in audio])
        log.info("deleted the audio of %s (%d files, %.1f MB): its retention ended", meeting, len(audio), size / 1e6)
    return purged


def _write_marker(folder: Path, now: dt.datetime, expired: dt.datetime, days: int, files: list[str]) -> None:
    marker = folder / DELETED_MARKER
    previous: list[str] = []
    if marker.exists():
        try:
            previous = json.loads(marker.read_text(encoding="utf-8")).get("files", [])
        except (OSError, ValueError):
            previous = []
    data = {
        "deleted_at": now.isoformat(),
        "expired_at": expired.astimezone(dt.UTC).isoformat(),
        "retention_days": days,
        "files": sorted(set(previous) | set(files)),
    }
    write_private(marker, json.dumps(data, indent=2) + "\n")
