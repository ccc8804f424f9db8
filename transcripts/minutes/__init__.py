"""Minutes from a transcript: summary, long summary, decisions, action items, wishes, links, topics for next time.

    minutes = make_minutes(transcript, meeting_date=dt.date(2026, 11, 26), hints=Hints(title="Weekly sync"))

How: the transcript becomes numbered lines (`lines`), split into parts that fit the model's context at topic changes
(`chunking`). For each part, code pre-selects the lines worth asking about (`cues`) and the local model answers one
narrow question at a time in schema-constrained JSON (`extract`, `summarize`, `prompts`). Then code grounds every
answer in the transcript (`grounding`) — owners, supporting lines, due dates resolved from the meeting date (`dates`) —
and drops what it cannot find. Links are found by code alone (`links`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from transcripts.llm import DEFAULT_N_CTX, LocalLLM, load_llm
from transcripts.minutes.chunking import chunk_lines
from transcripts.minutes.cues import is_injection
from transcripts.minutes.extract import extract_items
from transcripts.minutes.grounding import Grounder
from transcripts.minutes.lines import clock, transcript_lines
from transcripts.minutes.links import find_links
from transcripts.minutes.summarize import long_summary_markdown, summarize
from transcripts.types import Hints, Minutes, Transcript

__all__ = ["MinutesOptions", "make_minutes"]

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]  # (what is being done, steps done, steps in all)


@dataclass(frozen=True, slots=True)
class MinutesOptions:
    # Transcript tokens per part. The prompt (part + instructions + answer) must fit `n_ctx`.
    part_tokens: int = 2400
    # Transcript tokens read, over all parts together, to write the section summaries. This, not the meeting's
    # length, bounds the summary's cost: a long meeting is summarized from its most informative lines.
    summary_budget: int = 2000
    n_ctx: int = DEFAULT_N_CTX
    days_to_next_meeting: int = 7


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
) -> Minutes:
    """The minutes of one meeting. `llm`: a loaded model, a model name/path/URL, or None for the configured default.

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

    steps = 4 * len(chunks) + 1
    done = 0

    def tick(what: str) -> None:
        nonlocal done
        if progress:
            progress(what, done, steps)
        done += 1

    items = extract_items(model, chunks, grounder, hints, tick)
    summary = summarize(model, chunks, grounder, title=hints.title, agenda=list(hints.agenda),
                        input_budget=options.summary_budget, tick=tick)
    if progress:
        progress("done", steps, steps)

    notes = items.notes + summary.notes
    withheld = [line for line in lines if is_injection(line)]
    if withheld:
        times = ", ".join(clock(line.start) for line in withheld[:5])
        notes.append(f"{len(withheld)} line(s) addressed to the note-taker were not acted on (at {times}).")
    for reason in grounder.dropped:
        log.info("ungrounded: %s", reason)
    return Minutes(
        summary=summary.summary,
        long_summary=long_summary_markdown(summary.sections),
        decisions=items.decisions,
        action_items=items.actions,
        wishes=items.wishes,
        links=links,
        next_topics=items.next_topics,
        notes=notes,
    )
