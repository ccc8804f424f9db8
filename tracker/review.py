"""Review mode: the organizers approve a meeting's action items and wishes before anything is filed.

With `review_mode` on (WorkingGroup.review_mode, from WGBOT_GROUP_REVIEW_MODE) the pipeline stores the minutes and
their items but no outbox rows, and *holds* the meeting (`review_state` pending, a deadline, and what happens when
the deadline passes). While held, organizers may change an action item's owner or due date and drop items (or take
a drop back). Approving — or the deadline passing — *releases* the meeting: the outbox rows are created for the items
as they are then (tracker.minutes_store.enqueue_current_items) and publishing goes on as without review. With the
default `drop`, the deadline drops every item still open first: no issue is filed, and the minutes (summary,
decisions, ...) are still archived and posted.

The deadline is enforced wherever the pipeline or the publisher runs: `expire_due` is called by the bot every minute,
by the pipeline's publish step and by `wgbot publish`. No Discord here: bot/exts/review.py is the face of it.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Literal, overload

from sqlmodel import Session, col, select

from tracker.config import Settings
from tracker.minutes_store import Targets, enqueue_current_items, member_id_for
from tracker.models import (
    ActionItem,
    ItemStatus,
    Meeting,
    MeetingState,
    Publication,
    PublicationState,
    ReviewDefault,
    ReviewState,
    WishlistEntry,
    WorkingGroup,
    as_utc,
    saved_id,
    utcnow,
)
from tracker.publishing.outbox import owned
from transcripts.errors import UserError

log = logging.getLogger(__name__)

ItemKind = Literal["action", "wish"]
OWNER_MAX = 80


class ReviewError(UserError, ValueError):
    """A review request that cannot be honoured; the message is fit to show the user."""


@dataclass(frozen=True, slots=True)
class ReviewItem:
    kind: ItemKind
    id: int
    text: str  # the task, or the wish's title
    owner: str | None = None  # action items only
    due: dt.date | None = None
    dropped: bool = False

    @property
    def ref(self) -> str:
        """`a12` / `w3`: how the Discord components name the item."""
        return f"{self.kind[0]}{self.id}"


@dataclass(slots=True)
class Review:
    """A meeting's review as the organizers see it."""

    meeting_id: int
    title: str
    day: dt.date
    state: ReviewState | None
    deadline: dt.datetime | None
    default: ReviewDefault | None
    message_id: int | None
    actions: list[ReviewItem] = field(default_factory=list)
    wishes: list[ReviewItem] = field(default_factory=list)

    @property
    def items(self) -> list[ReviewItem]:
        return self.actions + self.wishes

    @property
    def pending(self) -> bool:
        return self.state == ReviewState.pending


# ---- holding -----------------------------------------------------------------------------------------------------


def needs_review(group: WorkingGroup | None, action_count: int, wish_count: int) -> bool:
    """Minutes with something to file are held when the group reviews; minutes without items are not."""
    return bool(group and group.review_mode and (action_count or wish_count))


def hold(session: Session, meeting: Meeting, settings: Settings, now: dt.datetime | None = None) -> None:
    """Hold the meeting for review (inside the caller's transaction, beside its minutes stored without rows). The
    deadline and the default are fixed now: they are what the review message tells the organizers."""
    now = now or utcnow()
    meeting.review_state = ReviewState.pending
    meeting.review_deadline = now + dt.timedelta(hours=settings.group.review_timeout_hours)
    meeting.review_default = ReviewDefault(settings.group.review_default)
    meeting.updated_at = now
    session.add(meeting)
    log.info(
        "meeting %s: held for review until %s (then: %s)",
        meeting.id,
        meeting.review_deadline.isoformat(),
        meeting.review_default.value,
    )


# ---- reading -----------------------------------------------------------------------------------------------------


def _meeting(session: Session, meeting_id: int) -> Meeting:
    meeting = session.get(Meeting, meeting_id)
    if meeting is None:
        raise ReviewError(f"meeting {meeting_id} does not exist")
    return meeting


