"""Minutes from a transcript: summary, long summary, decisions, action items, wishes, links, topics for next time.

    minutes = make_minutes(transcript, meeting_date=dt.date(2026, 11, 26), hints=Hints(title="Weekly sync"))

How: the transcript becomes numbered lines (`lines`), split into parts that fit the model's context at topic changes
(`chunking`). During a call, `read_ahead` reads the parts that are already over, so that at its end `make_minutes`
finds their answers in the cache and reads only the last part. For each part, code pre-selects the lines worth
asking about (`cues`) and the local model answers narrow questions in schema-constrained JSON, the questions of all
parts decoded side by side (`extract`, `summary`, `prompts`, `transcripts.decoding`). Then code grounds every
answer in the transcript (`grounding`) — who took what on in which exchange of turns (`dialogue`), due dates resolved
from the meeting date (`dates`) — and drops what it cannot find; summary points are kept only when the lines they
summarize say them (`summary`), and nothing with template blanks is kept (`titles`). Links are found by code alone
(`links`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from transcripts import clock as meeting_clock
from transcripts.answer_cache import AnswerCache
from transcripts.llm import DEFAULT_N_CTX, LocalLLM, load_llm
from transcripts.minutes.chunking import chunk_lines
from transcripts.minutes.cues import is_injection
from transcripts.minutes.extract import ANSWER_TOKENS, QUESTIONS_PER_PART, part_budgets, read_parts
from transcripts.minutes.grounding import Grounder
from transcripts.minutes.lines import transcript_lines
from transcripts.minutes.links import find_links
from transcripts.minutes.summary import long_summary_markdown, short_summary_markdown
from transcripts.minutes.titles import drop_placeholder_sentences, placeholders
from transcripts.types import Hints, Minutes, Transcript

__all__ = ["MinutesOptions", "make_minutes", "read_ahead", "without_placeholders"]

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]  # (what is being done, steps done, steps in all)


@dataclass(frozen=True, slots=True)
class MinutesOptions:
    # Transcript tokens per part (topic section). A part is read with one prompt, so with its questions and answer
    # it must fit `n_ctx`.
    part_tokens: int = 3500
    # Transcript tokens the model reads of a full part: a long part is read as a selection of its lines (see
    # `condense`), so the cost grows with the number of parts, about one per quarter of an hour.
    read_per_part: int = 600
    # ... and at least this many over the whole meeting: a meeting this short is read whole.
    read_budget: int = 2400
    n_ctx: int = DEFAULT_N_CTX
    days_to_next_meeting: int = 7
    # Longest answer, in tokens, per question (the schemas' caps fit within these).
    answer_tokens: dict[str, int] = field(default_factory=lambda: dict(ANSWER_TOKENS))


def make_minutes(
    transcript: Transcript,
    *,
    meeting_date: dt.date,
    hints: Hints | None = None,
    llm: LocalLLM | str | None = None,
    chat_text: str | None = None,
    next_meeting: dt.date | None = None,
    options: MinutesOptions = MinutesOptions(),
    progress: Progress | None = None,
    cache: AnswerCache | None = None,
) -> Minutes:
    """The minutes of one meeting. `llm`: a loaded model, a model name/path/URL, or None for the configured default.

    `chat_text`: the call's text chat, for links. `next_meeting`: for "by the next meeting" (default: a week later).
    `cache`: answers found there (from `read_ahead` during the call) are not asked again.
    Parts the model gives no usable answer for (twice) are left out and listed in `Minutes.notes`.
    """
    hints = hints or Hints()
    lines = transcript_lines(transcript)
    links = find_links(" ".join(line.text for line in lines), chat_text)
    if not lines:
        return Minutes(links=links, notes=["The transcript has no speech; there is nothing to summarize."])
    model = llm if isinstance(llm, LocalLLM) else load_llm(llm, n_ctx=options.n_ctx)
    next_meeting = next_meeting or meeting_date + dt.timedelta(days=options.days_to_next_meeting)
    chunks = chunk_lines(lines, model.count_tokens, options.part_tokens)
    grounder = Grounder(lines, meeting_date, next_meeting, extra_names=list(hints.speakers))
    log.info("minutes: %d lines in %d part(s), model %s", len(lines), len(chunks), model.name)

    steps = QUESTIONS_PER_PART * len(chunks) + 1
    done = 0

    def tick(what: str) -> None:
        nonlocal done
        if progress:
            progress(what, done, steps)
        done += 1

    budgets = part_budgets(
        chunks, per_part=options.read_per_part, part_tokens=options.part_tokens, meeting=options.read_budget
    )
    with model.answers_from(cache):
        read = read_parts(
            model, chunks, grounder, hints, budgets=budgets, tick=tick, answer_tokens=options.answer_tokens
        )
        notes = list(read.notes)
    tick("short summary")  # written by code from the topics' checked points
    summary = short_summary_markdown(read.sections)
    if not read.sections:
        notes.append("summary: not written, because no part of the meeting could be summarized")
    if progress:
        progress("done", steps, steps)

    withheld = [line for line in lines if is_injection(line)]
    if withheld:
        times = ", ".join(meeting_clock.short(line.start) for line in withheld[:5])
        notes.append(f"{len(withheld)} line(s) addressed to the note-taker were not acted on (at {times}).")
    return without_placeholders(
        Minutes(
            summary=summary,
            long_summary=long_summary_markdown(read.sections),
            decisions=read.decisions,
            action_items=read.actions,
            wishes=read.wishes,
            links=links,
            next_topics=read.next_topics,
            notes=notes,
        )
    )


def without_placeholders(minutes: Minutes) -> Minutes:
    """The minutes without any sentence or item that holds template blanks ("[date]", "[Name]", "TBD")."""
    return minutes.model_copy(
        update={
            "summary": drop_placeholder_sentences(minutes.summary),
            "long_summary": drop_placeholder_sentences(minutes.long_summary),
            "decisions": [d for d in minutes.decisions if not placeholders(d)],
            "next_topics": [t for t in minutes.next_topics if not placeholders(t)],
            "action_items": [a for a in minutes.action_items if not placeholders(f"{a.owner} {a.task}")],
            "wishes": [w for w in minutes.wishes if not placeholders(f"{w.title} {w.details}")],
        }
    )


def read_ahead(
    transcript: Transcript,
    *,
    meeting_date: dt.date,
    cache: AnswerCache,
    hints: Hints | None = None,
    llm: LocalLLM | str | None = None,
    next_meeting: dt.date | None = None,
    options: MinutesOptions = MinutesOptions(),
) -> int:
    """During the call: ask the questions of the parts of `transcript` (what is final of it so far) that more speech
    can no longer change, keeping the answers in `cache` for `make_minutes` at the end. Parts read before are
    answered from the cache at once. Returns the number of such parts."""
    hints = hints or Hints()
    lines = transcript_lines(transcript)
    model = llm if isinstance(llm, LocalLLM) else load_llm(llm, n_ctx=options.n_ctx)
    chunks = chunk_lines(lines, model.count_tokens, options.part_tokens, complete=False)
    if not chunks:
        return 0
    next_meeting = next_meeting or meeting_date + dt.timedelta(days=options.days_to_next_meeting)
    grounder = Grounder(lines, meeting_date, next_meeting, extra_names=list(hints.speakers))
    budgets = part_budgets(
        chunks,
        per_part=options.read_per_part,
        part_tokens=options.part_tokens,
        meeting=options.read_budget,
        complete=False,
    )
    with model.answers_from(cache):
        read_parts(model, chunks, grounder, hints, budgets=budgets, complete=False, answer_tokens=options.answer_tokens)
    return len(chunks)
