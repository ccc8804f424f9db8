"""The words wgbot publishes: issue titles and bodies, the wish-list comment, the archive README and transcript, the
forum post and the Discord minutes message. Pure functions of plain data (no database, no HTTP), so each text can be
tested and re-rendered identically: an unchanged meeting renders byte-for-byte the same, which is what lets the
publisher skip no-op updates.

Every text that creates something carries the hidden marker `<!-- wgbot:<idempotency key> -->` as its last line:
it is how a retry recognizes what an earlier, interrupted attempt already created (`carries_marker`: only there, and
the callers only look at what the bot's own account wrote). Everything users said or typed is escaped
(`tracker.publishing.escape`), so it can neither carry a marker nor format, link or mention.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from tracker.publishing.escape import discord as _dc
from tracker.publishing.escape import markdown as _md
from transcripts import clock as meeting_clock

GITHUB_TITLE_LIMIT = 256
FORUM_LIMIT = 32_000  # Discourse's default `max_post_length`
DISCORD_LIMIT = 2_000  # characters in a message's content


def marker(key: str) -> str:
    return f"<!-- wgbot:{key} -->"


def carries_marker(body: str | None, mark: str) -> bool:
    """True when `mark` (a `marker(...)`) is where wgbot writes it: the body's last non-empty line, on its own."""
    lines = (body or "").strip().splitlines()
    return bool(lines) and lines[-1].strip() == mark


UNASSIGNED_LABEL = "unassigned"


def owner_label(owner: str) -> str:
    return owner.strip() or UNASSIGNED_LABEL


@dataclass(slots=True)
class MeetingView:
    id: int
    title: str
    date: dt.date
    started_at: dt.datetime | None = None  # wall clock (UTC) of offset 0, when known
    minutes_url: str | None = None  # the archive README: where the whole meeting can be read

    @property
    def day(self) -> str:
        return self.date.isoformat()

    def wall_clock(self, seconds: float | None) -> str | None:
        if self.started_at is None or seconds is None:
            return None
        return (self.started_at + dt.timedelta(seconds=seconds)).strftime("%H:%M UTC")


@dataclass(slots=True)
class ActionView:
    id: int
    task: str
    owner: str
    due: dt.date | None = None
    at: float | None = None
    excerpt: str | None = None
    github_login: str | None = None  # the owner's linked login (assigned only when GitHub says it is assignable)
    issue_url: str | None = None
    issue_number: int | None = None


@dataclass(slots=True)
class WishView:
    id: int
    title: str
    details: str = ""
    at: float | None = None
    excerpt: str | None = None
    issue_url: str | None = None
    issue_number: int | None = None
    raised_again: bool = False  # it was added as a comment to an existing wish-list issue


@dataclass(slots=True)
class MinutesView:
    summary: str
    long_summary: str
    decisions: list[str] = field(default_factory=list)
    next_topics: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    actions: list[ActionView] = field(default_factory=list)
    wishes: list[WishView] = field(default_factory=list)
    links: list[str] = field(default_factory=list)


@dataclass(slots=True)
class SegmentView:
    speaker: str
    start: float
    text: str


# ---- small pieces ------------------------------------------------------------------------------------------------


def one_line(text: str, limit: int) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def quote(text: str) -> str:
    """`text` (the users' words) escaped, as a Markdown block quote."""
    return "\n".join(f"> {_md(line)}" if line.strip() else ">" for line in text.strip().splitlines())


def _when(meeting: MeetingView, at: float | None) -> str:
    wall = meeting.wall_clock(at)
    return f"at {meeting_clock.full(at)}" + (f" ({wall})" if wall else "")


def _minutes_link(meeting: MeetingView) -> str:
    return f"[minutes]({meeting.minutes_url})" if meeting.minutes_url else "minutes"


def _excerpt_block(meeting: MeetingView, at: float | None, excerpt: str | None, lead: str) -> str:
    head = f"{lead} the meeting of {meeting.day} ({_minutes_link(meeting)}), {_when(meeting, at)}"
    return head + (":\n\n" + quote(excerpt) if excerpt and excerpt.strip() else ".")


# ---- GitHub ------------------------------------------------------------------------------------------------------


def action_issue_title(action: ActionView) -> str:
    return one_line(action.task, GITHUB_TITLE_LIMIT)


