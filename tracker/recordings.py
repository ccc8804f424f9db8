"""The recording step of a meeting's life: which meeting a recording belongs to, and its state before and after.

`begin` picks the meeting being held now (a scheduled one starting within the hour or under way, else an ad-hoc
meeting), marks it `recording` and names its folder; `finish` marks it `recorded` (or `failed`) so the pipeline can
take it from there. At most one meeting of a group records at a time.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session, col, select

from tracker import schedule
from tracker.models import Meeting, MeetingState, WorkingGroup, as_utc, saved_id, utcnow
from transcripts.errors import UserError

log = logging.getLogger(__name__)

EARLY_START = dt.timedelta(minutes=60)  # a recording started this long before a scheduled meeting belongs to it


class RecordingError(UserError, ValueError):
    """A recording request that cannot be honoured; the message is fit to show the user."""


def active(session: Session, group: WorkingGroup) -> Meeting | None:
    return session.exec(
        select(Meeting).where(Meeting.group_id == group.id, Meeting.state == MeetingState.recording)
    ).first()


def current_occurrence(
    session: Session, group: WorkingGroup, at: dt.datetime | None = None
) -> schedule.Occurrence | None:
    """The scheduled meeting under way at `at`, or starting within the hour."""
    at = as_utc(at) if at else schedule.now()
    for occ in schedule.next_occurrences(session, group, count=2, after=at):
        if occ.start - EARLY_START <= at < occ.end:
            return occ
    return None


def folder_name(meeting: Meeting) -> str:
    return f"{meeting.scheduled_start:%Y.%m.%d}-m{meeting.id}"


def begin(session: Session, group: WorkingGroup, recordings_dir: Path, at: dt.datetime | None = None) -> Meeting:
    """Mark the meeting held now as recording and give it a folder under `recordings_dir`."""
    at = as_utc(at) if at else schedule.now()
    running = active(session, group)
    if running is not None:
        raise RecordingError(f"already recording the meeting of {running.scheduled_start:%Y-%m-%d %H:%M} UTC")
    occ = current_occurrence(session, group, at)
    if occ is not None:
        meeting = schedule.meeting_for(session, group, occ)
    else:
        meeting = Meeting(
            group_id=saved_id(group),
            occurrence_start=None,  # ad hoc: not a slot of the weekly series
            scheduled_start=at,
            duration_minutes=group.duration_minutes,
            title=f"{group.title} (unscheduled)",
        )
        session.add(meeting)
        session.flush()
    if meeting.state != MeetingState.scheduled:
        raise RecordingError(
            f"the meeting of {meeting.scheduled_start:%Y-%m-%d} cannot be recorded again (it is {meeting.state.value})"
        )
    meeting.state = MeetingState.recording
    meeting.state_reason = None
    meeting.started_at = at
    meeting.recording_dir = str(Path(recordings_dir) / folder_name(meeting))
    meeting.updated_at = utcnow()
    session.add(meeting)
    session.flush()
    log.info("meeting %s recording into %s", meeting.id, meeting.recording_dir)
    return meeting


def finish(session: Session, meeting_id: int, ok: bool, reason: str, at: dt.datetime | None = None) -> Meeting:
    """The recording of `meeting_id` ended: `recorded` when there is audio to process, else `failed` with `reason`."""
    meeting = session.get(Meeting, meeting_id)
    if meeting is None:
        raise RecordingError(f"there is no meeting #{meeting_id}")
    if meeting.state != MeetingState.recording:
        return meeting  # already finished (a second stop, or the recorder ended it first)
    meeting.state = MeetingState.recorded if ok else MeetingState.failed
    meeting.state_reason = reason
    meeting.ended_at = at if at else utcnow()
    meeting.updated_at = utcnow()
    session.add(meeting)
    session.flush()
    log.info("meeting %s recording ended: %s (%s)", meeting.id, meeting.state.value, reason)
    return meeting


@dataclass
class Status:
    next: schedule.Occurrence | None
    recording: Meeting | None
    last: Meeting | None  # the latest meeting that was held (recorded or further along, or failed)


def status(session: Session, group: WorkingGroup) -> Status:
    last = session.exec(
        select(Meeting)
        .where(
            Meeting.group_id == group.id, col(Meeting.state).not_in([MeetingState.scheduled, MeetingState.cancelled])
        )
        .order_by(col(Meeting.scheduled_start).desc())
    ).first()
    upcoming = [o for o in schedule.next_occurrences(session, group, count=2) if o.start > schedule.now()]
    return Status(upcoming[0] if upcoming else None, active(session, group), last)


def agenda_topics(session: Session, meeting_id: int) -> list[str]:
    """The meeting's agenda topics: hints for the live transcriber."""
    from tracker.models import AgendaItem

    return list(
        session.exec(select(AgendaItem.topic).where(AgendaItem.meeting_id == meeting_id).order_by(col(AgendaItem.id)))
    )


def published_times(session: Session) -> dict[str, dt.datetime]:
    """Recording folder name → when that meeting's minutes were published (retention counts from then)."""
    meetings = session.exec(select(Meeting).where(Meeting.state == MeetingState.published)).all()
    return {folder_name(m): m.updated_at for m in meetings}
