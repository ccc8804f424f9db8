"""What the group published, read for its web home: published meetings, their minutes, items and transcripts.

Public means published: a meeting is shown once its state is `published` (its minutes went past review and out),
never before. Action items and wishes are shown when they belong to a published meeting or were filed as GitHub
issues. Transcript lines of members who opted out of recording are left out even if some reached the database
(the pipeline already drops them; this is the second lock on the door).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func
from sqlmodel import Session, col, or_, select

from tracker import schedule
from tracker.models import (
    ActionItem,
    AgendaItem,
    ItemStatus,
    Link,
    Meeting,
    MeetingState,
    Member,
    MinutesRecord,
    SearchDoc,
    TranscriptSegment,
    WishlistEntry,
    WorkingGroup,
    as_utc,
    saved_id,
)

PUBLISHED = MeetingState.published
_HEADING = re.compile(r"^\*\*(.+?)\*\*\s*$", re.MULTILINE)


@dataclass
class MeetingSummary:
    id: int
    slug: str  # the page's address: YYYY-MM-DD, or YYYY-MM-DD-ID when two published meetings share a day
    start: dt.datetime  # aware UTC
    title: str
    duration_seconds: float
    attendees: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)

    @property
    def date(self) -> str:
        return self.start.date().isoformat()


@dataclass
class ActionRow:
    item: ActionItem
    meeting: MeetingSummary | None
    overdue: bool


@dataclass
class WishRow:
    title: str
    details: str
    status: ItemStatus
    issue_url: str | None
    raised: list[tuple[MeetingSummary, float | None]]  # every published meeting that raised it, with the moment

    @property
    def count(self) -> int:
        return max(1, len(self.raised))


@dataclass
class MeetingPage:
    meeting: MeetingSummary
    minutes: MinutesRecord | None
    actions: list[ActionRow]
    wishes: list[WishlistEntry]
    links: list[Link]
    agenda: list[AgendaItem]
    segments: list  # rows with speaker, member_id, start, end, text
    previous: MeetingSummary | None = None
    following: MeetingSummary | None = None


@dataclass
class Upcoming:
    occurrence: schedule.Occurrence
    agenda: list[AgendaItem]


def _norm(text: str) -> str:
    return " ".join(re.findall(r"\w+", (text or "").casefold()))


def first_group(session: Session) -> WorkingGroup | None:
    """The working group (one per deployment: the first row, as `schedule.ensure_group` finds it)."""
    return session.exec(select(WorkingGroup).order_by(col(WorkingGroup.id))).first()


# ---- who may not be shown --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hidden:
    member_ids: frozenset[int]
    names: frozenset[str]

    def hides(self, speaker: str, member_id: int | None) -> bool:
        return (member_id is not None and member_id in self.member_ids) or _norm(speaker) in self.names


def hidden_speakers(session: Session) -> Hidden:
    """Members who opted out of recording: their words are never shown."""
    rows = session.exec(select(Member).where(col(Member.recording_opt_out).is_(True))).all()
    names = {_norm(n) for m in rows for n in (m.display_name, m.github_login) if n}
    return Hidden(frozenset(saved_id(m) for m in rows), frozenset(n for n in names if n))


# ---- meetings ----------------------------------------------------------------------------------------------------


def _published(session: Session, group: WorkingGroup) -> list[Meeting]:
    return list(
        session.exec(
            select(Meeting)
            .where(Meeting.group_id == group.id, Meeting.state == PUBLISHED)
            .order_by(col(Meeting.scheduled_start).desc(), col(Meeting.id).desc())
        )
    )


def _slugs(meetings: list[Meeting]) -> dict[int, str]:
    per_day: dict[dt.date, int] = defaultdict(int)
    for m in meetings:
        per_day[as_utc(m.scheduled_start).date()] += 1
    slugs: dict[int, str] = {}
    for m in meetings:
        day = as_utc(m.scheduled_start).date()
        mid = saved_id(m)
        slugs[mid] = day.isoformat() if per_day[day] == 1 else f"{day.isoformat()}-{mid}"
    return slugs


# The meeting list is what every page starts from, and computing its attendees reads every transcript line: it is
# kept per database and group, and computed again when a cheap fingerprint of what it depends on changes. It holds
# no minutes text (`summary_of` reads that fresh).
_kept: dict[tuple[str, int], tuple[tuple, list[MeetingSummary]]] = {}


def _fingerprint(session: Session, group: WorkingGroup) -> tuple:
    meetings = session.exec(
        select(func.count(col(Meeting.id)), func.sum(col(Meeting.id)), func.max(col(Meeting.updated_at))).where(
            Meeting.group_id == group.id, Meeting.state == PUBLISHED
        )
    ).one()
    members = session.exec(select(func.count(col(Member.id)), func.max(col(Member.updated_at)))).one()
    # Transcripts are replaced with new rows (tracker/minutes_store.py), so their newest id says they changed; a
    # count of the lines would read the whole table.
    lines = session.exec(select(func.max(col(TranscriptSegment.id)))).one()
    # Every change to a meeting's lines or minutes rebuilds its search texts (tracker.search.index_meeting: deleted
    # and inserted again), which moves their newest id: forgetting someone's lines shows here too.
    texts = session.exec(select(func.max(col(SearchDoc.id)))).one()
    agenda = session.exec(select(func.count(col(AgendaItem.id)), func.max(col(AgendaItem.id)))).one()
    minutes = session.exec(select(func.count(col(MinutesRecord.id)), func.max(col(MinutesRecord.id)))).one()
    return (*meetings, *members, lines, texts, *agenda, *minutes)


def published_meetings(session: Session, group: WorkingGroup) -> list[MeetingSummary]:
    """Every published meeting, newest first, with its attendees (speakers in the transcript) and topics."""
    key = (str(session.get_bind().engine.url), saved_id(group))
    fingerprint = _fingerprint(session, group)
    kept = _kept.get(key)
    if kept is not None and kept[0] == fingerprint:
        return kept[1]
    summaries = _summaries(session, group)
    _kept[key] = (fingerprint, summaries)
    return summaries


def _summaries(session: Session, group: WorkingGroup) -> list[MeetingSummary]:
    meetings = _published(session, group)
    if not meetings:
        return []
    ids = [saved_id(m) for m in meetings]
    hidden = hidden_speakers(session)
    speakers: dict[int, list[str]] = defaultdict(list)
    ends: dict[int, float] = {}
    rows = session.exec(
        select(  # type: ignore[call-overload]  # sqlmodel types select() for at most four columns
            TranscriptSegment.meeting_id,
            TranscriptSegment.speaker,
            TranscriptSegment.member_id,
            func.min(TranscriptSegment.start),
            func.max(TranscriptSegment.end),
        )
        .where(col(TranscriptSegment.meeting_id).in_(ids))
        .group_by(col(TranscriptSegment.meeting_id), col(TranscriptSegment.speaker), col(TranscriptSegment.member_id))
        .order_by(col(TranscriptSegment.meeting_id), func.min(TranscriptSegment.start))
    ).all()
    for meeting_id, speaker, member_id, _first, last in rows:
        ends[meeting_id] = max(ends.get(meeting_id, 0.0), last or 0.0)
        if not hidden.hides(speaker, member_id) and speaker not in speakers[meeting_id]:
            speakers[meeting_id].append(speaker)
    topics: dict[int, list[str]] = defaultdict(list)
    for item in session.exec(
        select(AgendaItem).where(col(AgendaItem.meeting_id).in_(ids)).order_by(col(AgendaItem.id))
    ).all():
        topics[item.meeting_id].append(item.topic)
    for meeting_id, summary in session.exec(
        select(MinutesRecord.meeting_id, MinutesRecord.summary).where(col(MinutesRecord.meeting_id).in_(ids))
    ).all():
        if not topics.get(meeting_id):  # no agenda: the minutes' topic headings (a bold line per topic)
            topics[meeting_id] = _HEADING.findall(summary or "")
    slugs = _slugs(meetings)
    out = []
    for m in meetings:
        mid = saved_id(m)
        if m.started_at and m.ended_at:
            duration = (as_utc(m.ended_at) - as_utc(m.started_at)).total_seconds()
        else:
            duration = ends.get(mid) or m.duration_minutes * 60.0
        out.append(
            MeetingSummary(
                id=mid,
                slug=slugs[mid],
                start=as_utc(m.scheduled_start),
                title=m.title,
                duration_seconds=duration,
                attendees=speakers.get(mid, []),
                topics=topics.get(mid, []),
            )
        )
    return out


def summary_of(session: Session, meeting_id: int) -> str:
    """The short summary of a meeting's minutes ("" without minutes); read fresh, never from the kept list."""
    return session.exec(select(MinutesRecord.summary).where(MinutesRecord.meeting_id == meeting_id)).first() or ""


