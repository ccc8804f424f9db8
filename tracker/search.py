"""Reading the past: the minutes of one meeting, and a word search over transcripts and minutes.

The search is a case-insensitive substring match of every word (LIKE/ILIKE), the same on SQLite and PostgreSQL;
a working group's archive is small enough that an index-free scan answers in milliseconds.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass

from sqlalchemy import String, and_, cast, or_
from sqlmodel import Session, col, select

from tracker import schedule
from tracker.models import (
    Meeting,
    MinutesRecord,
    Publication,
    PublicationKind,
    PublicationState,
    TranscriptSegment,
    WorkingGroup,
)

log = logging.getLogger(__name__)

MAX_TERMS = 8
MIN_TERM = 2
SNIPPET = 180


class SearchError(ValueError):
    """A search or minutes request that cannot be answered; the message is fit to show the user."""


@dataclass(frozen=True)
class SearchHit:
    meeting_id: int
    meeting_start: dt.datetime  # aware UTC
    kind: str  # "transcript" or "minutes"
    snippet: str
    speaker: str | None = None
    at: float | None = None  # seconds from the meeting start (transcript hits)


def _terms(words: str) -> list[str]:
    terms = [t for t in re.findall(r"[\w'#+.-]+", words.casefold()) if len(t) >= MIN_TERM]
    unique = list(dict.fromkeys(terms))
    if not unique:
        raise SearchError(f"give at least one word of {MIN_TERM} or more letters to search for")
    return unique[:MAX_TERMS]


def _like(column, term: str):
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.ilike(f"%{escaped}%", escape="\\")


def snippet(text: str, terms: list[str], width: int = SNIPPET) -> str:
    """A window of `text` around the first term found, with ellipses where it was cut."""
    flat = " ".join(text.split())
    lowered = flat.casefold()
    first = min((i for i in (lowered.find(t) for t in terms) if i >= 0), default=0)
    start = max(0, first - width // 3)
    end = min(len(flat), start + width)
    start = max(0, min(start, end - width))
    return ("…" if start else "") + flat[start:end].strip() + ("…" if end < len(flat) else "")


def search(session: Session, group: WorkingGroup, words: str, limit: int = 10) -> list[SearchHit]:
    """Transcript segments and minutes containing every word, newest meeting first."""
    terms = _terms(words)
    segments = session.exec(
        select(TranscriptSegment, Meeting)
        .join(Meeting, col(TranscriptSegment.meeting_id) == col(Meeting.id))
        .where(Meeting.group_id == group.id, and_(*(_like(col(TranscriptSegment.text), t) for t in terms)))
        .order_by(col(Meeting.scheduled_start).desc(), col(TranscriptSegment.start))
        .limit(limit)
    ).all()
    fields = (
        col(MinutesRecord.summary),
        col(MinutesRecord.long_summary),
        cast(MinutesRecord.decisions, String),
        cast(MinutesRecord.next_topics, String),
        cast(MinutesRecord.notes, String),
    )
    # Each word may be in any part of the minutes.
    minutes = session.exec(
        select(MinutesRecord, Meeting)
        .join(Meeting, col(MinutesRecord.meeting_id) == col(Meeting.id))
        .where(Meeting.group_id == group.id, and_(*(_any_field(fields, t) for t in terms)))
        .order_by(col(Meeting.scheduled_start).desc())
        .limit(limit)
    ).all()
    hits: list[SearchHit] = []
    for record, meeting in minutes:
        text = " ".join([record.summary, record.long_summary, *record.decisions, *record.next_topics, *record.notes])
        hits.append(SearchHit(meeting.id, schedule.aware(meeting.scheduled_start), "minutes", snippet(text, terms)))
    for segment, meeting in segments:
        hits.append(
            SearchHit(
                meeting.id,
                schedule.aware(meeting.scheduled_start),
                "transcript",
                snippet(segment.text, terms),
                segment.speaker,
                segment.start,
            )
        )
    # Newest meeting first; within a meeting the minutes, then the transcript in time order.
    hits.sort(key=lambda h: (-h.meeting_start.timestamp(), h.kind != "minutes", h.at or 0.0))
    return hits[:limit]


def _any_field(fields, term: str):
    return or_(*(_like(f, term) for f in fields))


@dataclass(frozen=True)
class PastMinutes:
    meeting: Meeting
    minutes: MinutesRecord
    archive_url: str | None = None  # the published minutes in the repository, once the archive step is done


def _archive_url(session: Session, meeting_id: int) -> str | None:
    return session.exec(
        select(Publication.external_url).where(
            Publication.meeting_id == meeting_id,
            Publication.kind == PublicationKind.archive,
            Publication.state == PublicationState.done,
        )
    ).first()


def minutes_for(session: Session, group: WorkingGroup, day: dt.date | None = None) -> PastMinutes:
    """The minutes of the meeting held on `day` (UTC), or of the latest meeting that has minutes."""
    query = (
        select(MinutesRecord, Meeting)
        .join(Meeting, col(MinutesRecord.meeting_id) == col(Meeting.id))
        .where(Meeting.group_id == group.id)
        .order_by(col(Meeting.scheduled_start).desc())
    )
    if day is None:
        row = session.exec(query).first()
        if row is None:
            raise SearchError("no meeting has minutes yet")
        return PastMinutes(row[1], row[0], _archive_url(session, row[1].id))
    start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    row = session.exec(
        query.where(col(Meeting.scheduled_start) >= start, col(Meeting.scheduled_start) < start + dt.timedelta(days=1))
    ).first()
    if row is None:
        held = session.exec(
            select(Meeting).where(
                Meeting.group_id == group.id,
                col(Meeting.scheduled_start) >= start,
                col(Meeting.scheduled_start) < start + dt.timedelta(days=1),
            )
        ).first()
        if held is None:
            raise SearchError(f"there was no meeting on {day.isoformat()}")
        raise SearchError(f"the meeting of {day.isoformat()} has no minutes yet ({held.state.value})")
    return PastMinutes(row[1], row[0], _archive_url(session, row[1].id))


def days_with_minutes(session: Session, group: WorkingGroup, limit: int = 25) -> list[dt.date]:
    """The dates of the latest meetings that have minutes (for autocompletion)."""
    rows = session.exec(
        select(Meeting.scheduled_start)
        .join(MinutesRecord, col(MinutesRecord.meeting_id) == col(Meeting.id))
        .where(Meeting.group_id == group.id)
        .order_by(col(Meeting.scheduled_start).desc())
        .limit(limit)
    ).all()
    return [start.date() for start in rows]
