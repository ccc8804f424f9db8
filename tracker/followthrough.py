"""Follow-through between meetings: the real next meeting for "by the next meeting", the call's chat in the
minutes, the transcript files of a bot-recorded meeting, and open items reported done in a call.

"Done since last time": when someone says or types that an open action item of an earlier meeting is done ("last
week's item, the Akash deployment demo, is done", `#done the Akash demo`), the item is marked done, the minutes list
it, and its GitHub issue is closed with a comment quoting the line — through the outbox, exactly once
(`close_issue_key`). A line counts as a report only when it says done-ness ("done", "finished", "merged", "shipped",
"completed"…) and its words match one open item clearly better than every other (`MIN_MATCH`, `MARGIN`).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session, col, select

from tracker import actions, schedule, search, wishlist
from tracker.models import (
    ActionItem,
    ItemStatus,
    Meeting,
    Member,
    Publication,
    PublicationKind,
    WishlistEntry,
    WorkingGroup,
    as_utc,
    saved_id,
    utcnow,
)
from tracker.publishing.outbox import enqueue
from transcripts.minutes.chat_notes import ChatLine
from transcripts.minutes.summary import escape_markdown
from transcripts.minutes.words import content_words, idf_weights, support

log = logging.getLogger(__name__)

EXPORT_DIR = "transcripts"  # under the data folder: one folder per meeting with JSON, Markdown, WebVTT and SRT
MIN_MATCH = 0.6  # share (by rarity) of the item's words the line must contain
MARGIN = 0.2  # ... and this much more than for any other open item
_DONE = re.compile(
    r"\b(?:is|are|was|were|'s|got|has been|have been|now|all|already)\s+(?:\w+\s+)?"
    r"(?:done|finished|complete|completed|merged|shipped|deployed|closed|sorted|fixed|resolved|sent|published)\b"
    r"|\b(?:i|we|she|he|they|\w+)\s+(?:finished|completed|merged|shipped|closed|resolved|fixed|did)\b"
    r"|\b(?:done|finished|completed)\s+(?:with\s+)?(?:the|my|our|that|it)\b",
    re.IGNORECASE,
)
_NOT_DONE = re.compile(
    r"\b(?:not|n't|never|almost|nearly|half|partly|partially|yet to|still)\s+(?:\w+\s+)?"
    r"(?:done|finished|complete|completed|merged|shipped)\b|\bnot yet\b",
    re.IGNORECASE,
)


def next_meeting_date(session: Session, meeting: Meeting) -> dt.date | None:
    """The date of the group's next meeting after `meeting`, as scheduled now (skips and reschedules counted)."""
    group = session.get(WorkingGroup, meeting.group_id)
    if group is None:
        return None
    start = as_utc(meeting.scheduled_start)
    for occurrence in schedule.next_occurrences(session, group, count=4, after=start):
        if occurrence.meeting_id != meeting.id and occurrence.start > start:
            return occurrence.start.date()
    return None


def next_meeting_date_of(session: Session, meeting_id: int) -> dt.date | None:
    """`next_meeting_date` of the meeting with this id (None when there is none): the live read-ahead's, so that its
    answers resolve "by the next meeting" as the pipeline's minutes do."""
    meeting = session.get(Meeting, meeting_id)
    return next_meeting_date(session, meeting) if meeting else None


def next_meeting_on(session: Session, group: WorkingGroup, day: dt.date) -> dt.date | None:
    """For a meeting held on `day` that the database may not know (`wgbot process`): the next scheduled one."""
    end_of_day = dt.datetime.combine(day, dt.time.max, tzinfo=dt.UTC)
    found = schedule.next_occurrence(session, group, after=end_of_day)
    return found.start.date() if found else None


def export_dir(data_dir: Path | str, meeting: Meeting) -> Path:
    return Path(data_dir) / EXPORT_DIR / f"{as_utc(meeting.scheduled_start):%Y-%m-%d}-{meeting.id}"


def export_transcript(data_dir: Path | str, meeting: Meeting, transcript) -> dict[str, Path]:
    """The transcript files `wgbot process` writes (JSON, Markdown, WebVTT, SRT), for a bot-recorded meeting."""
    from transcripts.export import write_all

    return write_all(transcript, export_dir(data_dir, meeting), title=meeting.title)


# ---- done since last time ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DoneReport:
    item_id: int
    speaker: str
    at: float
    line: str  # what was said or typed, as it was
    in_chat: bool = False


def _open_items_before(session: Session, meeting: Meeting) -> list[ActionItem]:
    return list(
        session.exec(
            select(ActionItem)
            .join(Meeting, col(ActionItem.meeting_id) == col(Meeting.id))
            .where(
                Meeting.group_id == meeting.group_id,
                ActionItem.status == ItemStatus.open,
                col(Meeting.scheduled_start) < meeting.scheduled_start,
            )
            .order_by(col(ActionItem.id))
        ).all()
    )


def says_done(text: str) -> bool:
    return bool(_DONE.search(text)) and not _NOT_DONE.search(text)


def find_done_reports(
    session: Session, meeting: Meeting, lines: list[ChatLine], chat_done: Sequence[ChatLine] = ()
) -> list[DoneReport]:
    """Open items of earlier meetings that `lines` (the transcript, as ChatLine) or `#done` notes report done."""
    items = _open_items_before(session, meeting)
    if not items:
        return []
    weights = idf_weights([i.task for i in items])
    reports: dict[int, DoneReport] = {}
    candidates = [(line, False) for line in lines if says_done(line.text)]
    candidates += [(line, True) for line in chat_done]
    for line, in_chat in candidates:
        scored = sorted(((support(item.task, line.text, weights), item) for item in items), key=lambda s: -s[0])
        best, item = scored[0]
        runner_up = scored[1][0] if len(scored) > 1 else 0.0
        if best < MIN_MATCH or best - runner_up < MARGIN or len(content_words(item.task)) == 0:
            continue
        item_id = saved_id(item)
        if item_id not in reports:
            text = line.text if not in_chat else f"#done {line.text}"
            reports[item_id] = DoneReport(item_id, line.author, line.at, text, in_chat)
    return list(reports.values())


