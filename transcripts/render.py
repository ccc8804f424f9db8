"""Minutes as Markdown (short, for the forum and Discord; long, for the archive) and as JSON.

Times link into the transcript with a media-fragment address, `<base>#t=<seconds>` (`transcript.md#t=754` by
default; give the recording's or the archived transcript's URL as `link_base` and players seek to the moment).
"""

from __future__ import annotations

import datetime as dt
import json

from transcripts import clock as meeting_clock
from transcripts.minutes.summary import escape_markdown
from transcripts.types import ActionItem, Minutes

DEFAULT_LINK_BASE = "transcript.md"


def time_link(at: float, base: str = DEFAULT_LINK_BASE) -> str:
    second = int(at)  # the same second in the label and the address
    return f"[{meeting_clock.short(second)}]({base}#t={second})"


_escape = escape_markdown


def _action(item: ActionItem, base: str) -> str:
    due = f" — due {item.due.isoformat()}" if item.due else ""
    return f"- [ ] **{_escape(item.owner)}**: {_escape(item.task)}{due} ({time_link(item.at, base)})"


def _heading(title: str | None, date: dt.date | None) -> str:
    name = _escape(title) if title else "Meeting minutes"
    return f"# {name} — {date.isoformat()}" if date else f"# {name}"


def _items_markdown(minutes: Minutes, base: str, heading: str = "##") -> list[str]:
    out: list[str] = []
    if minutes.decisions:
        out += [f"{heading} Decisions", ""] + [f"- {_escape(d)}" for d in minutes.decisions] + [""]
    if minutes.action_items:
        out += [f"{heading} Action items", ""] + [_action(a, base) for a in minutes.action_items] + [""]
    if minutes.wishes:
        out += [f"{heading} Wish list", ""]
        for wish in minutes.wishes:
            details = f" — {_escape(wish.details)}" if wish.details else ""
            out.append(f"- **{_escape(wish.title)}**{details} ({time_link(wish.at, base)})")
        out.append("")
    if minutes.next_topics:
        out += [f"{heading} Next time", ""] + [f"- {_escape(t)}" for t in minutes.next_topics] + [""]
    if minutes.links:
        out += [f"{heading} Links", ""] + [f"- <{link}>" for link in minutes.links] + [""]
    return out


def _notes(minutes: Minutes) -> list[str]:
    if not minutes.notes:
        return []
    return ["---", "", "_Notes on these minutes:_", ""] + [f"- {_escape(n)}" for n in minutes.notes] + [""]


def to_markdown_short(
    minutes: Minutes, *, title: str | None = None, date: dt.date | None = None, link_base: str = DEFAULT_LINK_BASE
) -> str:
    """The forum/Discord version: summary, decisions, action items (checklist), wishes, next topics, links."""
    out = [_heading(title, date), ""]
    # The summary is Markdown already (topic headings and points, their text escaped when it was built).
    out += [minutes.summary if minutes.summary else "_No summary could be written._", ""]
    out += _items_markdown(minutes, link_base)
    out += _notes(minutes)
    return "\n".join(out).rstrip() + "\n"


def to_markdown_long(
    minutes: Minutes, *, title: str | None = None, date: dt.date | None = None, link_base: str = DEFAULT_LINK_BASE
) -> str:
    """The archive version: the short summary, then a section per topic, then every item."""
    out = [_heading(title, date), ""]
    if minutes.summary:
        out += ["## Summary", "", minutes.summary, ""]
    if minutes.long_summary:  # Markdown already: "### topic (time)" sections with escaped text
        out += ["## Discussion", "", minutes.long_summary, ""]
    out += _items_markdown(minutes, link_base)
    out += _notes(minutes)
    return "\n".join(out).rstrip() + "\n"


def to_json(minutes: Minutes, indent: int | None = 2) -> str:
    """The documented `minutes.json`: summary, long_summary, decisions, action_items (owner, task, due, at),
    wishes (title, details, at), links, next_topics, notes."""
    return json.dumps(minutes.to_public_dict(), ensure_ascii=False, indent=indent) + "\n"
