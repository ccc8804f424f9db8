"""The item passes: per part of the meeting, ask the model one narrow question, then ground every answer in code.

Passes run question by question over all parts (all action questions, then all wish questions, ...) so llama.cpp
reuses the identical system prompt from its cache instead of reading it again for every part.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from transcripts.llm import LocalLLM
from transcripts.minutes import cues, prompts
from transcripts.minutes.chunking import Chunk
from transcripts.minutes.grounding import Grounder
from transcripts.minutes.lines import clock
from transcripts.minutes.words import similarity
from transcripts.types import ActionItem, Hints, Wish

log = logging.getLogger(__name__)

MAX_ACTIONS = 30
MAX_WISHES = 15
MAX_DECISIONS = 15
MAX_NEXT_TOPICS = 8
DUPLICATE = 0.6  # similarity above which two items of the same owner are the same item


@dataclass(slots=True)
class PassResult:
    actions: list[ActionItem] = field(default_factory=list)
    wishes: list[Wish] = field(default_factory=list)
    decisions: list[str] = field(default_factory=list)
    next_topics: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # parts the model gave no usable answer for


Tick = Callable[[str], None]


def _part_label(chunk: Chunk, chunks: list[Chunk]) -> str:
    if len(chunks) == 1:
        return "the meeting"
    return f"part {chunk.number} ({clock(chunk.start)}-{clock(chunk.end)})"


def _ask_per_part(
    llm: LocalLLM,
    chunks: list[Chunk],
    pattern,
    system: str,
    answer_model,
    max_tokens: int,
    purpose: str,
    hints: Hints,
    speakers: list[str],
    notes: list[str],
    tick: Tick,
):
    """Yield (chunk, answer) for each part that has candidate lines; record parts that got no usable answer."""
    for chunk in chunks:
        selected = cues.select(chunk.lines, pattern)
        tick(purpose)
        if not selected:
            continue
        partial = len(selected) < len(chunk.lines)
        message = prompts.transcript_message(cues.render(selected), speakers, hints.title, hints.agenda, partial)
        answer = llm.ask(system=system, user=message, answer_model=answer_model, max_tokens=max_tokens,
                         purpose=f"{purpose} {chunk.number}/{len(chunks)}")
        if answer is None:
            notes.append(f"{purpose}: the model gave no usable answer for {_part_label(chunk, chunks)}")
            continue
        yield chunk, answer


def _dedupe_actions(items: list[ActionItem]) -> list[ActionItem]:
    kept: list[ActionItem] = []
    for item in sorted(items, key=lambda a: a.at):
        twin = next(
            (k for k in kept if k.owner == item.owner and (k.at == item.at and similarity(k.task, item.task) > 0.3
                                                           or similarity(k.task, item.task) >= DUPLICATE)),
            None,
        )
        if twin is None:
            kept.append(item)
        elif twin.due is None and item.due is not None:
            twin.due = item.due
    return kept


def _dedupe_wishes(items: list[Wish]) -> list[Wish]:
    kept: list[Wish] = []
    for item in sorted(items, key=lambda w: w.at):
        text = f"{item.title} {item.details}"
        if not any(similarity(item.title, k.title) >= DUPLICATE or (k.at == item.at and
                   similarity(text, f"{k.title} {k.details}") > 0.3) for k in kept):
            kept.append(item)
    return kept


def _dedupe_texts(items: list[tuple[str, float]]) -> list[str]:
    kept: list[str] = []
    for text, _ in sorted(items, key=lambda t: t[1]):
        if not any(similarity(text, k) >= DUPLICATE for k in kept):
            kept.append(text)
    return kept


def extract_items(
    llm: LocalLLM, chunks: list[Chunk], grounder: Grounder, hints: Hints, tick: Tick = lambda _: None
) -> PassResult:
    result = PassResult()
    speakers = grounder.speakers

    actions: list[ActionItem] = []
    for _chunk, answer in _ask_per_part(llm, chunks, cues.ACTION, prompts.ACTIONS, prompts.ActionAnswer, 400,
                                        "action items", hints, speakers, result.notes, tick):
        for cand in answer.items:
            item = grounder.action(cand.owner, cand.task, cand.line)
            if item is not None:
                actions.append(item)

    wishes: list[Wish] = []
    for _chunk, answer in _ask_per_part(llm, chunks, cues.WISH, prompts.WISHES, prompts.WishAnswer, 320,
                                        "wishes", hints, speakers, result.notes, tick):
        for cand in answer.wishes:
            wish = grounder.wish(cand.title, cand.details, cand.line)
            if wish is not None:
                wishes.append(wish)

    decisions: list[tuple[str, float]] = []
    topics: list[tuple[str, float]] = []
    for _chunk, answer in _ask_per_part(llm, chunks, cues.DECISION_OR_TOPIC, prompts.DECISIONS, prompts.DecisionAnswer, 260,
                                        "decisions", hints, speakers, result.notes, tick):
        decisions += [d for d in (grounder.statement("decision", text) for text in answer.decisions) if d]
        topics += [t for t in (grounder.statement("next topic", text) for text in answer.next_topics) if t]

    result.actions = _cap(_dedupe_actions(actions), MAX_ACTIONS, "action items")
    result.wishes = _cap(_dedupe_wishes(wishes), MAX_WISHES, "wishes")
    result.decisions = _cap(_dedupe_texts(decisions), MAX_DECISIONS, "decisions")
    result.next_topics = _cap(_dedupe_texts(topics), MAX_NEXT_TOPICS, "next topics")
    return result


def _cap(items: list, limit: int, kind: str) -> list:
    if len(items) > limit:
        log.warning("%d %s found; keeping the first %d", len(items), kind, limit)
    return items[:limit]