def find_meeting(meetings: list[MeetingSummary], slug: str) -> MeetingSummary | None:
    return next((m for m in meetings if m.slug == slug), None)


def meeting_page(session: Session, group: WorkingGroup, slug: str) -> MeetingPage | None:
    """One published meeting with everything shown on its page; None for an unknown or unpublished one."""
    meetings = published_meetings(session, group)
    summary = find_meeting(meetings, slug)
    if summary is None:
        return None
    return _page(session, meetings, summary, hidden_speakers(session))


def meeting_pages(session: Session, group: WorkingGroup, meetings: list[MeetingSummary] | None = None):
    """Every published meeting's page, one at a time (for the static export: one meeting in memory at once)."""
    meetings = published_meetings(session, group) if meetings is None else meetings
    hidden = hidden_speakers(session)
    for summary in meetings:
        yield _page(session, meetings, summary, hidden)
        session.expunge_all()  # the page's rows are done with: keep the session's identity map small


def _page(session: Session, meetings: list[MeetingSummary], summary: MeetingSummary, hidden: Hidden) -> MeetingPage:
    mid = summary.id
    index = meetings.index(summary)
    minutes = session.exec(select(MinutesRecord).where(MinutesRecord.meeting_id == mid)).first()
    by_id = {m.id: m for m in meetings}
    today = schedule.now().date()
    actions = [
        ActionRow(a, by_id.get(mid), _overdue(a, today))  # a.meeting_id is mid
        for a in session.exec(select(ActionItem).where(ActionItem.meeting_id == mid).order_by(col(ActionItem.id)))
        if a.status != ItemStatus.dropped
    ]
    wishes = list(
        session.exec(
            select(WishlistEntry)
            .where(WishlistEntry.meeting_id == mid, WishlistEntry.status != ItemStatus.dropped)
            .order_by(col(WishlistEntry.id))
        )
    )
    links = list(session.exec(select(Link).where(Link.meeting_id == mid).order_by(col(Link.id))))
    agenda = list(session.exec(select(AgendaItem).where(AgendaItem.meeting_id == mid).order_by(col(AgendaItem.id))))
    # Plain rows, not ORM objects: an hour of talk is hundreds of lines, and nothing here changes them.
    segments = [
        s
        for s in session.exec(
            select(  # type: ignore[call-overload]  # sqlmodel types select() for at most four columns
                TranscriptSegment.speaker,
                TranscriptSegment.member_id,
                TranscriptSegment.start,
                TranscriptSegment.end,
                TranscriptSegment.text,
            )
            .where(TranscriptSegment.meeting_id == mid)
            .order_by(col(TranscriptSegment.start), col(TranscriptSegment.id))
        )
        if not hidden.hides(s[0], s[1])  # speaker, member_id
    ]
    return MeetingPage(
        meeting=summary,
        minutes=minutes,
        actions=actions,
        wishes=wishes,
        links=links,
        agenda=agenda,
        segments=segments,
        previous=meetings[index + 1] if index + 1 < len(meetings) else None,
        following=meetings[index - 1] if index > 0 else None,
    )


