"""Who took a task on, and when it is due, from the turns of the dialogue (code, not the model).

One commitment is one exchange of turns:
- a request answered by another speaker ("Jeshli, could you share the slides?" / "Sure, tomorrow.") belongs to the
  one who accepts; its date may be said in either line; a reply that declines ("Sorry, I can't this month") makes
  no item;
- a speaker's own promise ("I will fix the build by Friday") belongs to that speaker;
- a later date in the same turn after a correction ("by Friday. Actually no, let's say the end of the month"), or in
  the same speaker's next turn, replaces the earlier one, and that correction found alone ("Actually, Tuesday works
  better, I can have them ready then") is the same commitment, titled by the line the exchange starts on;
- dates come only from the lines of the exchange, and from the clauses of them that carry this task (never from
  another task said in the same breath, never from a neighbouring line about something else).
The line the exchange starts on is its anchor: items found on any of its lines are one item.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from transcripts.minutes.cues import (
    ACCEPT,
    COMMITMENT,
    CORRECTION,
    DECLINE,
    FIRST_PERSON,
    REQUEST,
    is_injection,
)
from transcripts.minutes.dates import DueDate, find_due_dates
from transcripts.minutes.lines import Line
from transcripts.minutes.words import content_words, name_matches, support, words

REPLY_WITHIN = 3  # lines after a request in which its answer is looked for (a backchannel may come between)
FOLLOW_UP_WITHIN = 2  # lines after an exchange in which the owner's own correction is looked for
_CLAUSES = re.compile(r"(?<=[.?!;])\s+|,?\s+\b(?:and|but|then)\b\s+(?=\w)")
# Words that say when or whether a task gets done, not what it is ("Tuesday works better, I can have them ready"):
# a clause of them only takes nothing new on.
_SCHEDULING = frozenset(content_words("works better ready done finished fine easier realistic possible time"))


@dataclass(slots=True)
class Exchange:
    """The turns of one commitment: `lines` are indexes into the meeting's lines, in order."""

    anchor: int  # the request, or the promise when nobody asked
    lines: list[int]
    owner: str | None = None  # None: the dialogue alone does not say (the caller resolves the model's name)
    declined: bool = False
    request: int | None = None  # the request's line, when there was one
    clauses: dict[int, list[str]] = field(default_factory=dict)  # per line: the clauses its date may come from


def clauses(text: str) -> list[str]:
    return [p for p in _CLAUSES.split(text) if p and p.strip()]


def mentions(text: str, name: str) -> bool:
    first = next(iter(words(name)), "")
    return bool(first) and any(name_matches(first, w) for w in words(text) if len(w) >= 3)


def task_clauses(text: str, task: str) -> list[str]:
    """The clauses of `text` that say `task`: the one with most of its words, and what follows it until another
    clause takes something else on ("I'll review it by Friday, and Bob, can you write the tests by Monday?")."""
    parts = clauses(text)
    if len(parts) <= 1:
        return parts
    best = max(range(len(parts)), key=lambda k: (support(task, parts[k]), -k))
    out = [parts[best]]
    for part in parts[best + 1 :]:
        if COMMITMENT.search(part) and _new_words(part, task) >= 2:
            break
        out.append(part)
    return out


def _new_words(text: str, known: str) -> int:
    """How many content words of `text` (its date and correction words left out) `known` does not have."""
    for due in find_due_dates(text, dt.date.min):
        text = text.replace(due.phrase, " ")
    text = CORRECTION.sub(" ", text)
    have = set(content_words(known)) | _SCHEDULING
    return sum(1 for w in dict.fromkeys(content_words(text)) if w not in have)


def answer_clauses(reply: str, request: str, task: str) -> list[str]:
    """The clauses of an accepting reply that belong to the request: not those that take a task of their own
    ("Yes, and I will also open an issue today": "today" is the issue's, not the request's), nor those that turn a
    date down ("I can't this week, but I can run it on Tuesday": Tuesday's)."""
    known = f"{request} {task}"
    return [p for p in clauses(reply) if not (COMMITMENT.search(p) and _new_words(p, known) >= 2) and not turns_down(p)]


def addressee(lines: list[Line], i: int, clause: str, speakers: list[str]) -> str | None:
    """The speaker a request on line i names ("Carol, can you ...")."""
    line = lines[i]
    for text in (clause, line.text):
        for speaker in speakers:
            if speaker != line.speaker and mentions(text, speaker):
                return speaker
    return None


