"""A recording on disk: a folder of per-speaker audio files with an optional manifest.json, or one mixed file.

This module is the one definition of manifest.json; the voice recorder writes it with `write_manifest`:

    {
      "meeting": "Weekly sync",                      # title (optional)
      "started_at": "2026-11-26T17:00:03+00:00",     # wall-clock start of the meeting, ISO-8601 UTC (optional)
      "tracks": [
        {"file": "alice.ogg", "speaker": "Alice", "user_id": "123", "offset": 0.0},
        {"file": "bob.ogg", "speaker": "Bob", "offset": 12.5}
      ],
      "ended_at": "2026-11-26T18:02:11+00:00",       # set by the recorder when it stops cleanly (optional)
      "stop_reason": "stopped by Alice",
      "gaps": [{"start": 1390.2, "end": 1502.9, "note": "no audio received from 17:23 to 17:25 UTC"}]
    }

- `offset`: seconds from the meeting start to the first sample of the file (default 0).
- A speaker's audio in several files (the recorder restarted): either several entries with the same speaker, each
  with its own `offset` (use this when there is a gap between the files), or `"file": ["a.ogg", "a-2.ogg"]`, parts
  that continue one another without a gap (the second starts where the first ends). Both become one `Track`.
- Without a manifest, every audio file in the folder is a track: the file stem is the speaker, the offset is 0.
- `gaps`: stretches in which the recorder received no audio although people were talking (its receive watchdog);
  each `note` goes into the minutes' notes.
- A single file (not a folder) is a mixed recording: one track, speaker "Speaker". Per-speaker tracks are what give
  the transcript names.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .audio import AUDIO_SUFFIXES
from .errors import RecordingError

log = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"
MIXED_SPEAKER = "Speaker"


# ---- the manifest format --------------------------------------------------------------------------------------


class ManifestTrack(BaseModel):
    model_config = ConfigDict(extra="ignore")

    file: str | list[str]
    speaker: str = Field(min_length=1)
    user_id: str | None = None
    offset: float = Field(default=0.0, ge=0.0)

    @field_validator("user_id", mode="before")
    @classmethod
    def _id_as_text(cls, value):  # Discord ids are often written as numbers
        return None if value is None else str(value)

    @field_validator("file")
    @classmethod
    def _names_only(cls, value):
        for name in [value] if isinstance(value, str) else value:
            if not name or Path(name).name != name:
                raise ValueError(f"{name!r} must be a file name inside the recording folder")
        if isinstance(value, list) and not value:
            raise ValueError("an empty list of files")
        return value

    @property
    def files(self) -> list[str]:
        return [self.file] if isinstance(self.file, str) else list(self.file)


class ManifestGap(BaseModel):
    model_config = ConfigDict(extra="ignore")

    start: float  # meeting-clock seconds
    end: float | None = None  # None while it lasts, or when the recording ended in it
    note: str = ""


class Manifest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    meeting: str | None = None
    started_at: dt.datetime | None = None
    tracks: list[ManifestTrack] = Field(default_factory=list)
    ended_at: dt.datetime | None = None
    stop_reason: str | None = None
    gaps: list[ManifestGap] = Field(default_factory=list)

    @field_validator("started_at", "ended_at")
    @classmethod
    def _utc(cls, value):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)  # the format says UTC
        return value


def write_manifest(folder: str | Path, manifest: Manifest) -> Path:
    """Write `manifest` to folder/manifest.json atomically and durably: a reader never sees half a file, and after
    a crash (the recorder rewrites it during the call) it is either the old or the new one."""
    folder = Path(folder)
    data = manifest.model_dump(mode="json")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".manifest", suffix=".json")  # created 0600
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, ensure_ascii=False)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, folder / MANIFEST_NAME)
    try:  # the rename itself, durable
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass
    return folder / MANIFEST_NAME


def read_manifest(path: str | Path) -> Manifest:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordingError(f"{path.name}: cannot be read ({exc.__class__.__name__}: {exc})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RecordingError(
            f"{path.name}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    try:
        return Manifest.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "top level"
        raise RecordingError(f"{path.name}: {where}: {first['msg']}") from None


# ---- what the transcriber works on ----------------------------------------------------------------------------


@dataclass(slots=True)
class TrackPart:
    path: Path
    offset: float | None  # seconds on the meeting timeline; None: right after the previous part ends


@dataclass(slots=True)
class Track:
    speaker: str
    parts: list[TrackPart]
    user_id: str | None = None

    @property
    def name(self) -> str:
        """How warnings and progress name this track: its file name(s)."""
        return ", ".join(p.path.name for p in self.parts)


@dataclass(slots=True)
class Recording:
    path: Path
    tracks: list[Track]
    meeting: str | None = None
    started_at: dt.datetime | None = None
    mixed: bool = False  # one file with everybody: no speaker names
    warnings: list[str] = field(default_factory=list)
    gap_notes: list[str] = field(default_factory=list)  # stretches with no audio received (for the minutes' notes)

    @property
    def speakers(self) -> list[str]:
        return list(dict.fromkeys(t.speaker for t in self.tracks))


def read_recording(path: str | Path) -> Recording:
    """The tracks of a recording folder (with or without manifest.json) or of a single mixed audio file.

    Raises `RecordingError` when there is nothing to transcribe at all (no such path, an unreadable manifest, a
    folder without audio files). A listed file that is missing becomes a warning; the other tracks still count.
    """
    path = Path(path)
    if not path.exists():
        raise RecordingError(f"{path}: no such file or folder")
    if path.is_file():
        return Recording(path=path, tracks=[Track(MIXED_SPEAKER, [TrackPart(path, 0.0)])], mixed=True)
    manifest_path = path / MANIFEST_NAME
    if manifest_path.exists():
        return _from_manifest(path, read_manifest(manifest_path))
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
    if not files:
        raise RecordingError(f"{path}: no audio files ({', '.join(AUDIO_SUFFIXES)}) and no {MANIFEST_NAME}")
    tracks = [Track(p.stem, [TrackPart(p, 0.0)]) for p in files]
    return Recording(path=path, tracks=tracks)


def _from_manifest(folder: Path, manifest: Manifest) -> Recording:
    warnings: list[str] = []
    by_speaker: dict[str, Track] = {}
    listed: set[str] = set()
    for entry in manifest.tracks:
        parts: list[TrackPart] = []
        for i, name in enumerate(entry.files):
            listed.add(name)
            file = folder / name
            if not file.exists():
                warnings.append(f"{name}: listed in {MANIFEST_NAME} but missing")
                continue
            parts.append(TrackPart(file, entry.offset if i == 0 else None))
        if not parts:
            continue
        track = by_speaker.get(entry.speaker)
        if track is None:
            by_speaker[entry.speaker] = Track(entry.speaker, parts, entry.user_id)
        else:
            track.parts.extend(parts)
            track.user_id = track.user_id or entry.user_id
    for file in sorted(folder.iterdir()):
        if file.suffix.lower() in AUDIO_SUFFIXES and file.name not in listed:
            warnings.append(f"{file.name}: not listed in {MANIFEST_NAME}; ignored")
    for note in warnings:
        log.warning(note)
    if not by_speaker:
        detail = f" ({'; '.join(warnings)})" if warnings else ""
        raise RecordingError(f"{folder / MANIFEST_NAME}: lists no track that exists{detail}")
    return Recording(
        path=folder,
        tracks=list(by_speaker.values()),
        meeting=manifest.meeting,
        started_at=manifest.started_at,
        warnings=warnings,
        gap_notes=[gap.note for gap in manifest.gaps if gap.note],
    )
