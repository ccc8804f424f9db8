"""Deleting raw meeting audio once it has served its purpose.

A recording's audio is deleted `retention_days` after that meeting's minutes were published, never before they
are published (an unpublished meeting may still need its audio re-transcribed). With it go the files derived from
it in the folder that hold what was said (the caller names them: the live transcript, the minutes' answer cache);
the transcript kept in the database is the tracker's. The manifest stays, and `audio_deleted.json` beside it
records when and which files, so the folder still explains itself and the deletion is not repeated.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot.voice.manifest import MANIFEST_NAME

__all__ = ["DELETED_MARKER", "PurgedRecording", "purge_expired_audio"]

log = logging.getLogger(__name__)

DELETED_MARKER = "audio_deleted.json"


@dataclass(slots=True)
class PurgedRecording:
    folder: Path
    meeting: str
    files: list[str]
    bytes: int


def purge_expired_audio(
    recordings_dir: Path,
    *,
    retention_days: int,
    published_at: Callable[[str], dt.datetime | None],
    now: dt.datetime | None = None,
    dry_run: bool = False,
    speech_files: tuple[str, ...] = (),
) -> list[PurgedRecording]:
    """Delete the audio of every recording folder under `recordings_dir` whose retention has run out, and the
    files named in `speech_files` there (what was said, derived from the audio).

    `published_at(meeting_id)` gives when that meeting's minutes were published, or None if they were not.
    With `dry_run`, report what would be deleted without deleting it.
    """
    if retention_days < 0:
        raise ValueError(f"recording.retention_days must be 0 or more, not {retention_days}")
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
        published = published_at(meeting)
        if published is None:
            continue
        if published.tzinfo is None:
            published = published.replace(tzinfo=dt.UTC)
        if now < published + dt.timedelta(days=retention_days):
            continue
        size = sum(f.stat().st_size for f in audio)
        purged.append(PurgedRecording(folder, meeting, [f.name for f in audio], size))
        if dry_run:
            continue
        for file in audio:
            file.unlink(missing_ok=True)
        _write_marker(folder, now, published, retention_days, [f.name for f in audio])
        log.info(
            "deleted the audio of %s (%d files, %.1f MB): %d days after publication",
            meeting,
            len(audio),
            size / 1e6,
            retention_days,
        )
    return purged


def _write_marker(folder: Path, now: dt.datetime, published: dt.datetime, days: int, files: list[str]) -> None:
    marker = folder / DELETED_MARKER
    previous: list[str] = []
    if marker.exists():
        try:
            previous = json.loads(marker.read_text(encoding="utf-8")).get("files", [])
        except (OSError, ValueError):
            previous = []
    data = {
        "deleted_at": now.isoformat(),
        "minutes_published_at": published.astimezone(dt.UTC).isoformat(),
        "retention_days": days,
        "files": sorted(set(previous) | set(files)),
    }
    tmp = marker.with_name(DELETED_MARKER + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, marker)