def upcoming(session: Session, group: WorkingGroup, day: dt.date | None = None) -> Upcoming | None:
    """The next meeting (or the scheduled one on `day`) with its agenda so far; None when there is none."""
    for occ in schedule.next_occurrences(session, group, count=12):
        if day is None or occ.start.date() == day:
            agenda: list[AgendaItem] = []
            if occ.meeting_id is not None:
                agenda = list(
                    session.exec(
                        select(AgendaItem).where(AgendaItem.meeting_id == occ.meeting_id).order_by(col(AgendaItem.id))
                    )
                )
            return Upcoming(occ, agenda)
    return None


# ---- items -------------------------------------------------------------------------------------------------------


def _overdue(item: ActionItem, today: dt.date) -> bool:
    return item.status == ItemStatus.open and item.due is not None and item.due < today


def action_items(
    session: Session,
    group: WorkingGroup,
    meetings: list[MeetingSummary] | None = None,
    *,
    status: ItemStatus | None = None,
    limit: int | None = None,
) -> list[ActionRow]:
    """Action items of published meetings, and those filed on GitHub without a meeting; oldest first."""
    meetings = published_meetings(session, group) if meetings is None else meetings
    by_id = {m.id: m for m in meetings}
    today = schedule.now().date()
    query = (
        select(ActionItem)
        .where(
            ActionItem.status != ItemStatus.dropped,
            or_(
                col(ActionItem.meeting_id).in_(list(by_id) or [-1]),
                col(ActionItem.meeting_id).is_(None) & col(ActionItem.github_issue_url).is_not(None),
            ),
        )
        .order_by(col(ActionItem.created_at), col(ActionItem.id))
    )
    if status is not None:
        query = query.where(ActionItem.status == status)
    if limit is not None:
        query = query.limit(limit)
    return [
        ActionRow(a, by_id.get(a.meeting_id) if a.meeting_id is not None else None, _overdue(a, today))
        for a in session.exec(query)
    ]


