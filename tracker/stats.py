"""Figures about the group's published meetings, for the web home's stats page.

Everything is computed from what `tracker.public` shows: published meetings, their visible transcript lines and
their public action items. Talk time is the summed length of a speaker's transcript lines, which come from that
speaker's own track.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func
from sqlmodel import Session, col, select

from tracker import public
from tracker.models import ItemStatus, TranscriptSegment, WorkingGroup, as_utc

TALK_TIME_MEETINGS = 12  # the talk-time chart shows the latest meetings


@dataclass
class Stats:
    meetings_per_month: list[tuple[str, int]] = field(default_factory=list)  # (YYYY-MM, count), oldest first
    attendance: list[tuple[str, int]] = field(default_factory=list)  # (meeting date, attendees), oldest first
    talk_time: list[tuple[str, list[tuple[str, float]]]] = field(default_factory=list)  # (date, [(speaker, share)])
    items_per_month: list[tuple[str, int, int]] = field(default_factory=list)  # (YYYY-MM, opened, closed)
    median_days_to_close: float | None = None
    meetings_held: int = 0
    open_items: int = 0
    done_items: int = 0


def _month(value) -> str:
    return as_utc(value).strftime("%Y-%m")


def compute(session: Session, group: WorkingGroup, meetings: list[public.MeetingSummary] | None = None) -> Stats:
    meetings = public.published_meetings(session, group) if meetings is None else meetings
    oldest_first = list(reversed(meetings))
    stats = Stats(meetings_held=len(meetings))
    per_month = Counter(m.start.strftime("%Y-%m") for m in oldest_first)
    stats.meetings_per_month = sorted(per_month.items())
    stats.attendance = [(m.slug, len(m.attendees)) for m in oldest_first]

    latest = oldest_first[-TALK_TIME_MEETINGS:]
    hidden = public.hidden_speakers(session)
    talk: dict[int, dict[str, float]] = defaultdict(dict)
    if latest:
        rows = session.exec(
            select(
                TranscriptSegment.meeting_id,
                TranscriptSegment.speaker,
                TranscriptSegment.member_id,
                func.sum(TranscriptSegment.end - TranscriptSegment.start),
            )
            .where(col(TranscriptSegment.meeting_id).in_([m.id for m in latest]))
            .group_by(
                col(TranscriptSegment.meeting_id), col(TranscriptSegment.speaker), col(TranscriptSegment.member_id)
            )
        ).all()
        for meeting_id, speaker, member_id, seconds in rows:
            if not hidden.hides(speaker, member_id):
                talk[meeting_id][speaker] = talk[meeting_id].get(speaker, 0.0) + float(seconds or 0.0)
    for m in latest:
        total = sum(talk[m.id].values())
        shares = sorted(((s, t / total) for s, t in talk[m.id].items()), key=lambda x: -x[1]) if total else []
        stats.talk_time.append((m.slug, shares))

    items = public.action_items(session, group, meetings)
    opened: Counter[str] = Counter()
    closed: Counter[str] = Counter()
    days: list[float] = []
    for row in items:
        item = row.item
        opened[_month(item.created_at)] += 1
        if item.status == ItemStatus.done:
            stats.done_items += 1
            if item.closed_at is not None:
                closed[_month(item.closed_at)] += 1
                days.append((as_utc(item.closed_at) - as_utc(item.created_at)).total_seconds() / 86400)
        else:
            stats.open_items += 1
    months = sorted(set(opened) | set(closed))
    stats.items_per_month = [(month, opened[month], closed[month]) for month in months]
    stats.median_days_to_close = round(statistics.median(days), 1) if days else None
    return stats