def asks(lines: list[Line], i: int, speakers: list[str]) -> str | None:
    """The speaker line i asks something by name, in words of any kind ("Tom, do you have time to write to the
    foundation?", or a request misheard: "Tom, what do you mind writing ...?"); None if it asks nobody."""
    text = lines[i].text.rstrip()
    return addressee(lines, i, text, speakers) if text.endswith("?") else None


def reply_to(lines: list[Line], i: int, named: str | None) -> int | None:
    """The line that answers the request on line i: the named person's next turn, or (unnamed) the next other
    speaker who says yes or no. A backchannel of a third person in between is skipped."""
    asker = lines[i].speaker
    for j in range(i + 1, min(len(lines), i + 1 + REPLY_WITHIN)):
        reply = lines[j]
        if is_injection(reply) or reply.speaker == asker:
            if reply.speaker == asker:
                return None  # the asker went on talking: nobody answered in between
            continue
        if named is not None:
            if reply.speaker == named:
                return j
            continue
        if ACCEPT.search(reply.text) or DECLINE.search(reply.text) or FIRST_PERSON.search(reply.text):
            return j
    return None


def turns_down(text: str) -> bool:
    """Whether `text` says no to a task ("Sorry, I can't this month", "No, not me"), not "Sorry, I can only do
    Tuesday". (A decision proposed and turned down is `grounding._rejects_proposal`'s.)"""
    return bool(DECLINE.search(text)) and not ACCEPT.search(text) and not FIRST_PERSON.search(text)


def _is_decline(text: str) -> bool:
    if not turns_down(clauses(text)[0] if text.strip() else text):
        return False
    # "I can't this week, but I can run it on Tuesday": the offer after the "but" takes it on after all
    offer = re.search(r"\bbut\b(.*)", text, re.IGNORECASE | re.DOTALL)
    return not (offer and FIRST_PERSON.search(offer.group(1)) and not DECLINE.search(offer.group(1)))


def _volunteer(lines: list[Line], asked: int, declined: int) -> int | None:
    """The line right after a declined request where a third speaker takes it on instead ("Kai, could you review
    it?" / "Kai: Sorry, I'm swamped." / "Lena: I can review it on Monday.")."""
    j = declined + 1
    if j >= len(lines) or is_injection(lines[j]) or lines[j].speaker in (lines[asked].speaker, lines[declined].speaker):
        return None
    return j if FIRST_PERSON.search(lines[j].text) and not _is_decline(lines[j].text) else None


def _accepts(text: str) -> bool:
    return bool(ACCEPT.search(text) or FIRST_PERSON.search(text))


def exchange_at(
    lines: list[Line],
    i: int,
    task: str,
    speakers: list[str],
    *,
    support_of: Callable[[str, str], float] = support,
    min_support: float = 0.25,
) -> Exchange:
    """The exchange that line i (a line where `task` is taken on) belongs to."""
    line = lines[i]
    own = task_clauses(line.text, task)
    clause = " ".join(own)
    if REQUEST.search(clause) and not FIRST_PERSON.search(clause):
        named = addressee(lines, i, clause, speakers)
        j = reply_to(lines, i, named)
        if j is not None and _is_decline(lines[j].text):
            k = _volunteer(lines, i, j)
            if k is None:
                return Exchange(i, [i, j], owner=lines[j].speaker, declined=True, request=i)
            j = k  # "Sorry, I'm swamped." / "I can review it.": whoever takes it on instead
        if j is not None and _accepts(lines[j].text):
            taken = Exchange(i, [i, j], owner=lines[j].speaker, request=i)
            taken.clauses = {i: own, j: answer_clauses(lines[j].text, line.text, task)}
            return _with_corrections(lines, taken, task)
        return Exchange(i, [i], owner=named, request=i, clauses={i: own})
    # Line i may be the answer to a request just before it: then the request is where the exchange starts.
    if _accepts(line.text):
        for k in range(i - 1, max(-1, i - 1 - REPLY_WITHIN), -1):
            asked = lines[k]
            if asked.speaker == line.speaker or is_injection(asked):
                break
            if not (REQUEST.search(asked.text) or asks(lines, k, speakers) == line.speaker):
                continue
            named = addressee(lines, k, asked.text, speakers)
            answered = reply_to(lines, k, named)
            if answered is not None and answered < i and _is_decline(lines[answered].text):
                answered = _volunteer(lines, k, answered)  # declined, then taken on by line i's speaker?
            elif named not in (None, line.speaker):
                break
            if answered != i:
                break
            if support_of(task, asked.text) < min_support and len(content_words(line.text)) > 3:
                break  # a promise of something else, said after an unrelated request
            taken = Exchange(k, [k, i], owner=line.speaker, request=k)
            taken.clauses = {k: task_clauses(asked.text, task), i: answer_clauses(line.text, asked.text, task)}
            return _with_corrections(lines, taken, task)
    corrected = _corrected_exchange(lines, i, task, speakers, support_of, min_support)
    if corrected is not None:
        return corrected
    taken = Exchange(i, [i], owner=line.speaker if FIRST_PERSON.search(clause) else None, clauses={i: own})
    return _with_corrections(lines, taken, task)


