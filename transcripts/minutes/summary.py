"""The summaries: sections per topic (the long version) and a short one written from them (forum, Discord)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from transcripts.llm import LocalLLM
from transcripts.minutes import prompts
from transcripts.minutes.lines import clock
from transcripts.minutes.words import similarity

SHORT_SUMMARY_LIMIT = 1200


@dataclass(slots=True)
class Section:
    title: str
    summary: str
    start: float
    end: float


def drop_repeats(text: str) -> str:
    """Small models repeat a sentence; keep each sentence once."""
    kept: list[str] = []
    for sentence in re.split(r"(?<=[.!?])\s+", re.sub(r"\s+", " ", text).strip()):
        if sentence and not any(similarity(sentence, k) >= 0.8 for k in kept):
            kept.append(sentence)
    return " ".join(kept)


def trim_to(text: str, limit: int) -> str:
    """`text` cut to `limit` characters at a sentence end (or a word, with an ellipsis)."""
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) <= limit:
        return text
    cut = text[:limit]
    end = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "), cut.rfind(".") if cut.endswith(".") else -1)
    if end > limit // 3:
        return cut[: end + 1]
    return cut[: limit - 1].rsplit(" ", 1)[0] + "…"


def short_summary(
    llm: LocalLLM, sections: list[Section], title: str | None, speakers: list[str], max_tokens: int = 200
) -> str | None:
    """Two to four sentences over the whole meeting, written from the section summaries; None if the model fails."""
    notes = "\n".join(f"- ({clock(s.start)}) {s.title}: {s.summary}" for s in sections)
    head = f"Meeting: {title}\n" if title else ""
    user = (
        f"{head}Speakers: {', '.join(speakers)}\n\nNotes on the meeting, in order:\n<<<\n{notes}\n>>>\n\n"
        f"{prompts.SUMMARY}"
    )
    answer = llm.ask(
        system=prompts.SYSTEM,
        user=user,
        answer_model=prompts.SummaryAnswer,
        max_tokens=max_tokens,
        purpose="short summary",
    )
    if answer is None:
        return None
    return trim_to(drop_repeats(answer.summary), SHORT_SUMMARY_LIMIT)


def escape_markdown(text: str) -> str:
    """Keep model or speech text from turning into Markdown structure (links, emphasis, HTML)."""
    text = " ".join(text.split())
    for char in ("\\", "*", "_", "`", "[", "]", "<", ">"):
        text = text.replace(char, "\\" + char)
    return "\\" + text if text.startswith(("#", "-", "+", ">", "|")) else text


def long_summary_markdown(sections: list[Section]) -> str:
    """One Markdown section per topic, with its time span in the meeting."""
    return "\n\n".join(
        f"### {escape_markdown(s.title)} ({clock(s.start)}–{clock(s.end)})\n\n{escape_markdown(s.summary)}"
        for s in sections
    )
