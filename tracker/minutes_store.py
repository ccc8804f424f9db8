"""Store a meeting's transcript and minutes, and its outbox rows, in one transaction.

Either everything is saved — segments, minutes, action items, wish-list entries, links, and one `publication` row
per outward effect — or nothing is; so a crash can never leave minutes whose issues will not be filed, nor an
outbox row pointing at nothing.

Calling it again for the same meeting is safe: an identical call changes nothing; a changed one (minutes
re-generated, say) updates the items in place, matching them by owner and task (wishes by title), adds rows for new
items, drops items that were never published, and re-publishes in place what was already published.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, delete, select

from tracker import followthrough, search
from tracker.config import Settings
from tracker.db import Database
from tracker.models import (
    ActionItem,
    ItemStatus,
    Link,
    Meeting,
    MeetingState,
    Member,
    MinutesRecord,
    Publication,
    PublicationKind,
    PublicationState,
    TranscriptSegment,
    WishlistEntry,
    WorkingGroup,
    saved_id,
    utcnow,
)
from tracker.publishing.outbox import enqueue, republish
from transcripts.types import Minutes, Transcript

log = logging.getLogger(__name__)


class MeetingNotFound(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class Targets:
    """Where a meeting is published; None leaves that channel out (no rows are created for it)."""

    github_repo: str | None = None
    forum_topic_id: int | None = None
    discord_channel_id: int | None = None

    @classmethod
    def resolve(cls, group: WorkingGroup | None, settings: Settings | None) -> Targets:
        """The group's own settings first, then the configured defaults."""
        repo = (group.github_repo if group else None) or (settings.github.repo if settings else None)
        topic = (group.forum_topic_id if group else None) or (settings.forum.topic_id if settings else None)
        if settings is not None and not settings.forum.url:
            topic = None
        channel = (group.text_channel_id if group else None) or (settings.discord.text_channel_id if settings else None)
        return cls(github_repo=repo, forum_topic_id=topic, discord_channel_id=channel)


@dataclass(slots=True)
class StoredMinutes:
    meeting_id: int
    action_item_ids: list[int] = field(default_factory=list)
    wish_ids: list[int] = field(default_factory=list)
    publication_keys: list[str] = field(default_factory=list)
    changed: bool = False  # False: the same minutes were stored before, nothing was touched


def _norm(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.casefold()))


def _member_ids(session: Session) -> dict[str, int]:
    """Display names and GitHub logins (normalized) → member id, for names that identify one member only."""
    seen: dict[str, set[int]] = {}
    for member in session.exec(select(Member)).all():
        for name in (member.display_name, member.github_login):
            if name:
                seen.setdefault(_norm(name), set()).add(saved_id(member))
    return {name: next(iter(ids)) for name, ids in seen.items() if len(ids) == 1}


def member_id_for(session: Session, name: str) -> int | None:
    """The member a spoken or typed owner name means (display name or GitHub login), if exactly one matches."""
    return _member_ids(session).get(_norm(name))


def _action_key(meeting_id: int, item_id: int) -> str:
    return f"m{meeting_id}-action-{item_id}"


def _wish_key(meeting_id: int, wish_id: int) -> str:
    return f"m{meeting_id}-wish-{wish_id}"


def _never_attempted(row: Publication | None) -> bool:
    return row is None or (
        row.state == PublicationState.pending
        and row.attempts == 0
        and row.last_error is None
        and row.external_id is None
    )


def store_minutes(
    db: Database,
    meeting_id: int,
    minutes: Minutes,
    transcript: Transcript | None = None,
    *,
    settings: Settings | None = None,
    targets: Targets | None = None,
    model: str | None = None,
) -> StoredMinutes:
    """In one transaction: the transcript (if given), the minutes, the outbox rows, and the meeting `summarized`."""
    with db.session() as session:
        meeting = session.get(Meeting, meeting_id)
        if meeting is None:
            raise MeetingNotFound(f"meeting {meeting_id} does not exist")
        result = save_minutes(
            session, meeting, minutes, transcript=transcript, settings=settings, targets=targets, model=model
        )
        if meeting.state != MeetingState.summarized and (result.changed or meeting.state != MeetingState.published):
            meeting.state = MeetingState.summarized  # published again once its rows are done (the publisher sees to it)
            meeting.state_reason = None
            meeting.updated_at = utcnow()
            session.add(meeting)
        return result


def save_transcript(session: Session, meeting: Meeting, transcript: Transcript) -> bool:
    """Replace the meeting's transcript segments (inside the caller's transaction); False if they were the same."""
    meeting_id = saved_id(meeting)
    changed = _store_segments(session, meeting_id, transcript, _member_ids(session))
    if changed:
        search.index_meeting(session, meeting_id)
    return changed