def action_issue_body(action: ActionView, meeting: MeetingView, key: str, assignee: str | None) -> str:
    name = _md(owner_label(action.owner))
    if assignee:
        owner = f"{name} (@{assignee})"  # the one mention wgbot means: the assignee
    elif action.github_login:
        owner = f"{name} (GitHub login `{action.github_login}` cannot be assigned in this repository)"
    else:
        owner = f"{name} (no GitHub account linked: please assign the right person)"
    lines = [
        _md(action.task.strip()),
        "",
        f"Owner: {owner}",
        f"Due: {action.due.isoformat() if action.due else 'not set'}",
        "",
        _excerpt_block(meeting, action.at, action.excerpt, "From"),
        "",
        marker(key),
    ]
    return "\n".join(lines) + "\n"


def wish_issue_title(wish: WishView) -> str:
    return one_line(wish.title, GITHUB_TITLE_LIMIT)


def wish_issue_body(wish: WishView, meeting: MeetingView | None, key: str) -> str:
    parts = [_md(wish.title.strip())]
    if wish.details.strip():
        parts += ["", _md(wish.details.strip())]
    if meeting is not None:
        parts += ["", _excerpt_block(meeting, wish.at, wish.excerpt, "Raised in")]
    parts += ["", marker(key)]
    return "\n".join(parts) + "\n"


def wish_comment_body(wish: WishView, meeting: MeetingView | None, key: str) -> str:
    if meeting is None:
        lead = f"Raised again: {_md(wish.title.strip())}"
        body = lead + (f"\n\n{_md(wish.details.strip())}" if wish.details.strip() else "")
    else:
        body = _excerpt_block(meeting, wish.at, wish.excerpt, "Raised again in")
    return body + "\n\n" + marker(key) + "\n"


# ---- the archive -------------------------------------------------------------------------------------------------


def _issue_ref(url: str | None, number: int | None) -> str:
    if url and number:
        return f" ([#{number}]({url}))"
    return f" ({url})" if url else ""


def _action_line(action: ActionView) -> str:
    due = f", due {action.due.isoformat()}" if action.due else ""
    owner, task = _md(owner_label(action.owner)), _md(one_line(action.task, 400))
    return f"- **{owner}**: {task}{due}{_issue_ref(action.issue_url, action.issue_number)}"


def _wish_line(wish: WishView) -> str:
    again = " (raised again)" if wish.raised_again else ""
    return f"- {_md(one_line(wish.title, 300))}{again}{_issue_ref(wish.issue_url, wish.issue_number)}"


def archive_readme(meeting: MeetingView, minutes: MinutesView, key: str) -> str:
    out = [f"# {_md(meeting.title)}: {meeting.day}", ""]
    if meeting.started_at:
        out += [
            f"Started {meeting.started_at.strftime('%Y-%m-%d %H:%M UTC')}. Transcript: [transcript.md](transcript.md).",
            "",
        ]
    else:
        out += ["Transcript: [transcript.md](transcript.md).", ""]
    out += ["## Summary", "", _minutes_markdown(minutes.long_summary or minutes.summary) or "(no summary)", ""]
    if minutes.decisions:
        out += ["## Decisions", "", *[f"- {_md(d.strip())}" for d in minutes.decisions], ""]
    out += ["## Action items", ""]
    out += [_action_line(a) for a in minutes.actions] or ["(none)"]
    out += [""]
    if minutes.wishes:
        out += ["## Wish list", "", *[_wish_line(w) for w in minutes.wishes], ""]
    if minutes.links:
        out += ["## Links", "", *[f"- <{link}>" for link in minutes.links], ""]
    if minutes.next_topics:
        out += ["## Next time", "", *[f"- {_md(t.strip())}" for t in minutes.next_topics], ""]
    if minutes.notes:
        out += ["## Notes on these minutes", "", *[f"- {_md(n.strip())}" for n in minutes.notes], ""]
    out += [marker(key), ""]
    return "\n".join(out)


def archive_transcript(meeting: MeetingView, segments: list[SegmentView], key: str) -> str:
    out = [f"# Transcript: {_md(meeting.title)}, {meeting.day}", ""]
    if not segments:
        out += ["(no transcript)", ""]
    for seg in segments:
        out += [f"**[{meeting_clock.full(seg.start)}] {_md(seg.speaker)}:** {_md(' '.join(seg.text.split()))}", ""]
    out += [marker(key), ""]
    return "\n".join(out)


_HEADING = re.compile(r"^(#{1,6} +)(.*)$")
_BOLD_LINE = re.compile(r"^\*\*(.+)\*\*$")
_POINT = re.compile(r"^([-*] +)(.*)$")
_ESCAPED = re.compile(r"\\([\\`*_\[\]<>#+\-|~.!()])")