def mark_reported_done(session: Session, meeting: Meeting, reports: list[DoneReport]) -> list[ActionItem]:
    """Mark the reported items done, noting the line (the issue's closing comment quotes it)."""
    closed = []
    for report in reports:
        item = session.get(ActionItem, report.item_id)
        if item is None or item.status != ItemStatus.open:
            continue
        when = as_utc(meeting.started_at or meeting.scheduled_start) + dt.timedelta(seconds=report.at)
        where = "in the chat of" if report.in_chat else "in"
        item.status = ItemStatus.done
        item.closed_at = item.updated_at = utcnow()
        item.done_note = f"{report.speaker} {where} the meeting of {when:%Y-%m-%d %H:%M} UTC: “{report.line}”"
        item.done_in_meeting_id = meeting.id
        session.add(item)
        closed.append(item)
        log.info("action item %s reported done in meeting %s", item.id, meeting.id)
    session.flush()
    return closed


def member_names(session: Session) -> list[str]:
    return [m.display_name for m in session.exec(select(Member)).all() if m.display_name]


# ---- two-way sync: what changes here reaches GitHub through the outbox ------------------------------------------


def _issue_row(session: Session, item: ActionItem) -> Publication | None:
    return session.exec(
        select(Publication).where(Publication.kind == PublicationKind.action_issue, Publication.subject_id == item.id)
    ).first()


def _stamp(moment: dt.datetime | None) -> int:
    return int(as_utc(moment or utcnow()).timestamp())


def _enqueue_issue_update(session: Session, item: ActionItem, key: str) -> Publication | None:
    filed = _issue_row(session, item)
    if filed is None:
        return None
    return enqueue(
        session,
        kind=PublicationKind.issue_update,
        target=filed.target,
        key=key,
        meeting_id=item.meeting_id,
        subject_id=item.id,
    )


def enqueue_issue_close(session: Session, item: ActionItem) -> Publication | None:
    """The outbox row that closes the item's issue with a comment (None when the item was never filed). Keyed by
    the moment it was closed: the same closing is published once, a later re-close again."""
    return _enqueue_issue_update(session, item, f"a{item.id}-close-{_stamp(item.closed_at)}")


def enqueue_issue_assign(session: Session, item: ActionItem) -> Publication | None:
    return _enqueue_issue_update(session, item, f"a{item.id}-assign-{item.owner_id}-{_stamp(item.updated_at)}")


def mark_done(session: Session, group: WorkingGroup, item_id: int, by: Member, is_organizer: bool) -> ActionItem:
    """`/actions done`: the item is done here, and its issue is closed with a comment (through the outbox)."""
    item = actions.mark_done(session, group, item_id, by, is_organizer)
    item.done_note = f"marked done in Discord by {by.display_name} on {as_utc(item.closed_at):%Y-%m-%d}."
    session.add(item)
    enqueue_issue_close(session, item)
    if item.meeting_id is not None:
        search.index_meeting(session, item.meeting_id)
    return item


def assign(
    session: Session, group: WorkingGroup, item_id: int, to: Member, by: Member, is_organizer: bool
) -> ActionItem:
    """`/actions assign`: the new owner here, and as the issue's assignee when GitHub knows their login."""
    item = actions.assign(session, group, item_id, to, by, is_organizer)
    if to.github_login:
        enqueue_issue_assign(session, item)
    if item.meeting_id is not None:  # the owner's name is part of the item's searchable text
        search.index_meeting(session, item.meeting_id)
    return item


def add_wish(
    session: Session,
    group: WorkingGroup,
    title: str,
    details: str | None = None,
    added_by: Member | None = None,
    repo: str | None = None,
) -> WishlistEntry:
    """`/wishlist add`: the entry here, and on GitHub a wish-list issue — or a "raised again" comment on an open
    one that says the same (the de-duplication spoken wishes get: tracker/publishing/handlers.py)."""
    entry = wishlist.add_entry(session, group, title, details, added_by=added_by)
    repo = group.github_repo or repo
    if repo:
        enqueue(session, kind=PublicationKind.wish_issue, target=repo, key=f"w{entry.id}-wish", subject_id=entry.id)
    return entry


def with_done_section(session: Session, minutes, reports: list[DoneReport]):
    """The minutes with a "Done since last time" section listing the reported items (and who said so, when)."""
    if not reports:
        return minutes
    lines = ["### Done since last time", ""]
    for report in reports:
        item = session.get(ActionItem, report.item_id)
        if item is None:  # gone since it was reported (mark_reported_done skips it too)
            continue
        issue = f" (#{item.github_issue_number})" if item.github_issue_number else ""
        where = "chat" if report.in_chat else "call"
        minute = f"{int(report.at) // 3600:02d}:{int(report.at) % 3600 // 60:02d}:{int(report.at) % 60:02d}"
        esc = escape_markdown
        lines.append(
            f"- {esc(item.owner_name)}: {esc(item.task)}{issue} — {esc(report.speaker)} ({where}, {minute}): "
            f"“{esc(report.line)}”"
        )
    long_summary = (minutes.long_summary.rstrip() + "\n\n" if minutes.long_summary.strip() else "") + "\n".join(lines)
    return minutes.model_copy(update={"long_summary": long_summary})
