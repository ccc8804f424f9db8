"""Notes typed in the call's chat, in the style of IRC's MeetBot, taken into the minutes exactly as written.

    #action @Sam send the invite by Monday      (or "action: …")   → an action item: owner Sam, due Monday
    #agreed we ship 2.0 in January              (or "agreed: …")   → a decision
    #idea a map viewer for all datasets          (#wish, "idea:")   → a wish
    #info the venue has no wifi                 (or "info: …")     → a line in the minutes' chat notes
    #link https://example.org/plan the plan     (or "link: …")     → a link
    #done the Akash deployment demo             (or "done: …")     → an open item reported done

No model reads them: the text after the tag is the item. The owner of an action is the person @-mentioned first
(or named first, when that is a speaker or member), else the person who typed it; its due date is read from the text
by `dates`, from the meeting date (and the real next meeting for "by the next meeting"). Plain messages give their
links (with who posted them).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from transcripts.minutes.dates import pick_due
from transcripts.minutes.links import find_links
from transcripts.minutes.summary import escape_markdown
from transcripts.minutes.words import content_words, name_matches, support
from transcripts.types import ActionItem, Minutes, Segment, Wish

__all__ = ["ChatLine", "ChatLink", "ChatNotes", "chat_file_lines", "merge_into", "parse_chat"]

MAX_ITEM = 500
_TAG = re.compile(
    r"^\s*(?:#(?P<hash>action|agreed|agree|decided|idea|wish|info|link|done)\b\s*:?|"
    r"(?P<word>action|agreed|decided|idea|wish|info|link|done)\s*:)\s*(?P<rest>.*)$",
    re.IGNORECASE,
)
_KIND = {"agree": "agreed", "decided": "agreed", "idea": "wish"}
_MENTION = re.compile(r"^@(?P<name>[\w.\-]+(?:\s[A-Z][\w.\-]*)?)\s*[:,]?\s*")
_NAMED = re.compile(r"^(?P<name>[A-Z][\w.\-]+)\s*(?::|,|\s+to\s+|\s+will\s+)\s*")


@dataclass(frozen=True, slots=True)
class ChatLine:
    """One chat message: who typed it, when (seconds from the meeting start) and what."""

    author: str
    at: float
    text: str


@dataclass(frozen=True, slots=True)
class ChatLink:
    url: str
    author: str
    at: float


@dataclass
class ChatNotes:
    actions: list[ActionItem] = field(default_factory=list)
    decisions: list[str] = field(default_factory=list)
    wishes: list[Wish] = field(default_factory=list)
    info: list[str] = field(default_factory=list)
    links: list[ChatLink] = field(default_factory=list)
    done: list[ChatLine] = field(default_factory=list)  # "#done …": matched against open items by the tracker
    answered: list[tuple[ChatLine, Segment]] = field(default_factory=list)  # a chat question, the line answering it


ANSWER_WINDOW = 600.0  # seconds after a chat question in which the call may answer it
MIN_ANSWER_SUPPORT = 0.5  # share of the question's words the answering line must contain
_FILE_LINE = re.compile(r"^\s*\[(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?\]\s*(?P<who>[^:]{1,80}):\s*(?P<text>.*)$")


def chat_file_lines(text: str) -> list[ChatLine]:
    """`[17:01] Dave: text` lines of a saved chat (`wgbot process --chat`), timed from the first line."""
    lines: list[ChatLine] = []
    first: int | None = None
    for raw in text.splitlines():
        match = _FILE_LINE.match(raw)
        if not match:
            if lines and raw.strip():  # a message of several lines
                last = lines[-1]
                lines[-1] = ChatLine(last.author, last.at, last.text + "\n" + raw.strip())
            continue
        seconds = int(match["h"]) * 3600 + int(match["m"]) * 60 + int(match["s"] or 0)
        first = seconds if first is None else first
        lines.append(ChatLine(match["who"].strip(), float(max(0, seconds - first)), match["text"].strip()))
    return lines


def _answered(lines: list[ChatLine], segments: list[Segment]) -> list[tuple[ChatLine, Segment]]:
    """Questions typed in the chat that a line said in the call soon after answers (its words are the question's)."""
    found = []
    for line in lines:
        if "?" not in line.text or _TAG.match(line.text) or len(set(content_words(line.text))) < 2:
            continue
        later = [s for s in segments if line.at <= s.start <= line.at + ANSWER_WINDOW and s.speaker != line.author]
        scored = [(support(line.text, s.text), s) for s in later]
        best = max(scored, key=lambda pair: pair[0], default=(0.0, None))
        if best[1] is not None and best[0] >= MIN_ANSWER_SUPPORT:
            found.append((line, best[1]))
    return found


def _owner(rest: str, author: str, names: list[str]) -> tuple[str, str]:
    """(owner, task) from the text after `#action`."""
    mention = _MENTION.match(rest)
    if mention:
        name = mention["name"]
        known = next((n for n in names if name_matches(name, n)), None)
        return known or name, rest[mention.end() :].strip() or rest
    named = _NAMED.match(rest)
    if named:
        known = next((n for n in names if name_matches(named["name"], n)), None)
        if known:
            return known, rest[named.end() :].strip() or rest
    return author, rest


def parse_chat(
    lines: list[ChatLine],
    *,
    meeting_date: dt.date,
    next_meeting: dt.date | None = None,
    names: list[str] | None = None,
    transcript: list[Segment] | None = None,
) -> ChatNotes:
    """The notes and links in the call's chat. `names`: the meeting's speakers and the group's members;
    `transcript`: what was said, for the chat's questions the call answered."""
    names = list(names or [])
    notes = ChatNotes(answered=_answered(lines, list(transcript or [])))
    seen_links: set[str] = set()
    for line in lines:
        for raw in line.text.splitlines():
            match = _TAG.match(raw)
            if not match:
                continue
            kind = (match["hash"] or match["word"]).lower()
            kind = _KIND.get(kind, kind)
            rest = " ".join(match["rest"].split())[:MAX_ITEM]
            if not rest:
                continue
            excerpt = f"{line.author} (chat): {raw.strip()}"
            if kind == "action":
                owner, task = _owner(rest, line.author, names)
                due = pick_due([task], meeting_date, next_meeting)
                notes.actions.append(
                    ActionItem(owner=owner, task=task, due=due.date if due else None, at=line.at, excerpt=excerpt)
                )
            elif kind == "agreed":
                notes.decisions.append(rest)
            elif kind == "wish":
                notes.wishes.append(Wish(title=rest, at=line.at, excerpt=excerpt))
            elif kind == "info":
                notes.info.append(rest)
            elif kind == "done":
                notes.done.append(ChatLine(line.author, line.at, rest))
        for url in find_links(line.text):
            if url.lower() not in seen_links:
                seen_links.add(url.lower())
                notes.links.append(ChatLink(url, line.author, line.at))
    return notes


def _norm(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.casefold()))


