"""Summaries: one per part of the meeting (the long version's sections), then a short one written from those.

Each part is summarized from its most informative lines within a token budget (`condense`), so a 60-minute call is
summarized over its whole length; the short summary is then written from the part summaries only.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from transcripts.llm import LocalLLM
from transcripts.minutes import prompts
from transcripts.minutes.chunking import Chunk
from transcripts.minutes.condense import condense, document_frequencies
from transcripts.minutes.cues import WITHHELD, is_injection
from transcripts.minutes.grounding import Grounder
from transcripts.minutes.lines import Line, clock
from transcripts.minutes.words import similarity

log = logging.getLogger(__name__)

SHORT_SUMMARY_LIMIT = 1200


@dataclass(slots=True)
class Section:
    title: str
    summary: str
    start: float
    end: float


@dataclass(slots=True)
class SummaryResult:
    sections: list[Section] = field(default_factory=list)
    summary: str = ""
    notes: list[str] = field(default_factory=list)


def _render(lines: list[Line]) -> str:
    out, previous = [], None
    for line in lines:
        if previous is not None and line.number != previous + 1:
            out.append("...")
        out.append(f"{line.speaker}: {WITHHELD if is_injection(line) else line.text}")
        previous = line.number
    return "\n".join(out)


def _sentences_trimmed(text: str, limit: int) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) <= limit:
        return text
    cut = text[:limit]
    end = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "))
    return cut[: end + 1] if end > limit // 3 else cut.rsplit(" ", 1)[0] + "…"


def _drop_repeats(text: str) -> str:
    """Small models repeat a sentence; keep each sentence once."""
    kept: list[str] = []
    for sentence in re.split(r"(?<=[.!?])\s+", text.strip()):
        if sentence and not any(similarity(sentence, k) >= 0.8 for k in kept):
            kept.append(sentence)
    return " ".join(kept)


def summarize(
    llm: LocalLLM,
    chunks: list[Chunk],
    grounder: Grounder,
    *,
    title: str | None,
    agenda: list[str],
    input_budget: int,
    tick: Callable[[str], None] = lambda _: None,
) -> SummaryResult:
    """Section summaries per part within `input_budget` transcript tokens in total, then the short summary."""
    result = SummaryResult()
    all_lines = [line for chunk in chunks for line in chunk.lines]
    df, n_docs = document_frequencies(all_lines)
    total_tokens = sum(chunk.tokens for chunk in chunks) or 1
    speakers = grounder.speakers
    for chunk in chunks:
        tick("summary")
        share = max(200, int(input_budget * chunk.tokens / total_tokens))
        chosen = condense(chunk.lines, share, llm.count_tokens, df, n_docs)
        if not chosen:
            continue
        partial = len(chosen) < len(chunk.lines)
        message = prompts.transcript_message(_render(chosen), speakers, title, agenda, partial)
        answer = llm.ask(system=prompts.SECTIONS, user=message, answer_model=prompts.SectionAnswer, max_tokens=260,
                         purpose=f"summary {chunk.number}/{len(chunks)}")
        label = "the meeting" if len(chunks) == 1 else f"part {chunk.number} ({clock(chunk.start)}-{clock(chunk.end)})"
        if answer is None:
            result.notes.append(f"long summary: the model gave no usable answer for {label}")
            continue
        for topic in answer.topics:
            summary = _drop_repeats(topic.summary)
            # A section's time is where its words are found in this part; its start otherwise.
            found = grounder.find_support(f"{topic.title} {summary}")
            start = grounder.lines[found].start if found is not None else chunk.start
            start = start if chunk.start <= start <= chunk.end else chunk.start
            if any(similarity(topic.title, s.title) >= 0.8 and similarity(summary, s.summary) >= 0.6
                   for s in result.sections):
                continue
            result.sections.append(Section(topic.title.strip(), summary, start, chunk.end))
    result.sections.sort(key=lambda s: s.start)
    for i, section in enumerate(result.sections[:-1]):
        section.end = max(section.start, result.sections[i + 1].start)

    tick("short summary")
    if result.sections:
        notes = "\n".join(f"- {s.title}: {s.summary}" for s in result.sections)
        head = f"Meeting: {title}\n" if title else ""
        answer = llm.ask(system=prompts.SUMMARY, user=f"{head}Notes on each part, in order:\n{notes}",
                         answer_model=prompts.SummaryAnswer, max_tokens=220, purpose="short summary")
        if answer is None:
            result.notes.append("summary: the model gave no usable answer")
        else:
            result.summary = _sentences_trimmed(_drop_repeats(answer.summary), SHORT_SUMMARY_LIMIT)
    return result


def long_summary_markdown(sections: list[Section]) -> str:
    """The long summary: one Markdown section per topic, with its time span."""
    return "\n\n".join(f"### {s.title} ({clock(s.start)}–{clock(s.end)})\n\n{s.summary}" for s in sections)