def _minutes_markdown(text: str, escape=_md) -> str:
    """A summary as `transcripts` writes it: Markdown lines of topic headings (`### …`, `**…**`) and points (`- …`).
    The structure is kept; every piece of text in it is escaped here like any user text (after undoing the escaping
    `transcripts` did, so nothing is escaped twice and a raw line is as safe as an escaped one)."""

    def piece(words: str) -> str:
        return escape(_ESCAPED.sub(r"\1", words))

    out = []
    for line in (text or "").strip().splitlines():
        line = line.rstrip()
        if heading := _HEADING.match(line):
            out.append(heading[1] + piece(heading[2]))
        elif bold := _BOLD_LINE.match(line):
            out.append("**" + piece(bold[1]) + "**")
        elif point := _POINT.match(line):
            out.append("- " + piece(point[2]))
        else:
            out.append(piece(line))
    return "\n".join(out)


# ---- the forum ---------------------------------------------------------------------------------------------------


def forum_post(meeting: MeetingView, minutes: MinutesView, key: str, limit: int = FORUM_LIMIT) -> str:
    """The short summary, the action items with their issues, a link to the archive; cut at a section boundary to fit
    `limit`, with a link to the rest."""
    head = f"## {_md(meeting.title)}: {meeting.day}\n\n"
    sections = [_minutes_markdown(minutes.summary or minutes.long_summary) or "(no summary)"]
    if minutes.decisions:
        sections.append("### Decisions\n\n" + "\n".join(f"- {_md(d.strip())}" for d in minutes.decisions))
    sections.append("### Action items\n\n" + ("\n".join(_action_line(a) for a in minutes.actions) or "(none)"))
    if minutes.wishes:
        sections.append("### Wish list\n\n" + "\n".join(_wish_line(w) for w in minutes.wishes))
    archive = f"Full minutes and transcript: {meeting.minutes_url}" if meeting.minutes_url else ""
    tail = ("\n\n" + archive if archive else "") + "\n\n" + marker(key) + "\n"
    full = head + "\n\n".join(sections) + tail
    if len(full) <= limit:
        return full

    more = (
        f"\n\n*Cut to fit the forum's limit: the rest is in the [full minutes]({meeting.minutes_url}).*"
        if meeting.minutes_url
        else "\n\n*Cut to fit the forum's limit.*"
    )
    budget = limit - len(head) - len(more) - len(tail)
    kept: list[str] = []
    used = 0
    for section in sections:
        cost = len(section) + (2 if kept else 0)
        if used + cost > budget:
            if not kept:  # even the summary is too long: cut it at a line (else word) boundary
                kept.append(_cut_text(section, budget))
            break
        kept.append(section)
        used += cost
    return head + "\n\n".join(kept) + more + tail


def _cut_text(text: str, budget: int) -> str:
    if budget <= 1:
        return ""
    cut = text[: budget - 1]
    for sep in ("\n\n", "\n", " "):
        pos = cut.rfind(sep)
        if pos > budget // 2:
            return cut[:pos].rstrip() + "…"
    return cut + "…"


# ---- Discord -----------------------------------------------------------------------------------------------------


def discord_minutes(
    meeting: MeetingView, minutes: MinutesView, forum_url: str | None, limit: int = DISCORD_LIMIT
) -> str:
    """The minutes message in the text channel: summary, action items, where to read more. Plain text, no marker
    (Discord shows everything); a retry recognizes its message by identical content instead."""
    links = []
    if meeting.minutes_url:
        links.append(f"Minutes and transcript: <{meeting.minutes_url}>")
    if forum_url:
        links.append(f"Forum: <{forum_url}>")
    footer = "\n\n" + "\n".join(links) if links else ""
    head = f"**{_dc(meeting.title)}: {meeting.day}**\n"
    summary = _cut_text(_minutes_markdown(minutes.summary or minutes.long_summary, _dc) or "(no summary)", 900)
    body = head + summary
    if minutes.actions:
        body += "\n\n**Action items**"
        for a in minutes.actions:
            line = f"\n- {_dc(owner_label(a.owner))}: {_dc(one_line(a.task, 150))}"
            line += f" (due {a.due.isoformat()})" if a.due else ""
            if a.issue_url:
                line += f" <{a.issue_url}>"
            if len(body) + len(line) + len(footer) + 4 > limit:
                body += "\n- …"
                break
            body += line
    text = body + footer
    return text if len(text) <= limit else text[: limit - 1] + "…"
