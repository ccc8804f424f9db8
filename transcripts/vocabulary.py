"""Vocabulary hints for Whisper: the meeting's names and jargon, written as the "previous text" of every window.

Whisper continues the style and spelling of the text it is prompted with, so a short, well-punctuated sentence
with the speakers' names, the group's glossary and the agenda topics makes "Jeshli", "SIMD" and "HNSW" come out
spelled right instead of as the nearest common words.
"""

from __future__ import annotations

from collections.abc import Iterable

from .types import Hints

# faster-whisper keeps the last 223 tokens of a prompt; about 4 characters per token leaves room to spare
MAX_PROMPT_CHARS = 600


def _unique(items: Iterable[str]) -> list[str]:
    seen: dict[str, str] = {}
    for item in items:
        text = " ".join(str(item).split()).strip(" ,;.")
        if text and text.lower() not in seen:
            seen[text.lower()] = text
    return list(seen.values())


def _sentence(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def build_prompt(hints: Hints | None, speakers: Iterable[str] = (), max_chars: int = MAX_PROMPT_CHARS) -> str | None:
    """One prompt from `hints` plus the recording's speaker names, or None when there is nothing to say.

    The most useful part comes last (names, then glossary), because a prompt that is too long loses its start.
    """
    hints = hints or Hints()
    parts: list[str] = []
    # Plain sentences, no "Agenda:"-style labels: a label is a word Whisper may then write into the transcript.
    title = " ".join((hints.title or "").split()).rstrip(".")
    group = " ".join((hints.group_name or "").split()).rstrip(".")
    if title and group and group.lower() not in title.lower():
        parts.append(f"{group}, {title}.")
    elif title or group:
        parts.append(f"{title or group}.")
    agenda = _unique(hints.agenda)
    if agenda:
        parts.append(_sentence(agenda) + ".")
    glossary = _unique(hints.glossary)
    if glossary:
        parts.append(", ".join(glossary) + ".")
    names = _unique([*hints.speakers, *speakers])
    if names:
        parts.append(f"With {_sentence(names)}.")
    if not parts:
        return None
    prompt = " ".join(parts)
    if len(prompt) > max_chars:
        # keep the end (names and terms); cut at a word boundary
        prompt = prompt[-max_chars:]
        prompt = prompt[prompt.find(" ") + 1 :] if " " in prompt else prompt
    return prompt