def _corrected_exchange(
    lines: list[Line],
    i: int,
    task: str,
    speakers: list[str],
    support_of: Callable[[str, str], float],
    min_support: float,
) -> Exchange | None:
    """The exchange whose date line i corrects ("Sure." ... "Actually, Tuesday works better, I can have them ready
    on Tuesday."): the same speaker's turn just before took the task on, and line i is that exchange's correction."""
    line = lines[i]
    if not CORRECTION.search(line.text) or not find_due_dates(line.text, dt.date.min):
        return None
    for k in range(i - 1, max(-1, i - 1 - FOLLOW_UP_WITHIN), -1):
        if lines[k].speaker == line.speaker:
            earlier = exchange_at(lines, k, task, speakers, support_of=support_of, min_support=min_support)
            said = " ".join(lines[j].text for j in earlier.lines if j != i)
            if i not in earlier.lines or (COMMITMENT.search(line.text) and _new_words(line.text, said) >= 2):
                return None  # not that exchange's correction, or a promise of something else
            return earlier
    return None


def _with_corrections(lines: list[Line], taken: Exchange, task: str) -> Exchange:
    """Add the owner's next turn when it corrects the date ("Actually, let's say Monday") or restates the task with
    a date ("the guide by Wednesday, then"), without taking anything else on."""
    owner = taken.owner or lines[taken.lines[-1]].speaker
    last = taken.lines[-1]
    for j in range(last + 1, min(len(lines), last + 1 + FOLLOW_UP_WITHIN)):
        turn = lines[j]
        if turn.speaker != owner:
            continue
        if is_injection(turn) or not find_due_dates(turn.text, dt.date.min):
            break
        corrects = bool(CORRECTION.search(turn.text))
        new_task = _new_words(turn.text, task) >= 2
        if corrects and new_task and COMMITMENT.search(turn.text):
            break  # "Actually, I'll also write the blog post on Tuesday": a promise of its own
        if not corrects and (new_task or support(task, turn.text) < 0.5):
            break  # not about this task ("The release is on Monday"), or a new promise of its own
        taken.lines.append(j)
        taken.clauses[j] = [p for p in clauses(turn.text) if not (COMMITMENT.search(p) and _new_words(p, task) >= 2)]
        break
    return taken


def _turn_due(parts: list[str], meeting: dt.date, next_meeting: dt.date | None) -> DueDate | None:
    """The date one turn gives: after a correction, the date said after it; else a deadline ("by Friday") before a
    mere mention ("on Friday"), the first one first."""
    text = " ".join(parts)
    found = find_due_dates(text, meeting, next_meeting)
    if not found:
        return None
    for cue in reversed(list(CORRECTION.finditer(text))):
        after = [d for d in found if d.start >= cue.start()]
        if after and len(after) < len(found):
            found = after
            break
    return min(found, key=lambda d: (not d.explicit, d.start))


def exchange_due(
    lines: list[Line], taken: Exchange, meeting: dt.date, next_meeting: dt.date | None
) -> tuple[DueDate | None, list[int]]:
    """The due date of an exchange (the last turn that names one wins) and the lines that support it."""
    due, used = None, []
    for j in taken.lines:
        parts = taken.clauses.get(j, [lines[j].text])
        found = _turn_due(parts, meeting, next_meeting)
        if found is not None:
            due = found
            used.append(j)
    return due, used