def merge_into(minutes: Minutes, notes: ChatNotes) -> Minutes:
    """The minutes with the chat's notes added (an item already found in speech is not added twice)."""
    have_actions = {(_norm(a.owner), _norm(a.task)) for a in minutes.action_items}
    actions = list(minutes.action_items) + [
        a for a in notes.actions if (_norm(a.owner), _norm(a.task)) not in have_actions
    ]
    have_decisions = {_norm(d) for d in minutes.decisions}
    decisions = list(minutes.decisions) + [d for d in notes.decisions if _norm(d) not in have_decisions]
    have_wishes = {_norm(w.title) for w in minutes.wishes}
    wishes = list(minutes.wishes) + [w for w in notes.wishes if _norm(w.title) not in have_wishes]
    have_links = {u.lower().rstrip("/") for u in minutes.links}
    links = list(minutes.links) + [link.url for link in notes.links if link.url.lower().rstrip("/") not in have_links]
    long_summary = minutes.long_summary
    esc = escape_markdown  # typed text stays text in the long minutes, as the summary's own points do
    extra = [f"- {esc(info)}" for info in notes.info]
    extra += [f"- {esc(link.url)} (posted by {esc(link.author)})" for link in notes.links]
    extra += [
        f"- {esc(question.author)} asked: “{esc(question.text)}” — {esc(answer.speaker)} answered: “{esc(answer.text)}”"
        for question, answer in notes.answered
    ]
    if extra:
        long_summary = (long_summary.rstrip() + "\n\n" if long_summary.strip() else "") + "### From the chat\n\n"
        long_summary += "\n".join(extra)
    return minutes.model_copy(
        update={
            "action_items": actions,
            "decisions": decisions,
            "wishes": wishes,
            "links": list(dict.fromkeys(links)),
            "long_summary": long_summary,
        }
    )