def save_minutes(
    session: Session,
    meeting: Meeting,
    minutes: Minutes,
    *,
    transcript: Transcript | None = None,
    settings: Settings | None = None,
    targets: Targets | None = None,
    model: str | None = None,
) -> StoredMinutes:
    """The minutes, their items and links, and one outbox row per outward effect, inside the caller's transaction
    (the meeting's state is the caller's). Idempotent; see the module documentation for a changed second call."""
    meeting_id = saved_id(meeting)
    group = session.get(WorkingGroup, meeting.group_id)
    targets = targets or Targets.resolve(group, settings)
    members = _member_ids(session)
    result = StoredMinutes(meeting_id=meeting_id)
    changed = False
    if transcript is not None:
        changed |= _store_segments(session, meeting_id, transcript, members)
    changed |= _store_record(session, meeting_id, minutes, model)
    changed |= _store_links(session, meeting_id, minutes.links)
    changed |= _store_actions(session, meeting, minutes, members, targets, result)
    changed |= _store_wishes(session, meeting, minutes, targets, result)
    changed |= _enqueue_meeting_rows(session, meeting_id, targets, result, republish_done=changed)
    result.changed = changed
    if changed:
        search.index_meeting(session, meeting_id)
    log.info(
        "meeting %d: minutes stored (%s), %d publication row(s)",
        meeting_id,
        "changed" if changed else "unchanged",
        len(result.publication_keys),
    )
    return result


def enqueue_current_items(session: Session, meeting: Meeting, targets: Targets) -> StoredMinutes:
    """The outbox rows for what the meeting holds *now*: one issue row per open action item and wish (dropped ones
    get none), and the archive, forum post and Discord message. For minutes stored without rows (review mode, see
    tracker/review.py) once the organizers decided: the items as they edited them are published, unlike a second
    `save_minutes`, which would restore the original minutes. Idempotent (rows are keyed as `save_minutes` keys them).
    """
    meeting_id = saved_id(meeting)
    result = StoredMinutes(meeting_id=meeting_id)
    actions = session.exec(
        select(ActionItem)
        .where(ActionItem.meeting_id == meeting_id, ActionItem.status == ItemStatus.open)
        .order_by(col(ActionItem.id))
    ).all()
    wishes = session.exec(
        select(WishlistEntry)
        .where(WishlistEntry.meeting_id == meeting_id, WishlistEntry.status == ItemStatus.open)
        .order_by(col(WishlistEntry.id))
    ).all()
    result.action_item_ids = [saved_id(a) for a in actions]
    result.wish_ids = [saved_id(w) for w in wishes]
    if targets.github_repo:
        for item in actions:
            row = enqueue(
                session,
                kind=PublicationKind.action_issue,
                target=targets.github_repo,
                key=_action_key(meeting_id, saved_id(item)),
                meeting_id=meeting_id,
                subject_id=item.id,
            )
            result.publication_keys.append(row.idempotency_key)
        for wish in wishes:
            row = enqueue(
                session,
                kind=PublicationKind.wish_issue,
                target=targets.github_repo,
                key=_wish_key(meeting_id, saved_id(wish)),
                meeting_id=meeting_id,
                subject_id=wish.id,
            )
            result.publication_keys.append(row.idempotency_key)
    _enqueue_meeting_rows(session, meeting_id, targets, result, republish_done=False)
    # Items of earlier meetings reported done in this one: their issues are closed now that the review is over.
    reported = session.exec(
        select(ActionItem).where(ActionItem.done_in_meeting_id == meeting_id, ActionItem.status == ItemStatus.done)
    ).all()
    for item in reported:
        followthrough.enqueue_issue_close(session, item)
    log.info("meeting %d: %d publication row(s) for its current items", meeting_id, len(result.publication_keys))
    return result


def _store_segments(session: Session, meeting_id: int, transcript: Transcript, members: dict[str, int]) -> bool:
    existing = session.exec(
        select(TranscriptSegment)
        .where(TranscriptSegment.meeting_id == meeting_id)
        .order_by(col(TranscriptSegment.start), col(TranscriptSegment.id))
    ).all()
    new = transcript.by_start()
    as_tuple = lambda s: (s.speaker, round(float(s.start), 3), round(float(s.end), 3), s.text, s.track or "")  # noqa: E731
    if [as_tuple(s) for s in existing] == [as_tuple(s) for s in new]:
        return False
    session.exec(delete(TranscriptSegment).where(col(TranscriptSegment.meeting_id) == meeting_id))
    for seg in new:
        session.add(
            TranscriptSegment(
                meeting_id=meeting_id,
                speaker=seg.speaker,
                member_id=members.get(_norm(seg.speaker)),
                track=seg.track or "",
                start=round(float(seg.start), 3),
                end=round(float(seg.end), 3),
                text=seg.text,
            )
        )
    return True


def _store_record(session: Session, meeting_id: int, minutes: Minutes, model: str | None) -> bool:
    record = session.exec(select(MinutesRecord).where(MinutesRecord.meeting_id == meeting_id)).first()
    values: dict[str, Any] = {
        "summary": minutes.summary,
        "long_summary": minutes.long_summary,
        "decisions": list(minutes.decisions),
        "next_topics": list(minutes.next_topics),
        "notes": list(minutes.notes),
    }
    if record is None:
        session.add(MinutesRecord(meeting_id=meeting_id, model=model, **values))
        return True
    if all(getattr(record, k) == v for k, v in values.items()):
        return False
    for k, v in values.items():
        setattr(record, k, v)
    record.model = model or record.model
    session.add(record)
    return True


