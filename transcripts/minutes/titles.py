"""What a maintainer reads when triaging: task titles in the imperative, and no template text in public.

- `task_title`: "I'll share the slides from my demo by next Wednesday myself" → "Share the slides from the demo".
  The speaker's person goes (I, my, your, myself: the owner is named beside the title), and so does the date phrase
  (the Due line has the date).
- `placeholders` / `check_publishable`: a small model sometimes writes a form's blanks ("held on [date]",
  "[Name] will ...", "TBD"). Such text must never be published; `check_publishable` is the check to run on anything
  before it goes out, and `drop_placeholder_sentences` removes such sentences from model-written text.
"""

from __future__ import annotations

import datetime as dt
import re

from transcripts.minutes.dates import find_due_dates

# How a task is said, not what it is: who takes it on and how they say so.
_LEAD = re.compile(
    r"^(?:(?:ok(?:ay)?|so|sure|yes|yeah|alright|and|also|then|well|um|uh|of course|no problem|absolutely|definitely)"
    r"[,.]?\s+)*"
    r"(?:(?:[A-Z][a-z]+),\s+)?"
    r"(?:(?:i|we)(?:'ll| will| can| could| shall|'m going to| am going to|'m gonna| am gonna| plan to| need to|"
    r" have to| should| promise to| volunteer to| want to| would like to)|let me|"
    r"(?:can|could|would|will) you(?: please)?|please|you (?:should|need to|could)|(?:can|could|will|shall)(?! you\b)|"
    r"(?:[A-Z][a-z]+) (?:will|is going to|can|has agreed to|volunteered to|offered to))\s+"
    r"(?:also\s+|then\s+|just\s+|quickly\s+|definitely\s+|go ahead and\s+|try to\s+|take care of\s+)*",
    re.IGNORECASE,
)
_TRAILING = re.compile(
    r"(?:[\s,]+(?:myself|yourself|for me|for us|as well|too|also|then|please|if that'?s ok(?:ay)?|"
    r"if you can|if possible|right|ok(?:ay)?|hopefully|probably|maybe|first thing))+[\s?.!]*$",
    re.IGNORECASE,
)
# "Leave the onboarding doc with me, I'll have a first draft": the thing left is what the task is about.
_LEFT_WITH_ME = re.compile(r"^(?:leave|give) (?P<thing>.+?) (?:with|to) me\b[,.;]?\s*(?:and\s+)?(?P<rest>.*)$", re.I)
_PRONOUN = re.compile(r"\b(?:it|them|that|this)\b", re.IGNORECASE)
_POSSESSIVE = re.compile(r"\b(?:my|your)\b", re.IGNORECASE)
_PERSONAL = re.compile(r"\s*\b(?:myself|yourself)\b", re.IGNORECASE)


def task_title(task: str, names: tuple[str, ...] = ()) -> str:
    """An imperative title for an action item, without the speaker's person, without the date phrase, and without
    a trailing address to one of `names` ("Update the packages, Tariq?")."""
    text = re.sub(r"\s+", " ", task).strip().strip("\"'“”").rstrip(".?!").strip()
    text = _LEAD.sub("", text, count=1)
    left = _LEFT_WITH_ME.match(text)
    if left:
        thing, rest = _POSSESSIVE.sub("the", left["thing"]), task_title(left["rest"], names) if left["rest"] else ""
        if _PRONOUN.fullmatch(thing) or not rest:
            return rest or f"Take on {thing}"  # "Leave it with me, I'll fix the parser": the rest says it all
        if _PRONOUN.search(rest):
            return _PRONOUN.sub(thing, rest, count=1)
        thing = re.sub(r"^(?:the|a|an)\s+", "", thing, flags=re.IGNORECASE)
        return f"{thing[:1].upper()}{thing[1:]}: {rest[:1].lower()}{rest[1:]}"
    for due in sorted(find_due_dates(text, dt.date.min), key=lambda d: -d.start):
        text = text[: due.start] + text[due.end :]
    text = _PERSONAL.sub("", text)
    text = _POSSESSIVE.sub("the", text)
    text = _TRAILING.sub("", text)
    first_names = [name.split()[0] for name in names if name.split()]
    if first_names:
        addressed = "|".join(re.escape(first) for first in first_names)
        text = re.sub(rf",\s*(?:{addressed})\W*$", "", text, flags=re.IGNORECASE)
    text = re.sub(r"\s+([,.;:?!])", r"\1", re.sub(r"\s+", " ", text)).strip(" ,;:")
    text = re.sub(r"\b(?:the the)\b", "the", text, flags=re.IGNORECASE)
    if not text:
        return task.strip()
    return text[:1].upper() + text[1:]


# ---- placeholders ---------------------------------------------------------------------------------------------

_TEMPLATE_WORDS = (
    r"date|time|day|name|names|your name|person|speaker|owner|assignee|title|topic|topics|link|url|email|company|"
    r"organi[sz]ation|project|group|team|location|place|number|amount|details?|description|summary|meeting(?: \w+)?|"
    r"insert[^\]]*|add[^\]]*|enter[^\]]*|fill[^\]]*|tbd|tba|todo|xx+|\.\.\.|…"
)
_BRACKETED = re.compile(rf"\[\s*(?:{_TEMPLATE_WORDS})\s*\]|\{{\{{?\s*\w+\s*\}}?\}}|<\s*(?:{_TEMPLATE_WORDS})\s*>", re.I)
_WORDS = re.compile(r"\b(?:TBD|TBA|TODO|FIXME|XXX)\b|\blorem ipsum\b|\bplaceholder\b|\bXX/XX(?:/XX(?:XX)?)?\b", re.I)
_MARKDOWN_LINK = re.compile(r"\[[^\[\]]*\]\([^()\s]*\)")
_CHECKBOX = re.compile(r"\[[ xX]\]")


def placeholders(text: str) -> list[str]:
    """The template blanks in `text` ("[date]", "[Name]", "{name}", "<topic>", "TBD", "placeholder"), in order.
    Markdown links ("[0:12](transcript.md#t=12)") and checklist boxes ("[ ]") are not blanks."""
    plain = (text or "").replace("\\[", "[").replace("\\]", "]").replace("\\<", "<").replace("\\>", ">")
    plain = _CHECKBOX.sub(" ", _MARKDOWN_LINK.sub(" ", plain))
    found = [(m.start(), m.group(0)) for m in _BRACKETED.finditer(plain)]
    found += [(m.start(), m.group(0)) for m in _WORDS.finditer(plain)]
    return [text for _, text in sorted(found)]


class UnpublishableText(ValueError):
    """Text that still holds template blanks; the message names them."""


def check_publishable(text: str, what: str = "text") -> str:
    """`text` unchanged when it holds no template blanks; else `UnpublishableText` naming them. The publisher calls
    this on every text it is about to post or file."""
    found = placeholders(text)
    if found:
        shown = ", ".join(dict.fromkeys(found))
        raise UnpublishableText(f"{what} holds template text that must not be published: {shown}")
    return text


_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def drop_placeholder_sentences(text: str) -> str:
    """`text` without the sentences that hold template blanks (each line of a list is looked at on its own)."""
    out_lines = []
    for line in (text or "").split("\n"):
        kept = [s for s in _SENTENCE.split(line) if not placeholders(s)]
        if kept or not line.strip():
            out_lines.append(" ".join(kept))
    return "\n".join(out_lines).strip()
