"""Reading a call while it happens: its recording state and the transcript lines the live transcriber has written
so far (`transcript.live.jsonl` in the recording folder, tracker/live.py), for the web home's live page.

Lines of anyone who opted out — during this call (`tracker.optout`) or for good (`Member.recording_opt_out`) — are
left out, as everywhere else. When the live transcriber rewrites the file to forget someone, the file shrinks: the
reader notices and starts again from its beginning (`Chunk.reset`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import Session, col, select

from tracker import optout, public
from tracker.models import Meeting, MeetingState
from tracker.recording_files import LIVE_SEGMENTS

LIVE_STATES = (MeetingState.scheduled, MeetingState.recording)


@dataclass
class LiveMeeting:
    meeting_id: int
    title: str
    state: MeetingState
    folder: Path | None
    hidden: public.Hidden

    @property
    def live(self) -> bool:
        return self.state in LIVE_STATES


@dataclass
class Chunk:
    lines: list[dict] = field(default_factory=list)  # {"speaker", "start", "end", "text"}
    offset: int = 0  # where the next read starts
    reset: bool = False  # the file was rewritten: these lines replace all that were read before


def live_meeting(session: Session, meeting_id: int) -> LiveMeeting | None:
    meeting = session.get(Meeting, meeting_id)
    if meeting is None:
        return None
    folder = Path(meeting.recording_dir) if meeting.recording_dir else None
    return LiveMeeting(meeting_id, meeting.title, meeting.state, folder, public.hidden_speakers(session))


def read_lines(live: LiveMeeting, offset: int = 0) -> Chunk:
    """The whole lines written since `offset` (a line still being written waits for the next read)."""
    if live.folder is None:
        return Chunk(offset=offset)
    path = live.folder / LIVE_SEGMENTS
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return Chunk(offset=0, reset=offset > 0)
    reset = size < offset
    start = 0 if reset else offset
    with open(path, "rb") as f:
        f.seek(start)
        data = f.read(size - start)
    complete = data[: data.rfind(b"\n") + 1]
    opted_out = optout.load(live.folder)
    lines = []
    for raw in complete.splitlines():
        try:
            segment = json.loads(raw)
            speaker, track = str(segment["speaker"]), str(segment.get("track") or "")
            line = {
                "speaker": speaker,
                "start": float(segment["start"]),
                "end": float(segment["end"]),
                "text": str(segment["text"]),
            }
        except (ValueError, KeyError, TypeError):
            continue
        if live.hidden.hides(speaker, None) or optout.is_theirs(opted_out, speaker=speaker, track=track):
            continue
        lines.append(line)
    return Chunk(lines, start + len(complete), reset)


def recording_now(session: Session, group_id: int) -> Meeting | None:
    """The group's meeting being recorded, if any (the latest started, should there be two)."""
    return session.exec(
        select(Meeting)
        .where(Meeting.group_id == group_id, Meeting.state == MeetingState.recording)
        .order_by(col(Meeting.started_at).desc(), col(Meeting.id).desc())
    ).first()
