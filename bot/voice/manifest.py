"""The recording folder of one meeting: one Ogg/Opus file per speaker (and per restart), and `manifest.json`.

    {"meeting": "2026-11-26-weekly",
     "started_at": "2026-11-26T17:00:03.120000+00:00",          # ISO-8601, UTC: the meeting clock's zero
     "tracks": [{"file": "alice-1234.ogg", "speaker": "Alice", "user_id": "1234", "offset": 2.35},
                {"file": "alice-1234.part2.ogg", "speaker": "Alice", "user_id": "1234", "offset": 1830.5}],
     "ended_at": null, "stop_reason": null,                      # set when the recording stops cleanly
     "gaps": [{"start": 1390.2, "end": 1502.9, "note": "no audio received from 17:23 to 17:25 UTC"}]}

Timeline convention (what `transcripts/recording.py` relies on): `offset` is the meeting-clock time, in seconds
from `started_at`, of the file's first sample; inside a file the timeline is continuous — gaps between talk
spurts are filled with Opus silence frames and granule positions count samples from the file's own start — so
sample `i` of a decoded file is at meeting time `offset + i / 48000`. After a restart each speaker continues in a
new part file (`<name>.part2.ogg`, ...) with its own offset; a file is never appended to by a second process.

`gaps` are stretches of meeting time in which no audio reached the bot although people were unmuted and had been
heard (the recorder's receive watchdog; `end` is null while one lasts): what was said then is missing from every
track, and each gap's `note` is the sentence for the minutes' notes.

The manifest is rewritten atomically (temporary file, fsync, rename) whenever a track is added, so a crash leaves
either the old or the new manifest. A track file is created (with its offset in its Opus comments) before its
manifest entry; a file left without an entry by a crash in between is adopted when the folder is reopened.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path

from bot.voice.ogg_writer import TEMPORARY_SUFFIX, read_opus_packets, repair_tail
from transcripts.errors import RecordingError
from transcripts.recording import MANIFEST_NAME, Manifest, ManifestGap, ManifestTrack, read_manifest, write_manifest

__all__ = ["MANIFEST_NAME", "Gap", "RecordingFolder", "RecordingFolderError", "TrackEntry", "track_comments"]

log = logging.getLogger(__name__)

# Opus comments repeating the manifest entry inside each file, so a file can be identified (and adopted) alone.
TAG_MEETING, TAG_USER_ID, TAG_SPEAKER, TAG_OFFSET = "WGBOT_MEETING", "WGBOT_USER_ID", "WGBOT_SPEAKER", "WGBOT_OFFSET"


class RecordingFolderError(RuntimeError):
    """The folder's manifest cannot be read, or belongs to another meeting."""


@dataclass(slots=True)
class TrackEntry:
    file: str
    speaker: str
    user_id: str
    offset: float


@dataclass(slots=True)
class Gap:
    start: float  # meeting-clock seconds: the last audio before the gap
    end: float | None  # ... the first audio after it; None while it lasts (or if the recording ended in it)
    note: str


def gap_note(started_at: dt.datetime, start: float, end: float | None) -> str:
    """'no audio received from 17:23 to 17:25 UTC' (minutes are enough for the minutes' notes)."""
    first = (started_at + dt.timedelta(seconds=start)).astimezone(dt.UTC)
    if end is None:
        return f"no audio received from {first:%H:%M} UTC to the end of the recording"
    last = (started_at + dt.timedelta(seconds=end)).astimezone(dt.UTC)
    if f"{first:%H:%M}" == f"{last:%H:%M}":
        return f"no audio received from {first:%H:%M:%S} to {last:%H:%M:%S} UTC"
    return f"no audio received from {first:%H:%M} to {last:%H:%M} UTC"


def track_comments(meeting: str, user_id: int, speaker: str, offset: float) -> dict[str, str]:
    return {
        TAG_MEETING: meeting,
        TAG_USER_ID: str(user_id),
        TAG_SPEAKER: speaker,
        TAG_OFFSET: f"{offset:.6f}",
        "TITLE": f"{meeting} - {speaker}",
    }


def _slug(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:32].strip("-")
    return slug or "speaker"