def _store_links(session: Session, meeting_id: int, links: list[str]) -> bool:
    existing = session.exec(select(Link).where(Link.meeting_id == meeting_id).order_by(col(Link.id))).all()
    unique = list(dict.fromkeys(links))
    if [link.url for link in existing] == unique:
        return False
    session.exec(delete(Link).where(col(Link.meeting_id) == meeting_id))
    for url in unique:
        session.add(Link(meeting_id=meeting_id, url=url))
    return True


def _row_for(session: Session, kind: PublicationKind, subject_id: int) -> Publication | None:
    return session.exec(
        select(Publication).where(Publication.kind == kind, Publication.subject_id == subject_id)
    ).first()


def _store_actions(
    session, meeting: Meeting, minutes: Minutes, members, targets: Targets, result: StoredMinutes
) -> bool:
    wanted = [
        (
            (_norm(a.owner), _norm(a.task)),
            {
                "owner_name": a.owner,
                "owner_id": members.get(_norm(a.owner)),
                "task": a.task,
                "due": a.due,
                "at": a.at,
                "excerpt": a.excerpt or None,
            },
        )
        for a in minutes.action_items
    ]
    return _sync_items(
        session,
        meeting,
        ActionItem,
        PublicationKind.action_issue,
        _action_key,
        wanted,
        lambda a: (_norm(a.owner_name), _norm(a.task)),
        targets,
        result.action_item_ids,
        result,
    )


def _store_wishes(session, meeting: Meeting, minutes: Minutes, targets: Targets, result: StoredMinutes) -> bool:
    wanted = [
        (_norm(w.title), {"title": w.title, "details": w.details, "at": w.at, "excerpt": w.excerpt or None})
        for w in minutes.wishes
    ]
    return _sync_items(
        session,
        meeting,
        WishlistEntry,
        PublicationKind.wish_issue,
        _wish_key,
        wanted,
        lambda w: _norm(w.title),
        targets,
        result.wish_ids,
        result,
    )


def _sync_items(
    session,
    meeting: Meeting,
    model,
    kind: PublicationKind,
    key_for,
    wanted: list[tuple],
    identity,
    targets: Targets,
    ids: list[int],
    result: StoredMinutes,
) -> bool:
    """Make the meeting's items of `model` match `wanted` ((identity, fields) pairs): update in place what is the
    same item (re-publishing it when it changed), add what is new, and drop what is gone if it was never sent."""
    changed = False
    existing = session.exec(select(model).where(model.meeting_id == meeting.id).order_by(model.id)).all()
    by_identity = {identity(item): item for item in existing}
    kept: set[int] = set()
    for key, fields in wanted:
        item = by_identity.get(key)
        if item is None or item.id in kept:
            item = model(meeting_id=meeting.id, **fields)
            session.add(item)
            session.flush()
            changed = True
        elif any(getattr(item, k) != v for k, v in fields.items()):
            for k, v in fields.items():
                setattr(item, k, v)
            if hasattr(item, "updated_at"):
                item.updated_at = utcnow()
            session.add(item)
            changed = True
            republish(session, [r for r in [_row_for(session, kind, item.id)] if r])
        kept.add(item.id)
        ids.append(item.id)
        if targets.github_repo:
            row = enqueue(
                session,
                kind=kind,
                target=targets.github_repo,
                key=key_for(meeting.id, item.id),
                meeting_id=meeting.id,
                subject_id=item.id,
            )
            result.publication_keys.append(row.idempotency_key)
    for item in existing:
        if item.id in kept:
            continue
        gone_row = _row_for(session, kind, item.id)
        if _never_attempted(gone_row):  # gone from the new minutes and never sent anywhere: drop it
            if gone_row is not None:
                session.delete(gone_row)
            session.delete(item)
            changed = True
    return changed


def _enqueue_meeting_rows(
    session, meeting_id: int, targets: Targets, result: StoredMinutes, republish_done: bool
) -> bool:
    """The archive, forum post and Discord message; when the minutes changed, the done ones are edited in place."""
    wanted = []
    if targets.github_repo:
        wanted.append((PublicationKind.archive, targets.github_repo, f"m{meeting_id}-archive"))
    if targets.forum_topic_id:
        wanted.append((PublicationKind.forum_post, f"forum:topic/{targets.forum_topic_id}", f"m{meeting_id}-forum"))
    if targets.discord_channel_id:
        wanted.append(
            (
                PublicationKind.discord_message,
                f"discord:channel/{targets.discord_channel_id}",
                f"m{meeting_id}-discord-minutes",
            )
        )
    created = False
    for kind, target, key in wanted:
        before = session.exec(select(Publication).where(Publication.idempotency_key == key)).first()
        row = before or enqueue(session, kind=kind, target=target, key=key, meeting_id=meeting_id)
        created |= before is None
        if before is not None and republish_done:
            republish(session, [row])
        result.publication_keys.append(key)
    return created