def _review(session: Session, meeting: Meeting) -> Review:
    meeting_id = saved_id(meeting)
    actions = session.exec(
        select(ActionItem).where(ActionItem.meeting_id == meeting_id).order_by(col(ActionItem.id))
    ).all()
    wishes = session.exec(
        select(WishlistEntry).where(WishlistEntry.meeting_id == meeting_id).order_by(col(WishlistEntry.id))
    ).all()
    return Review(
        meeting_id=meeting_id,
        title=meeting.title,
        day=as_utc(meeting.scheduled_start).date(),
        state=meeting.review_state,
        deadline=as_utc(meeting.review_deadline) if meeting.review_deadline else None,
        default=meeting.review_default,
        message_id=meeting.review_message_id,
        actions=[
            ReviewItem("action", saved_id(a), a.task, a.owner_name, a.due, a.status == ItemStatus.dropped)
            for a in actions
        ],
        wishes=[ReviewItem("wish", saved_id(w), w.title, dropped=w.status == ItemStatus.dropped) for w in wishes],
    )


def load(session: Session, meeting_id: int) -> Review:
    return _review(session, _meeting(session, meeting_id))


def for_message(session: Session, message_id: int) -> Review:
    """The review whose Discord message has this id (the buttons carry no meeting id: the message is the key)."""
    meeting = session.exec(select(Meeting).where(Meeting.review_message_id == message_id)).first()
    if meeting is None:
        raise ReviewError("this review message belongs to no meeting any more")
    return _review(session, meeting)


def set_message(session: Session, meeting_id: int, message_id: int | None) -> None:
    meeting = _meeting(session, meeting_id)
    meeting.review_message_id = message_id
    session.add(meeting)


# ---- changing items ----------------------------------------------------------------------------------------------


def _held(session: Session, meeting_id: int) -> Meeting:
    meeting = _meeting(session, meeting_id)
    if meeting.review_state != ReviewState.pending:
        what: dict[ReviewState | None, str] = {
            ReviewState.approved: "its items were approved",
            ReviewState.expired: "its deadline passed",
        }
        raise ReviewError(f"the review of this meeting is over: {what.get(meeting.review_state, 'it was not held')}")
    return meeting


@overload
def _item(session: Session, meeting: Meeting, kind: Literal["action"], item_id: int) -> ActionItem: ...
@overload
def _item(session: Session, meeting: Meeting, kind: ItemKind, item_id: int) -> ActionItem | WishlistEntry: ...
def _item(session: Session, meeting: Meeting, kind: ItemKind, item_id: int) -> ActionItem | WishlistEntry:
    item: ActionItem | WishlistEntry | None = (
        session.get(ActionItem, item_id) if kind == "action" else session.get(WishlistEntry, item_id)
    )
    if item is None or item.meeting_id != meeting.id:
        raise ReviewError(f"{'action item' if kind == 'action' else 'wish'} {item_id} is not one of this meeting's")
    return item


def parse_ref(ref: str) -> tuple[ItemKind, int]:
    """`a12` → ("action", 12); `w3` → ("wish", 3)."""
    kinds: dict[str, ItemKind] = {"a": "action", "w": "wish"}
    if len(ref) < 2 or ref[0] not in kinds or not ref[1:].isdigit():
        raise ReviewError(f"{ref[:20]!r} does not name an item")
    return kinds[ref[0]], int(ref[1:])


def parse_due(text: str | None) -> dt.date | None:
    """A due date as typed: YYYY-MM-DD, or nothing (or `none`, `-`) for no due date."""
    value = (text or "").strip()
    if value.lower() in ("", "none", "-"):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ReviewError(f"“{value[:40]}” is not a due date: use YYYY-MM-DD, or leave it empty for none") from None


def edit_action(session: Session, meeting_id: int, item_id: int, owner: str, due: str | None) -> ReviewItem:
    """Give a held action item another owner and/or due date (text as typed; see `parse_due`). The owner becomes the
    linked member when the name is one member's display name or GitHub login, so the issue is assigned to them."""
    meeting = _held(session, meeting_id)
    item = _item(session, meeting, "action", item_id)
    name = " ".join(owner.split())
    if not name:
        raise ReviewError("an action item needs an owner")
    if len(name) > OWNER_MAX:
        raise ReviewError(f"an owner's name has at most {OWNER_MAX} characters")
    item.due = parse_due(due)
    if name != item.owner_name:
        item.owner_name = name
        item.owner_id = member_id_for(session, name)
    item.updated_at = utcnow()
    session.add(item)
    log.info("meeting %s: action item %s now %s, due %s", meeting_id, item_id, item.owner_name, item.due)
    return ReviewItem("action", saved_id(item), item.task, item.owner_name, item.due, item.status == ItemStatus.dropped)


