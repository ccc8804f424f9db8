"""The next meeting's agenda: topics people add before the call, and the digest posted the day before.

"The next meeting" is the first scheduled occurrence that has not started yet (skipped ones excluded), so a topic
added during a call goes to the following one.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from sqlmodel import Session, col, or_, select

from tracker import schedule
from tracker.models import (
    ActionItem,
    AgendaItem,
    ItemStatus,
    Meeting,
    Member,
    WishlistEntry,
    WorkingGroup,
    as_utc,
    saved_id,
)
from transcripts.errors import UserError

log = logging.getLogger(__name__)

MAX_TOPIC = 200
MAX_PRESENTER = 80
MAX_ITEMS = 25  # per meeting: more would not fit one Discord embed, nor one call
DIGEST_ACTIONS = 15
DIGEST_WISHES = 10
WISH_WINDOW = dt.timedelta(days=30)  # "recent" wish-list entries in the digest


class AgendaError(UserError, ValueError):
    """An agenda request that cannot be honoured; the message is fit to show the user."""


@dataclass
class Agenda:
    occurrence: schedule.Occurrence
    meeting_id: int | None
    items: list[AgendaItem] = field(default_factory=list)


@dataclass
class AgendaDigest:
    """What the day-before post shows: the collected topics, open action items, recent wishes."""

    occurrence: schedule.Occurrence
    meeting_id: int
    items: list[AgendaItem]
    open_actions: list[ActionItem]
    recent_wishes: list[WishlistEntry]


def upcoming(session: Session, group: WorkingGroup, after: dt.datetime | None = None) -> schedule.Occurrence:
    """The next meeting that has not started yet."""
    after = as_utc(after) if after else schedule.now()
    for occ in schedule.next_occurrences(session, group, count=3, after=after):
        if occ.start > after:
            return occ
    raise AgendaError("there is no upcoming meeting (the series has ended)")


def add_item(
    session: Session, group: WorkingGroup, topic: str, presenter: str | None = None, added_by: Member | None = None
) -> tuple[AgendaItem, schedule.Occurrence]:
    """Add a topic to the next meeting's agenda."""
    topic = " ".join(topic.split())
    presenter = " ".join(presenter.split()) if presenter else None
    if not topic:
        raise AgendaError("the topic is empty")
    if len(topic) > MAX_TOPIC:
        raise AgendaError(f"the topic is too long ({len(topic)} characters, at most {MAX_TOPIC})")
    if presenter and len(presenter) > MAX_PRESENTER:
        raise AgendaError(f"the presenter's name is too long (at most {MAX_PRESENTER} characters)")
    occ = upcoming(session, group)
    meeting = schedule.meeting_for(session, group, occ)
    meeting_id = saved_id(meeting)
    existing = _items(session, meeting_id)
    if len(existing) >= MAX_ITEMS:
        raise AgendaError(f"the agenda of {occ.start:%Y-%m-%d} is full ({MAX_ITEMS} topics)")
    if any(item.topic.casefold() == topic.casefold() for item in existing):
        raise AgendaError(f"“{topic}” is already on the agenda of {occ.start:%Y-%m-%d}")
    item = AgendaItem(
        meeting_id=meeting_id, topic=topic, presenter=presenter or None, added_by_id=added_by.id if added_by else None
    )
    session.add(item)
    session.flush()
    return item, occ


def _items(session: Session, meeting_id: int | None) -> list[AgendaItem]:
    if meeting_id is None:
        return []
    return list(
        session.exec(select(AgendaItem).where(AgendaItem.meeting_id == meeting_id).order_by(col(AgendaItem.id)))
    )


def list_items(session: Session, group: WorkingGroup) -> Agenda:
    """The next meeting and the topics collected for it so far."""
    occ = upcoming(session, group)
    return Agenda(occ, occ.meeting_id, _items(session, occ.meeting_id))


def remove_item(session: Session, group: WorkingGroup, item_id: int, by: Member, is_organizer: bool) -> AgendaItem:
    """Remove a topic: whoever added it may, organizers may remove any."""
    item = session.get(AgendaItem, item_id)
    meeting = session.get(Meeting, item.meeting_id) if item else None
    if item is None or meeting is None or meeting.group_id != group.id:
        raise AgendaError(f"there is no agenda item #{item_id}")
    if not is_organizer and item.added_by_id != by.id:
        raise AgendaError(f"agenda item #{item_id} was added by someone else: only they or an organizer can remove it")
    if as_utc(meeting.scheduled_start) <= schedule.now():
        raise AgendaError(f"agenda item #{item_id} belongs to a meeting that has already started")
    session.delete(item)
    session.flush()
    return item


def digest(session: Session, group: WorkingGroup, occurrence: schedule.Occurrence) -> AgendaDigest:
    """The agenda post for `occurrence`: its topics, the open action items, the wish-list entries of the last month."""
    meeting = schedule.meeting_for(session, group, occurrence)
    actions = session.exec(
        select(ActionItem)
        .outerjoin(Meeting, col(ActionItem.meeting_id) == col(Meeting.id))
        .where(
            ActionItem.status == ItemStatus.open,
            or_(col(ActionItem.meeting_id).is_(None), Meeting.group_id == group.id),
        )
        .order_by(col(ActionItem.created_at), col(ActionItem.id))
        .limit(DIGEST_ACTIONS)
    )
    since = occurrence.start - WISH_WINDOW
    wishes = session.exec(
        select(WishlistEntry)
        .where(WishlistEntry.status == ItemStatus.open, col(WishlistEntry.created_at) >= since)
        .order_by(col(WishlistEntry.created_at).desc(), col(WishlistEntry.id).desc())
        .limit(DIGEST_WISHES)
    )
    meeting_id = saved_id(meeting)
    return AgendaDigest(occurrence, meeting_id, _items(session, meeting_id), list(actions), list(wishes))
