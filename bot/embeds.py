"""How lists and announcements look in Discord. Pure functions: tracker data in, `discord.Embed` or text out.

Times are shown with Discord's timestamp markup (each reader sees their own time zone) next to the UTC time the
schedule is kept in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import discord
from discord.utils import format_dt

from tracker import schedule
from tracker.agenda import Agenda, AgendaDigest
from tracker.models import ActionItem, Meeting, WishlistEntry, as_utc
from tracker.recordings import Status
from tracker.search import PastMinutes, SearchHit
from transcripts import clock as meeting_clock

BLUE = discord.Colour.blurple()
GREEN = discord.Colour.green()
GREY = discord.Colour.light_grey()
ORANGE = discord.Colour.orange()

FIELD_LIMIT = 1024
DESCRIPTION_LIMIT = 4096


def when(start: dt.datetime) -> str:
    """`<t:…:F>` (the reader's zone), `<t:…:R>` (in 3 days) and the UTC time."""
    return f"{format_dt(start, 'F')} ({format_dt(start, 'R')}) · {start:%H:%M} UTC"


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def lines_within(lines: Sequence[str], limit: int, more: str = "…and {n} more") -> str:
    """Join as many whole lines as fit in `limit`, saying how many were left out."""
    joined = "\n".join(lines)
    if len(joined) <= limit:
        return joined
    shown: list[str] = []
    size = 0
    for i, line in enumerate(lines):
        left_after = len(lines) - i - 1
        need = len(line) + (1 if shown else 0)
        reserve = len(more.format(n=left_after)) + 1 if left_after else 0  # room to say what is left out
        if size + need + reserve > limit:
            shown.append(more.format(n=len(lines) - i))
            break
        shown.append(line)
        size += need
    return "\n".join(shown)


def _status_note(occ: schedule.Occurrence) -> str:
    if occ.status == "skipped":
        return " — **skipped**"
    if occ.status == "rescheduled" and occ.occurrence_start:
        return f" — moved from {occ.occurrence_start:%a %Y-%m-%d %H:%M} UTC"
    return ""


def next_meetings(occurrences: Sequence[schedule.Occurrence], voice_channel_id: int | None) -> discord.Embed:
    embed = discord.Embed(title="Next meetings", colour=BLUE)
    if not occurrences:
        embed.description = "No meetings are scheduled."
        return embed
    first = next((o for o in occurrences if o.status != "skipped"), None)
    if first is not None:
        where = f"\nin <#{voice_channel_id}>" if voice_channel_id else ""
        embed.description = f"**{first.title}**\n{when(first.start)}{where}"
    rows = [f"{format_dt(o.start, 'f')} · {o.start:%H:%M} UTC{_status_note(o)}" for o in occurrences]
    embed.add_field(name="Coming up", value=lines_within(rows, FIELD_LIMIT), inline=False)
    return embed


def status(state: Status) -> discord.Embed:
    embed = discord.Embed(title="Meeting status", colour=ORANGE if state.recording else BLUE)
    if state.recording is not None:
        started = as_utc(state.recording.started_at or state.recording.scheduled_start)
        embed.add_field(
            name="Recording", value=f"🔴 {state.recording.title}, since {format_dt(started, 'R')}", inline=False
        )
    else:
        embed.add_field(name="Recording", value="Not recording.", inline=False)
    if state.next is not None:
        embed.add_field(name="Next meeting", value=f"{state.next.title}\n{when(state.next.start)}", inline=False)
    if state.last is not None:
        reason = f" ({state.last.state_reason})" if state.last.state_reason else ""
        embed.add_field(
            name="Last meeting",
            value=f"{as_utc(state.last.scheduled_start):%a %Y-%m-%d}: {state.last.state.value}{reason}",
            inline=False,
        )
    return embed


def _topic_line(item) -> str:
    presenter = f" — {item.presenter}" if item.presenter else ""
    return f"`#{item.id}` {item.topic}{presenter}"


def agenda(view: Agenda) -> discord.Embed:
    embed = discord.Embed(title=f"Agenda: {view.occurrence.title}", colour=BLUE)
    header = when(view.occurrence.start)
    if view.items:
        embed.description = (
            header + "\n\n" + lines_within([_topic_line(i) for i in view.items], DESCRIPTION_LIMIT - 200)
        )
    else:
        embed.description = header + "\n\nNothing yet: add a topic with `/agenda add`."
    return embed


def _action_line(item: ActionItem) -> str:
    due = f" (due {item.due:%Y-%m-%d})" if item.due else ""
    issue = f" [#{item.github_issue_number}]({item.github_issue_url})" if item.github_issue_url else ""
    return f"`#{item.id}` **{item.owner_name}**: {cut(item.task, 200)}{due}{issue}"


def actions(items: Sequence[ActionItem], title: str) -> discord.Embed:
    embed = discord.Embed(title=title, colour=GREEN)
    embed.description = (
        lines_within([_action_line(i) for i in items], DESCRIPTION_LIMIT) if items else "No open action items. 🎉"
    )
    return embed


def _wish_line(entry: WishlistEntry) -> str:
    issue = f" [#{entry.github_issue_number}]({entry.github_issue_url})" if entry.github_issue_url else ""
    return f"`#{entry.id}` {cut(entry.title, 200)}{issue}"


def wishlist(entries: Sequence[WishlistEntry]) -> discord.Embed:
    embed = discord.Embed(title="Wish list", colour=BLUE)
    embed.description = (
        lines_within([_wish_line(e) for e in entries], DESCRIPTION_LIMIT)
        if entries
        else "The wish list is empty: add an entry with `/wishlist add`."
    )
    return embed


def agenda_post(digest: AgendaDigest, reference: str) -> discord.Embed:
    """The day-before announcement."""
    occ = digest.occurrence
    embed = discord.Embed(title=f"Agenda for {occ.title}", colour=BLUE, description=when(occ.start))
    topics = [_topic_line(i) for i in digest.items]
    embed.add_field(
        name="Topics",
        value=lines_within(topics, FIELD_LIMIT) if topics else "None yet — what should we talk about?",
        inline=False,
    )
    if digest.open_actions:
        embed.add_field(
            name="Open action items",
            value=lines_within([_action_line(a) for a in digest.open_actions], FIELD_LIMIT),
            inline=False,
        )
    if digest.recent_wishes:
        embed.add_field(
            name="Recent wishes",
            value=lines_within([_wish_line(w) for w in digest.recent_wishes], FIELD_LIMIT),
            inline=False,
        )
    embed.set_footer(text=f"Add topics with /agenda add · ref {reference}")
    return embed


def agenda_post_text(occ: schedule.Occurrence) -> str:
    return (
        f"📋 Agenda for the next call, {format_dt(occ.start, 'F')} ({format_dt(occ.start, 'R')}). "
        "Anything else to discuss? Add it with `/agenda add`."
    )


def reminder_text(occ: schedule.Occurrence, guild_id: int | None, voice_channel_id: int | None) -> str:
    where = ""
    if voice_channel_id:
        link = f"https://discord.com/channels/{guild_id}/{voice_channel_id}" if guild_id else ""
        where = f" in <#{voice_channel_id}>" + (f" — {link}" if link else "")
    return f"⏰ **{occ.title}** starts {format_dt(occ.start, 'R')} ({occ.start:%H:%M} UTC){where}"


def reminder(occ: schedule.Occurrence, reference: str) -> discord.Embed:
    embed = discord.Embed(title=occ.title, colour=ORANGE, description=when(occ.start))
    embed.set_footer(text=f"The call is recorded for the minutes; /record optout to stay out · ref {reference}")
    return embed


def minutes(past: PastMinutes) -> discord.Embed:
    meeting: Meeting = past.meeting
    record = past.minutes
    start = as_utc(meeting.scheduled_start)
    embed = discord.Embed(title=f"Minutes: {meeting.title}, {start:%Y-%m-%d}", colour=GREEN, url=past.archive_url)
    embed.description = cut(record.summary or record.long_summary or "(no summary)", DESCRIPTION_LIMIT)
    if record.decisions:
        embed.add_field(
            name="Decisions",
            value=lines_within([f"• {cut(d, 300)}" for d in record.decisions], FIELD_LIMIT),
            inline=False,
        )
    if record.next_topics:
        embed.add_field(
            name="Next time",
            value=lines_within([f"• {cut(t, 300)}" for t in record.next_topics], FIELD_LIMIT),
            inline=False,
        )
    if record.long_summary and record.long_summary != record.summary:
        embed.add_field(name="In more detail", value=cut(record.long_summary, FIELD_LIMIT), inline=False)
    return embed


def search_results(words: str, hits: Sequence[SearchHit]) -> discord.Embed:
    embed = discord.Embed(title=f"Search: {cut(words, 200)}", colour=BLUE)
    if not hits:
        embed.description = "Nothing found in past transcripts or minutes."
        return embed
    lines = []
    for hit in hits:
        where = "minutes" if hit.kind == "minutes" else f"{hit.speaker or '?'} at {meeting_clock.full(hit.at)}"
        lines.append(f"**{hit.meeting_start:%Y-%m-%d}** · {where}\n> {cut(hit.snippet, 300)}")
    embed.description = lines_within(lines, DESCRIPTION_LIMIT)
    return embed


def calendar(feed_url: str, next_occurrence: schedule.Occurrence | None) -> discord.Embed:
    embed = discord.Embed(title="Meeting calendar", colour=BLUE)
    webcal = "webcal://" + feed_url.split("://", 1)[1] if "://" in feed_url else feed_url
    embed.description = (
        f"Subscribe once in any calendar app:\n{feed_url}\n(or open `{webcal}`)\n\n"
        "Skipped and moved meetings update by themselves."
    )
    if next_occurrence is not None:
        embed.add_field(
            name="Next meeting", value=f"{next_occurrence.title}\n{when(next_occurrence.start)}", inline=False
        )
    return embed
