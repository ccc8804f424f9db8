"""The wish list: features and changes people would like, added by hand (`/wishlist add`) or found in the minutes."""

from __future__ import annotations

import logging

from sqlmodel import Session, col, or_, select

from tracker.models import ItemStatus, Meeting, Member, WishlistEntry, WorkingGroup
from transcripts.errors import UserError

log = logging.getLogger(__name__)

MIN_TITLE = 3
MAX_TITLE = 200
MAX_DETAILS = 2000
LIST_LIMIT = 20


class WishlistError(UserError, ValueError):
    """A wish-list request that cannot be honoured; the message is fit to show the user."""


def add_entry(
    session: Session, group: WorkingGroup, title: str, details: str | None = None, added_by: Member | None = None
) -> WishlistEntry:
    title = " ".join(title.split())
    details = (details or "").strip()
    if len(title) < MIN_TITLE:
        raise WishlistError(f"the title is too short (at least {MIN_TITLE} characters)")
    if len(title) > MAX_TITLE:
        raise WishlistError(f"the title is too long ({len(title)} characters, at most {MAX_TITLE})")
    if len(details) > MAX_DETAILS:
        raise WishlistError(f"the details are too long ({len(details)} characters, at most {MAX_DETAILS})")
    duplicate = session.exec(
        select(WishlistEntry).where(WishlistEntry.status == ItemStatus.open, col(WishlistEntry.title).ilike(title))
    ).first()
    if duplicate is not None:
        raise WishlistError(f"“{duplicate.title}” is already on the wish list (#{duplicate.id})")
    entry = WishlistEntry(title=title, details=details, added_by_id=added_by.id if added_by else None)
    session.add(entry)
    session.flush()
    log.info("wish-list entry %s added", entry.id)
    return entry


def list_entries(session: Session, group: WorkingGroup, limit: int = LIST_LIMIT) -> list[WishlistEntry]:
    """Open entries, newest first."""
    query = (
        select(WishlistEntry)
        .outerjoin(Meeting, col(WishlistEntry.meeting_id) == col(Meeting.id))
        .where(
            WishlistEntry.status == ItemStatus.open,
            or_(col(WishlistEntry.meeting_id).is_(None), Meeting.group_id == group.id),
        )
        .order_by(col(WishlistEntry.created_at).desc(), col(WishlistEntry.id).desc())
        .limit(limit)
    )
    return list(session.exec(query))