class RecordingFolder:
    """Owns `manifest.json` of one meeting's folder. Methods are called from one thread at a time."""

    def __init__(self, path: Path, meeting: str, started_at: dt.datetime, tracks: list[TrackEntry]) -> None:
        self.path = Path(path)
        self.meeting = meeting
        self.started_at = started_at
        self.tracks = tracks
        self.ended_at: dt.datetime | None = None
        self.stop_reason: str | None = None
        self.gaps: list[Gap] = []
        self.resumed = False

    @property
    def manifest_path(self) -> Path:
        return self.path / MANIFEST_NAME

    @classmethod
    def open(cls, path: Path, meeting: str, *, now: dt.datetime | None = None) -> RecordingFolder:
        """Start a new recording folder, or resume the one a crashed or restarted recorder left for this meeting."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        manifest = path / MANIFEST_NAME
        if not manifest.exists():
            started = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
            folder = cls(path, meeting, started, [])
            folder._adopt_orphans()  # a crash before the very first manifest write
            folder.write_manifest()
            return folder
        try:
            stored = read_manifest(manifest)
        except RecordingError as exc:
            raise RecordingFolderError(f"{manifest}: not a readable recording manifest ({exc})") from exc
        if stored.started_at is None or stored.meeting is None:
            raise RecordingFolderError(f"{manifest}: not a recording manifest of wgbot's (no meeting or start time)")
        tracks = [TrackEntry(t.files[0], t.speaker, str(t.user_id), t.offset) for t in stored.tracks]
        recorded_meeting, started = stored.meeting, stored.started_at
        gaps = [Gap(g.start, g.end, g.note) for g in stored.gaps]
        if recorded_meeting != meeting:
            raise RecordingFolderError(
                f"{manifest}: belongs to meeting {recorded_meeting!r}, not {meeting!r}; choose another folder"
            )
        folder = cls(path, meeting, started, tracks)
        folder.gaps = gaps
        folder.resumed = True
        for leftover in path.glob(f"*.ogg{TEMPORARY_SUFFIX}"):  # a track a crash interrupted while it was created
            leftover.unlink(missing_ok=True)
        for entry in tracks:
            file = path / entry.file
            if file.exists():
                repair_tail(file)
        folder._adopt_orphans()
        folder.write_manifest()  # clears ended_at: the meeting is being recorded again
        log.info("resuming recording of %s in %s (%d tracks so far)", meeting, path, len(tracks))
        return folder

    def _adopt_orphans(self) -> None:
        known = {t.file for t in self.tracks}
        for file in sorted(self.path.glob("*.ogg")):
            if file.name in known:
                continue
            repair_tail(file)
            try:
                _packets, comments = read_opus_packets(file)
                entry = TrackEntry(file.name, comments[TAG_SPEAKER], comments[TAG_USER_ID], float(comments[TAG_OFFSET]))
            except (OSError, KeyError, ValueError, IndexError):
                log.warning("%s: an Ogg file without wgbot track comments; left out of the manifest", file)
                continue
            log.warning("%s: adopting a track file a crash left out of the manifest", file.name)
            self.tracks.append(entry)

    def new_track_path(self, user_id: int, speaker: str) -> Path:
        """A fresh file name for this speaker: `<name>-<id>.ogg`, then `.part2.ogg`, ... after restarts."""
        stem = f"{_slug(speaker)}-{user_id}"
        taken = {t.file for t in self.tracks} | {p.name for p in self._files_of(user_id)}
        name, part = f"{stem}.ogg", 1
        while name in taken:
            part += 1
            name = f"{stem}.part{part}.ogg"
        return self.path / name

    def _files_of(self, user_id: int) -> list[Path]:
        pattern = re.compile(rf"-{user_id}(\.part\d+)?\.ogg$")
        return [p for p in self.path.glob("*.ogg") if pattern.search(p.name)]

    def add_track(self, file: Path, user_id: int, speaker: str, offset: float) -> TrackEntry:
        entry = TrackEntry(Path(file).name, speaker, str(user_id), round(offset, 6))
        self.tracks.append(entry)
        self.write_manifest()
        return entry

    def remove_user(self, user_id: int) -> list[Path]:
        """Delete every track of `user_id` (all parts) and its manifest entries; used when someone opts out."""
        removed = []
        for entry in [t for t in self.tracks if t.user_id == str(user_id)]:
            file = self.path / entry.file
            file.unlink(missing_ok=True)
            removed.append(file)
            self.tracks.remove(entry)
        for stray in self._files_of(user_id):  # a part created but not yet in the manifest
            stray.unlink(missing_ok=True)
            removed.append(stray)
        self.write_manifest()
        return removed

    def record_gap(self, start: float, end: float | None) -> Gap:
        """A receive gap began at `start` (meeting seconds), or the open one ended at `end`; written at once."""
        if self.gaps and self.gaps[-1].end is None and self.gaps[-1].start == start:
            gap = self.gaps[-1]
            gap.end = end
        else:
            gap = Gap(start, end, "")
            self.gaps.append(gap)
        gap.note = gap_note(self.started_at, gap.start, gap.end)
        self.write_manifest()
        return gap

    def mark_stopped(self, reason: str, ended_at: dt.datetime | None = None) -> None:
        self.ended_at = (ended_at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
        self.stop_reason = reason
        for gap in self.gaps:  # a gap the recording ended in
            if gap.end is None:
                gap.note = gap_note(self.started_at, gap.start, None)
        self.write_manifest()

    def to_manifest(self) -> Manifest:
        return Manifest(
            meeting=self.meeting,
            started_at=self.started_at,
            tracks=[ManifestTrack(**asdict(t)) for t in self.tracks],
            ended_at=self.ended_at,
            stop_reason=self.stop_reason,
            gaps=[
                ManifestGap(start=round(g.start, 3), end=None if g.end is None else round(g.end, 3), note=g.note)
                for g in self.gaps
            ],
        )

    def write_manifest(self) -> None:
        write_manifest(self.path, self.to_manifest())
