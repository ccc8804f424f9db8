"""What the bot has already created on Discord for a meeting, so that a job that fires again creates nothing twice.

- The scheduled event's id is kept on `Meeting.discord_event_id`: creating it again means updating it.
- Each announcement (agenda, reminder) is a `Publication` row of kind `discord_message` with the key
  `m{meeting_id}-{what}`, written `done` once the message exists. The row is written only after a successful post
  (a pending row would be picked up by the outbox publisher, which does not know these messages); the bot closes the
  gap between "posted" and "recorded" by looking for the key in the channel before posting again.
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from tracker.models import Meeting, Publication, PublicationKind, PublicationState, WorkingGroup, utcnow

log = logging.getLogger(__name__)


def announcement_key(meeting_id: int, what: str) -> str:
    return f"m{meeting_id}-{what}"


def posted(session: Session, key: str) -> Publication | None:
    """The record of announcement `key`, if it was posted."""
    return session.exec(
        select(Publication).where(Publication.idempotency_key == key, Publication.state == PublicationState.done)
    ).first()


def record_posted(
    session: Session, meeting_id: int, key: str, channel_id: int, message_id: int, url: str | None = None
) -> Publication:
    """Remember that announcement `key` is message `message_id` in `channel_id` (idempotent)."""
    row = session.exec(select(Publication).where(Publication.idempotency_key == key)).first()
    now = utcnow()
    if row is None:
        row = Publication(
            meeting_id=meeting_id,
            kind=PublicationKind.discord_message,
            target=f"discord:channel/{channel_id}",
            idempotency_key=key,
        )
    row.state = PublicationState.done
    row.attempts += 1
    row.external_id = str(message_id)
    row.external_url = url
    row.last_error = None
    row.done_at = row.updated_at = now
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:  # recorded meanwhile by another attempt: that record stands
        log.info("announcement %s was already recorded", key)
        existing = session.exec(select(Publication).where(Publication.idempotency_key == key)).one()
        return existing
    return row


def set_event_id(session: Session, meeting_id: int, event_id: int | None) -> Meeting:
    meeting = session.get(Meeting, meeting_id)
    if meeting is None:
        raise ValueError(f"there is no meeting #{meeting_id}")
    meeting.discord_event_id = event_id
    meeting.updated_at = utcnow()
    session.add(meeting)
    session.flush()
    return meeting


def meetings_with_events(session: Session, group: WorkingGroup) -> list[Meeting]:
    """Meetings that have a Discord scheduled event (to update or remove when the schedule changes)."""
    return list(
        session.exec(select(Meeting).where(Meeting.group_id == group.id, Meeting.discord_event_id.is_not(None)))  # type: ignore[union-attr]
    )