def wishes(session: Session, group: WorkingGroup, meetings: list[MeetingSummary] | None = None) -> list[WishRow]:
    """The wish list: one row per wish (entries for the same GitHub issue or the same title are one wish), with
    every published meeting that raised it; most raised first."""
    meetings = published_meetings(session, group) if meetings is None else meetings
    by_id = {m.id: m for m in meetings}
    entries = session.exec(
        select(WishlistEntry)
        .where(
            WishlistEntry.status != ItemStatus.dropped,
            or_(
                col(WishlistEntry.meeting_id).in_(list(by_id) or [-1]),
                col(WishlistEntry.meeting_id).is_(None) & col(WishlistEntry.github_issue_url).is_not(None),
            ),
        )
        .order_by(col(WishlistEntry.created_at), col(WishlistEntry.id))
    ).all()
    rows: dict[str, WishRow] = {}
    for entry in entries:
        key = f"issue:{entry.github_issue_number}" if entry.github_issue_number else f"title:{_norm(entry.title)}"
        row = rows.get(key)
        if row is None:
            row = rows[key] = WishRow(entry.title, entry.details, entry.status, entry.github_issue_url, [])
        if entry.meeting_id in by_id:
            row.raised.append((by_id[entry.meeting_id], entry.at))
        if entry.status == ItemStatus.open:
            row.status = ItemStatus.open
        row.issue_url = row.issue_url or entry.github_issue_url
        row.details = row.details or entry.details
    return sorted(rows.values(), key=lambda r: (-r.count, -_last_raised(r)))


def _last_raised(row: WishRow) -> float:
    return max((m.start.timestamp() for m, _ in row.raised), default=0.0)
