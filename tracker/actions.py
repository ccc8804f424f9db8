"""Action items: listing what is open, marking items done, giving them an owner.

Items come from the minutes with an owner *name* as it was said in the call: a label, nothing more. An item belongs
to the member in `owner_id`: the speaker whose Discord account said it in the call (their track knows the account,
`members.link_speakers`), or whoever claimed it or was assigned it. A display name proves nothing — anyone can rename
themselves "Alice" — so names never grant anything; an item without an owner can be taken (`assign` to oneself,
visibly) or closed by an organizer.
"""

from __future__ import annotations

import logging

from sqlmodel import Session, col, or_, select

from tracker.models import ActionItem, ItemStatus, Meeting, Member, WorkingGroup, utcnow
from transcripts.errors import UserError

log = logging.getLogger(__name__)

LIST_LIMIT = 25


class ActionError(UserError, ValueError):
    """An action-item request that cannot be honoured; the message is fit to show the user."""


def _in_group(group: WorkingGroup):
    """Items of this group's meetings, or added without a meeting."""
    return or_(col(ActionItem.meeting_id).is_(None), Meeting.group_id == group.id)


def _base(group: WorkingGroup, status: ItemStatus | None = ItemStatus.open):
    query = select(ActionItem).outerjoin(Meeting, col(ActionItem.meeting_id) == col(Meeting.id)).where(_in_group(group))
    if status is not None:
        query = query.where(ActionItem.status == status)
    return query.order_by(col(ActionItem.created_at), col(ActionItem.id))


def is_owner(item: ActionItem, member: Member) -> bool:
    return item.owner_id is not None and item.owner_id == member.id


def list_open(
    session: Session, group: WorkingGroup, owner: str | None = None, limit: int = LIST_LIMIT
) -> list[ActionItem]:
    """Open items, oldest first; `owner` matches the owner's name (part of it) or a linked member's name or login."""
    query = _base(group)
    if owner and owner.strip():
        pattern = f"%{_escape_like(owner.strip())}%"
        linked = select(Member.id).where(
            or_(
                col(Member.display_name).ilike(pattern, escape="\\"),
                col(Member.github_login).ilike(pattern, escape="\\"),
            )
        )
        query = query.where(
            or_(col(ActionItem.owner_name).ilike(pattern, escape="\\"), col(ActionItem.owner_id).in_(linked))
        )
    return list(session.exec(query.limit(limit)))


def mine(session: Session, group: WorkingGroup, member: Member, limit: int = LIST_LIMIT) -> list[ActionItem]:
    """The member's open items (owned by their account, whatever they are called now)."""
    query = _base(group).where(ActionItem.owner_id == member.id)
    return list(session.exec(query.limit(limit)))


def _get(session: Session, group: WorkingGroup, item_id: int) -> ActionItem:
    item = session.exec(_base(group, status=None).where(ActionItem.id == item_id)).first()
    if item is None:
        raise ActionError(f"there is no action item #{item_id}")
    return item


def mark_done(session: Session, group: WorkingGroup, item_id: int, by: Member, is_organizer: bool) -> ActionItem:
    """Close an item: its owner may, organizers may close anyone's."""
    item = _get(session, group, item_id)
    if item.status == ItemStatus.done:
        raise ActionError(f"action item #{item_id} is already done")
    if item.status != ItemStatus.open:
        raise ActionError(f"action item #{item_id} was {item.status.value}; it cannot be marked done")
    if not is_organizer and not is_owner(item, by):
        if item.owner_id is None:
            raise ActionError(
                f"action item #{item_id} ({item.owner_name or 'unassigned'}) is not linked to anyone's account yet: "
                "take it with /actions assign first, or ask an organizer"
            )
        raise ActionError(
            f"action item #{item_id} belongs to {item.owner_name}: only they or an organizer can mark it done"
        )
    item.status = ItemStatus.done
    item.closed_at = item.updated_at = utcnow()
    session.add(item)
    session.flush()
    log.info("action item %s done (by member %s)", item.id, by.id)
    return item


def assign(
    session: Session, group: WorkingGroup, item_id: int, to: Member, by: Member, is_organizer: bool
) -> ActionItem:
    """Give an item an owner. Organizers assign anything to anyone; others can only take an item themselves when
    it is unowned or already theirs."""
    item = _get(session, group, item_id)
    if item.status != ItemStatus.open:
        raise ActionError(f"action item #{item_id} is {item.status.value}; only open items can be assigned")
    if not is_organizer:
        if to.id != by.id:
            raise ActionError("only organizers can assign action items to someone else (you can take one yourself)")
        if item.owner_id is not None and item.owner_id != by.id:
            raise ActionError(
                f"action item #{item_id} is assigned to {item.owner_name}: ask an organizer to reassign it"
            )
    item.owner_id = to.id
    item.owner_name = to.display_name
    item.updated_at = utcnow()
    session.add(item)
    session.flush()
    log.info("action item %s assigned to member %s (by member %s)", item.id, to.id, by.id)
    return item


def owner_names(session: Session, group: WorkingGroup, prefix: str = "", limit: int = 25) -> list[str]:
    """Distinct owner names of open items starting with `prefix` (for autocompletion)."""
    query = (
        _base(group)
        .with_only_columns(col(ActionItem.owner_name))
        .distinct()
        .order_by(None)
        .order_by(col(ActionItem.owner_name))
    )
    if prefix:
        query = query.where(col(ActionItem.owner_name).ilike(f"{_escape_like(prefix)}%", escape="\\"))
    return list(session.exec(query.limit(limit)))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
