"""The status message: one message in the text channel per meeting, edited as its pipeline advances.

    ● Recorded 58 min, 4 speakers
    ● Transcribed: 212 segments
    ● Minutes written: 5 action items, 2 wishes
    ● 5 issues filed
    ● Archive: <url>
    ● Forum post: <url>
    ● Minutes posted: <link to the minutes message>
    ✔ Published                                   (or ✘ Failed: <reason>)

The pipeline may run in another process or on another machine (tracker/tasks.py), so the bot learns its progress
from the database only: every few seconds (slower while nothing changes) a handful of cheap queries in a worker
thread read the meeting's state, its transcript, minutes, review and outbox rows into a `Progress`; `render` (pure:
no Discord connection needed) turns that into an embed, and the message is edited when the embed changed. The
message id is kept on `Meeting.status_message_id`, so after a restart the bot goes on editing the same message for
every meeting not yet published or failed.

The minutes themselves (summary, action items with owners and issue links, where to read more) are the outbox's
Discord message (`m<id>-discord-minutes`, posted after the issues, archive and forum post); this message stays a
short progress card that links to it, rather than a second copy. Only when a meeting has no minutes message (none
configured) does the final card carry the summary and the action items itself.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import discord
from discord.utils import format_dt
from sqlalchemy import distinct, func
from sqlmodel import Session, col, select

from bot.embeds import DESCRIPTION_LIMIT, FIELD_LIMIT, cut, lines_within
from tracker.models import (
    ActionItem,
    ItemStatus,
    Meeting,
    MeetingState,
    MinutesRecord,
    Publication,
    PublicationKind,
    PublicationState,
    ReviewDefault,
    ReviewState,
    TranscriptSegment,
    WishlistEntry,
    as_utc,
)
from tracker.publishing.discord_rest import nonce_for
from tracker.publishing.outbox import owned

if TYPE_CHECKING:
    from bot.app import WgBot

log = logging.getLogger(__name__)

DONE, CURRENT, PAUSED, PROBLEM = "●", "◌", "⏸", "⚠"
ACTIVE_STATES = (MeetingState.recorded, MeetingState.transcribed, MeetingState.summarized)
BLUE, ORANGE, GREEN, RED = (
    discord.Colour.blurple(),
    discord.Colour.orange(),
    discord.Colour.green(),
    discord.Colour.red(),
)


# ---- what the database says ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Row:
    """One outbox row, as far as the status shows it."""

    state: PublicationState
    url: str | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class ActionLine:
    owner: str
    task: str
    due: dt.date | None = None
    issue_url: str | None = None


@dataclass(slots=True)
class Progress:
    meeting_id: int
    title: str
    day: dt.date
    state: MeetingState
    reason: str | None = None
    recorded_seconds: float | None = None
    speakers: int = 0
    segments: int = 0
    has_minutes: bool = False
    summary: str | None = None
    actions: list[ActionLine] = field(default_factory=list)  # not dropped
    wishes: int = 0  # not dropped
    issues: list[Row] = field(default_factory=list)  # action and wish issue rows
    archive: Row | None = None
    forum: Row | None = None
    minutes_message: Row | None = None
    review_state: ReviewState | None = None
    review_deadline: dt.datetime | None = None
    review_default: ReviewDefault | None = None
    review_message_id: int | None = None
    status_message_id: int | None = None

    @property
    def finished(self) -> bool:
        """Nothing will change any more by itself (a failed meeting can still be retried: see PipelineStatus)."""
        return self.state not in ACTIVE_STATES


def _tracks(folder: str | None) -> int:
    """Speakers recorded: one non-empty Ogg/Opus track each (the recorder's layout)."""
    path = Path(folder) if folder else None
    if not path or not path.is_dir():
        return 0
    return sum(1 for p in path.glob("*.ogg") if p.is_file() and p.stat().st_size > 0)


def read_progress(session: Session, meeting_id: int) -> Progress:
    """Everything the status message shows, in a few small queries (run in a worker thread)."""
    meeting = session.get(Meeting, meeting_id)
    if meeting is None:
        raise LookupError(f"meeting {meeting_id} does not exist")
    started, ended = as_utc(meeting.started_at), as_utc(meeting.ended_at)
    count, speakers, last_end = session.exec(
        select(
            func.count(col(TranscriptSegment.id)),
            func.count(distinct(col(TranscriptSegment.speaker))),
            func.max(TranscriptSegment.end),
        ).where(TranscriptSegment.meeting_id == meeting_id)
    ).one()
    record = session.exec(select(MinutesRecord).where(MinutesRecord.meeting_id == meeting_id)).first()
    actions = session.exec(
        select(ActionItem)
        .where(ActionItem.meeting_id == meeting_id, ActionItem.status != ItemStatus.dropped)
        .order_by(col(ActionItem.id))
    ).all()
    wishes = session.exec(
        select(func.count(col(WishlistEntry.id))).where(
            WishlistEntry.meeting_id == meeting_id, WishlistEntry.status != ItemStatus.dropped
        )
    ).one()
    rows = [
        r
        for r in session.exec(
            select(Publication).where(Publication.meeting_id == meeting_id).order_by(col(Publication.id))
        ).all()
        if owned(r)
    ]

    def row(r: Publication) -> Row:
        return Row(r.state, r.external_url, r.last_error)

    def first(kind: PublicationKind) -> Row | None:
        return next((row(r) for r in rows if r.kind == kind), None)

    recorded = (ended - started).total_seconds() if started and ended else (float(last_end) if last_end else None)
    return Progress(
        meeting_id=meeting_id,
        title=meeting.title,
        day=as_utc(meeting.scheduled_start).date(),
        state=meeting.state,
        reason=meeting.state_reason,
        recorded_seconds=recorded,
        speakers=_tracks(meeting.recording_dir) or int(speakers or 0),
        segments=int(count or 0),
        has_minutes=record is not None,
        summary=record.summary if record else None,
        actions=[ActionLine(a.owner_name, a.task, a.due, a.github_issue_url) for a in actions],
        wishes=int(wishes or 0),
        issues=[row(r) for r in rows if r.kind in (PublicationKind.action_issue, PublicationKind.wish_issue)],
        archive=first(PublicationKind.archive),
        forum=first(PublicationKind.forum_post),
        minutes_message=first(PublicationKind.discord_message),
        review_state=meeting.review_state,
        review_deadline=as_utc(meeting.review_deadline),
        review_default=meeting.review_default,
        review_message_id=meeting.review_message_id,
        status_message_id=meeting.status_message_id,
    )


def set_status_message(session: Session, meeting_id: int, message_id: int | None) -> None:
    meeting = session.get(Meeting, meeting_id)
    if meeting is None:
        raise LookupError(f"meeting {meeting_id} does not exist")
    meeting.status_message_id = message_id
    session.add(meeting)


def meetings_to_follow(session: Session, group_id: int) -> list[tuple[int, MeetingState, bool]]:
    """Meetings of the group whose pipeline has not finished: (id, state, has a status message)."""
    rows = session.exec(
        select(Meeting.id, Meeting.state, Meeting.status_message_id)
        .where(Meeting.group_id == group_id, col(Meeting.state).in_(ACTIVE_STATES))
        .order_by(col(Meeting.id))
    ).all()
    return [
        # MeetingState(): the column holds the enum, but a selected column is typed as its `str` base
        (meeting_id, MeetingState(state), message_id is not None)
        for meeting_id, state, message_id in rows
        if meeting_id is not None
    ]


# ---- how it looks ----------------------------------------------------------------------------------------------


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{max(0, round(seconds))} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def _link(label: str, url: str | None) -> str:
    return f"[{label}]({url})" if url else label


def _row_line(row: Row | None, done: str, doing: str, failed: str) -> str | None:
    if row is None:
        return None
    if row.state == PublicationState.done:
        return f"{DONE} {done}" + (f": {row.url}" if row.url else "")
    if row.state == PublicationState.failed:
        return f"{PROBLEM} {failed}: {cut(row.error or 'unknown error', 200)}"
    return f"{CURRENT} {doing}…"


def _review_lines(p: Progress, review_url: str | None) -> list[str]:
    if p.review_state is None:
        return []
    if p.review_state == ReviewState.pending:
        then = "the items are dropped" if p.review_default == ReviewDefault.drop else "the items are filed as they are"
        until = (
            f" until {format_dt(p.review_deadline, 'f')} ({format_dt(p.review_deadline, 'R')})"
            if p.review_deadline
            else ""
        )
        where = f" in {review_url}" if review_url else ""
        return [f"{PAUSED} Waiting for an organizer to review the items{where}{until}; then {then}"]
    if p.review_state == ReviewState.approved:
        return [f"{DONE} Items reviewed and approved"]
    if p.review_default == ReviewDefault.drop:
        return [f"{DONE} Nobody reviewed the items in time: none were filed"]
    return [f"{DONE} Nobody reviewed the items in time: filed as they were"]


def status_lines(p: Progress, review_url: str | None = None) -> list[str]:
    """The checklist: every finished step, then the one in progress (steps not reached yet are not shown)."""
    lines: list[str] = []
    if p.recorded_seconds is not None or p.speakers:
        what = []
        if p.recorded_seconds is not None:
            what.append(_duration(p.recorded_seconds))
        if p.speakers:
            what.append(_plural(p.speakers, "speaker"))
        lines.append(f"{DONE} Recorded " + ", ".join(what))
    if p.state == MeetingState.recorded:
        return lines + [f"{CURRENT} Transcribing…"]
    if p.segments or p.state in (MeetingState.transcribed, MeetingState.summarized, MeetingState.published):
        lines.append(f"{DONE} Transcribed: {_plural(p.segments, 'segment')}")
    if p.state == MeetingState.transcribed:
        return lines + [f"{CURRENT} Writing the minutes…"]
    if p.has_minutes:
        lines.append(
            f"{DONE} Minutes written: {_plural(len(p.actions), 'action item')}, {_plural(p.wishes, 'wish', 'wishes')}"
        )
    lines += _review_lines(p, review_url)
    if p.review_state == ReviewState.pending or p.state not in (MeetingState.summarized, MeetingState.published):
        return lines
    if p.issues:
        done = sum(r.state == PublicationState.done for r in p.issues)
        failed = [r for r in p.issues if r.state == PublicationState.failed]
        if done == len(p.issues):
            lines.append(f"{DONE} {_plural(done, 'issue')} filed")
        else:
            lines.append(f"{CURRENT} Filing issues: {done} of {len(p.issues)}…")
            if failed:
                lines.append(
                    f"{PROBLEM} {_plural(len(failed), 'issue')} could not be filed: "
                    f"{cut(failed[0].error or 'unknown error', 200)}"
                )
            return lines  # the archive, forum post and minutes message wait for every issue
    for line in (
        _row_line(p.archive, "Archive", "Archiving the minutes and transcript", "Archive failed"),
        _row_line(p.forum, "Forum post", "Posting to the forum", "Forum post failed"),
        _row_line(p.minutes_message, "Minutes posted", "Posting the minutes here", "Minutes message failed"),
    ):
        if line:
            lines.append(line)
            if not line.startswith(DONE):
                break  # the later rows wait for this one
    return lines


def render(p: Progress, review_url: str | None = None) -> discord.Embed:
    """The status message for `p` (pure: also usable without a connection to Discord)."""
    lines = status_lines(p, review_url)
    colour = BLUE
    if p.state == MeetingState.published:
        lines.append("✔ Published")
        colour = GREEN
    elif p.state == MeetingState.failed:
        lines.append(f"✘ Failed: {cut(p.reason or 'unknown error', 300)}")
        colour = RED
    elif p.state == MeetingState.cancelled:
        lines.append("✘ Cancelled" + (f": {p.reason}" if p.reason else ""))
        colour = RED
    elif p.review_state == ReviewState.pending or any(line.startswith(PROBLEM) for line in lines):
        colour = ORANGE
    embed = discord.Embed(
        title=cut(f"{p.title}: {p.day.isoformat()}", 256),
        colour=colour,
        description=lines_within(lines, DESCRIPTION_LIMIT),
    )
    if p.state == MeetingState.published and p.minutes_message is None and p.has_minutes:
        # No minutes message in this channel: this card carries the minutes' short form itself.
        if p.summary:
            embed.add_field(name="Summary", value=cut(p.summary, FIELD_LIMIT), inline=False)
        if p.actions:
            items = [
                f"• **{a.owner}**: {cut(a.task, 150)}"
                + (f" (due {a.due.isoformat()})" if a.due else "")
                + (f" {_link('issue', a.issue_url)}" if a.issue_url else "")
                for a in p.actions
            ]
            embed.add_field(name="Action items", value=lines_within(items, FIELD_LIMIT), inline=False)
    embed.set_footer(text=f"meeting {p.meeting_id}")
    return embed


# ---- keeping the message current -------------------------------------------------------------------------------


class PipelineStatus:
    """One watcher task per meeting whose pipeline is running; each keeps the meeting's status message current and
    dispatches `pipeline_progress(progress)` with each fresh reading (the review posts its message from it)."""

    def __init__(
        self,
        bot: WgBot,
        *,
        poll_seconds: float = 3.0,
        max_poll_seconds: float = 60.0,
        failed_grace_seconds: float = 1800.0,
    ) -> None:
        self.bot = bot
        self.poll_seconds = poll_seconds
        self.max_poll_seconds = max_poll_seconds  # the interval grows to this while nothing changes
        # A failed meeting is retried by the task queue (backoff up to ~20 min): keep watching it this long.
        self.failed_grace_seconds = failed_grace_seconds
        self._watchers: dict[int, asyncio.Task] = {}

    def track(self, meeting_id: int) -> None:
        """Post (or go on editing) the meeting's status message until its pipeline is over."""
        task = self._watchers.get(meeting_id)
        if task is not None and not task.done():
            return
        self._watchers[meeting_id] = asyncio.create_task(
            self._watch(meeting_id), name=f"wgbot: status of meeting {meeting_id}"
        )

    def watching(self, meeting_id: int) -> bool:
        task = self._watchers.get(meeting_id)
        return task is not None and not task.done()

    async def wait(self, meeting_id: int) -> None:
        task = self._watchers.get(meeting_id)
        if task is not None:
            await task

    async def close(self) -> None:
        tasks = list(self._watchers.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._watchers.clear()

    def review_url(self, p: Progress) -> str | None:
        if not p.review_message_id or not self.bot.text_channel_id:
            return None
        return f"https://discord.com/channels/{self.bot.guild_id}/{self.bot.text_channel_id}/{p.review_message_id}"

    async def _watch(self, meeting_id: int) -> None:
        shown: Mapping[str, object] | None = None  # the embed last shown, as a dict
        delay = self.poll_seconds
        failed_since: float | None = None
        loop = asyncio.get_running_loop()
        while True:
            try:
                progress = await self.bot.db_call(read_progress, meeting_id)
                self.bot.dispatch("pipeline_progress", progress)
                embed = render(progress, self.review_url(progress))
                if embed.to_dict() != shown:
                    await self._show(progress, embed)
                    shown = embed.to_dict()
                    delay = self.poll_seconds
                else:
                    delay = min(self.max_poll_seconds, delay * 1.5)
                if progress.state == MeetingState.failed:
                    failed_since = failed_since if failed_since is not None else loop.time()
                    if loop.time() - failed_since >= self.failed_grace_seconds:
                        return
                else:
                    failed_since = None
                    if progress.finished:
                        return
            except asyncio.CancelledError:
                raise
            except Exception:  # Discord or the database hiccuped: the next round tries again
                log.exception("could not update the status of meeting %s", meeting_id)
                delay = min(self.max_poll_seconds, max(delay, self.poll_seconds) * 2)
            await asyncio.sleep(delay)

    async def _show(self, progress: Progress, embed: discord.Embed) -> None:
        channel = await self.bot.text_channel()
        if progress.status_message_id is not None:
            try:
                await channel.get_partial_message(progress.status_message_id).edit(embed=embed)
                return
            except discord.NotFound:
                log.warning("the status message of meeting %s was deleted; posting a new one", progress.meeting_id)
        message = await channel.send(
            embed=embed,
            nonce=nonce_for(f"m{progress.meeting_id}-status"),
            allowed_mentions=discord.AllowedMentions.none(),
        )
        await self.bot.db_call(set_status_message, progress.meeting_id, message.id)
        progress.status_message_id = message.id
        log.info("status message of meeting %s: %s", progress.meeting_id, message.id)