def set_dropped(session: Session, meeting_id: int, refs: list[str], dropped: bool | None = None) -> Review:
    """Drop the named items (`a12`, `w3`), or take a drop back; `dropped=None` toggles each. Nothing is filed for a
    dropped item, and it is left out of the published minutes."""
    meeting = _held(session, meeting_id)
    for ref in refs:
        kind, item_id = parse_ref(ref)
        item = _item(session, meeting, kind, item_id)
        drop = (item.status != ItemStatus.dropped) if dropped is None else dropped
        item.status = ItemStatus.dropped if drop else ItemStatus.open
        if isinstance(item, ActionItem):
            item.updated_at = utcnow()
        session.add(item)
        log.info("meeting %s: %s %s %s", meeting_id, kind, item_id, "dropped" if drop else "kept")
    session.flush()
    return _review(session, meeting)


# ---- releasing ---------------------------------------------------------------------------------------------------


def _release(
    session: Session, meeting: Meeting, state: ReviewState, settings: Settings | None, now: dt.datetime
) -> None:
    """Create the outbox rows for the items as they are now, and end the review."""
    if state == ReviewState.expired and meeting.review_default == ReviewDefault.drop:
        for model in (ActionItem, WishlistEntry):
            for item in session.exec(
                select(model).where(model.meeting_id == meeting.id, model.status == ItemStatus.open)
            ).all():
                item.status = ItemStatus.dropped
                session.add(item)
        session.flush()
    group = session.get(WorkingGroup, meeting.group_id)
    stored = enqueue_current_items(session, meeting, Targets.resolve(group, settings))
    meeting.review_state = state
    meeting.updated_at = now
    rows = session.exec(select(Publication).where(Publication.meeting_id == meeting.id)).all()
    waiting = [r for r in rows if owned(r) and r.state != PublicationState.done]  # not the agenda/reminder records
    if meeting.state == MeetingState.summarized and not waiting:
        meeting.state = MeetingState.published  # no destination is configured: nothing waits for the publisher
    session.add(meeting)
    log.info(
        "meeting %s: review %s; %d publication row(s) queued", meeting.id, state.value, len(stored.publication_keys)
    )


def approve(
    session: Session, meeting_id: int, settings: Settings | None = None, now: dt.datetime | None = None
) -> Review:
    """The organizers' "File all": the items still open are filed as they are now (with their edits), then the
    archive, forum post and Discord message follow."""
    meeting = _held(session, meeting_id)
    _release(session, meeting, ReviewState.approved, settings, now or utcnow())
    session.flush()
    return _review(session, meeting)


def expire_due(session: Session, now: dt.datetime | None = None, settings: Settings | None = None) -> list[int]:
    """Release every held meeting whose deadline has passed, applying its default; the ids of those meetings."""
    now = now or utcnow()
    due = session.exec(
        select(Meeting)
        .where(Meeting.review_state == ReviewState.pending, col(Meeting.review_deadline) <= now)
        .order_by(col(Meeting.id))
    ).all()
    for meeting in due:
        log.info(
            "meeting %s: nobody reviewed it by %s; applying the default (%s)",
            meeting.id,
            meeting.review_deadline,
            meeting.review_default.value if meeting.review_default else "file",
        )
        _release(session, meeting, ReviewState.expired, settings, now)
    return [saved_id(m) for m in due]


def unannounced(session: Session) -> list[int]:
    """Held meetings whose review message has not been posted yet."""
    ids = session.exec(
        select(Meeting.id)
        .where(Meeting.review_state == ReviewState.pending, col(Meeting.review_message_id).is_(None))
        .order_by(col(Meeting.id))
    ).all()
    return [meeting_id for meeting_id in ids if meeting_id is not None]  # a primary key: never NULL


def next_deadline(session: Session) -> dt.datetime | None:
    """When the earliest held meeting's review ends (the bot sleeps until then)."""
    deadline = session.exec(
        select(Meeting.review_deadline)
        .where(Meeting.review_state == ReviewState.pending)
        .order_by(col(Meeting.review_deadline))
    ).first()
    return as_utc(deadline) if deadline else None
