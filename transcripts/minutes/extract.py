"""Read the meeting part by part: for each part, show the model its lines once and ask the narrow questions.

Per part, the model reads a selection of lines within the part's token budget (`condense`), then answers, each in
its own request sharing that prefix: the action items, the wishes, the decisions and topics for next time, and the
part's topics for the long summary. A question is skipped for a part in which no line even looks like an answer to
it (no commitment phrase, no wish phrase...): code pre-selects, the model decides, code grounds (`grounding`).
Results of all parts are then merged and de-duplicated.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from transcripts.llm import LocalLLM
from transcripts.minutes import cues, prompts
from transcripts.minutes.chunking import Chunk
from transcripts.minutes.condense import document_frequencies, select_lines
from transcripts.minutes.dates import find_due_dates
from transcripts.minutes.grounding import Grounder
from transcripts.minutes.lines import Line, clock
from transcripts.minutes.summary import Section, drop_repeats
from transcripts.minutes.words import content_words, similarity, support
from transcripts.types import ActionItem, Hints, Wish

log = logging.getLogger(__name__)

MAX_ACTIONS = 30
MAX_WISHES = 15
MAX_DECISIONS = 15
MAX_NEXT_TOPICS = 8
DUPLICATE = 0.6  # similarity from which two items of the same kind (and owner) are one item

Tick = Callable[[str], None]
QUESTIONS_PER_PART = 4
ANSWER_TOKENS = {"action items": 360, "line check": 60, "wishes": 300, "decisions": 240, "long summary": 240,
                 "short summary": 200}
# Lines that look like a commitment but that the action-item answer did not cover get one small question each
# (the model's list misses one now and then); at most this many per part, those with a due date first.
CHECKS_PER_PART = 3


@dataclass(slots=True)
class ReadResult:
    actions: list[ActionItem] = field(default_factory=list)
    wishes: list[Wish] = field(default_factory=list)
    decisions: list[str] = field(default_factory=list)
    next_topics: list[str] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # parts the model gave no usable answer for


def _label(chunk: Chunk, count: int) -> str:
    return "the meeting" if count == 1 else f"part {chunk.number} ({clock(chunk.start)}-{clock(chunk.end)})"


def _render(lines: list[Line]) -> str:
    out: list[str] = []
    previous = None
    for line in lines:
        if previous is not None and line.number != previous + 1:
            out.append("...")
        out.append(line.render())
        previous = line.number
    return "\n".join(out)


def read_parts(
    llm: LocalLLM,
    chunks: list[Chunk],
    grounder: Grounder,
    hints: Hints,
    *,
    budget: int,
    tick: Tick = lambda _: None,
    answer_tokens: dict[str, int] | None = None,
) -> ReadResult:
    """Ask every part its questions; `budget`: transcript tokens shown to the model over all parts together."""
    result = ReadResult()
    limits = answer_tokens or ANSWER_TOKENS
    all_lines = [line for chunk in chunks for line in chunk.lines]
    df, n_docs = document_frequencies(all_lines)
    total = sum(chunk.tokens for chunk in chunks) or 1
    actions: list[ActionItem] = []
    wishes: list[Wish] = []
    decisions: list[tuple[str, float]] = []
    topics: list[tuple[str, float]] = []

    for chunk in chunks:
        share = max(300, budget * chunk.tokens // total)
        shown = select_lines(chunk.lines, share, llm.count_tokens, df, n_docs)
        label = _label(chunk, len(chunks))
        if not shown:
            for _ in range(QUESTIONS_PER_PART):
                tick("reading")
            continue
        prefix = prompts.transcript_message(_render(shown), grounder.speakers, hints.title, list(hints.agenda),
                                            partial=len(shown) < len(chunk.lines))

        def ask(question: str, answer_model, purpose: str):
            tick(purpose)
            max_tokens = limits.get(purpose, ANSWER_TOKENS[purpose])
            answer = llm.ask(system=prompts.SYSTEM, user=prefix + question, answer_model=answer_model,
                             max_tokens=max_tokens, purpose=f"{purpose} {chunk.number}/{len(chunks)}")
            if answer is None:
                result.notes.append(f"{purpose}: the model gave no usable answer for {label}")
            return answer

        def candidates(test) -> list[int]:
            return [line.number for line in shown if test(line.text)]

        # A question is asked only about a part where some line looks like an answer to it; the lines are named.
        commitments = candidates(cues.COMMITMENT.search)
        if not commitments:
            tick("action items")
        elif answer := ask(prompts.question(prompts.ACTIONS, commitments), prompts.ActionAnswer, "action items"):
            found = [a for c in answer.items if (a := grounder.action(c.owner, c.task, c.line))]
            actions += found
            for number in _unanswered(commitments, found, shown):
                line = next(line for line in shown if line.number == number)
                check = llm.ask(system=prompts.SYSTEM, user=prefix + prompts.CHECK_LINE.replace("{line}", line.render()),
                                answer_model=prompts.LineCheck, max_tokens=limits.get("line check", 60),
                                purpose=f"line check {number}")
                if check and check.task.strip() and (item := grounder.action(check.owner, check.task, number)):
                    actions.append(item)
        wished = candidates(cues.WISH.search)
        if not wished:
            tick("wishes")
        elif answer := ask(prompts.question(prompts.WISHES, wished), prompts.WishAnswer, "wishes"):
            wishes += [w for c in answer.wishes if (w := grounder.wish(c.title, c.details, c.line))]
        settled = candidates(cues.DECISION_OR_TOPIC.search)
        if not settled:
            tick("decisions")
        elif answer := ask(prompts.question(prompts.DECISIONS, settled), prompts.DecisionAnswer, "decisions"):
            decisions += [d for text in answer.decisions if (d := grounder.decision(text))]
            found = [t for text in answer.next_topics if (t := grounder.next_topic(text))]
            topics += found
            starts = {line.start: line.number for line in shown}
            covered = {starts.get(at) for _, at in found}
            proposals = [n for n in candidates(cues.NEXT_MEETING.search) if n not in covered][:CHECKS_PER_PART]
            for number in proposals:
                line = next(line for line in shown if line.number == number)
                check = llm.ask(system=prompts.SYSTEM, user=prefix + prompts.CHECK_TOPIC.replace("{line}", line.render()),
                                answer_model=prompts.TopicCheck, max_tokens=limits.get("line check", 60),
                                purpose=f"topic check {number}")
                if check and check.topic.strip() and (t := grounder.next_topic(check.topic)):
                    topics.append(t)
        # Fewer topics per part when there are many parts: the long summary stays readable and cheap to write.
        wanted = prompts.MAX_TOPICS_PER_PART if len(chunks) == 1 else 2 if len(chunks) <= 3 else 1
        if answer := ask(prompts.question(prompts.SECTIONS, topics=wanted), prompts.SectionAnswer, "long summary"):
            result.sections += _sections(answer, chunk, grounder)[:wanted]

    result.actions = _cap(_dedupe_actions(actions), MAX_ACTIONS, "action items")
    result.wishes = _cap(_dedupe_wishes(wishes), MAX_WISHES, "wishes")
    # A task of one person that the model also called a decision is an action item, not a decision.
    decided = [(text, at) for text, at in decisions
               if not any(similarity(text, a.task) >= 0.5 or (a.at == at and support(a.task, text) >= 0.5)
                          for a in result.actions)]
    result.decisions = _cap(_dedupe_texts(decided), MAX_DECISIONS, "decisions")
    result.next_topics = _cap(_dedupe_texts(topics), MAX_NEXT_TOPICS, "next topics")
    result.sections.sort(key=lambda s: s.start)
    for i, section in enumerate(result.sections[:-1]):
        section.end = max(section.start, min(section.end, result.sections[i + 1].start))
    return result


def _unanswered(candidates: list[int], found: list[ActionItem], shown: list[Line]) -> list[int]:
    """Candidate lines that no found item speaks of (and that say more than "yes, I will"), those with a due date
    first, capped."""
    texts = {line.number: line.text for line in shown}

    def open_question(n: int) -> bool:
        text = texts[n]
        if len(content_words(text)) <= 1:  # "Sure, I can do that.": an answer, its request holds the task
            return False
        if any(support(item.task, text) >= 0.5 for item in found):
            return False
        return bool(cues.COMMITMENT.search(text))

    left = [n for n in candidates if open_question(n)]
    left.sort(key=lambda n: (not find_due_dates(texts[n], dt.date.min), n))
    return sorted(left[:CHECKS_PER_PART])


def _sections(answer: prompts.SectionAnswer, chunk: Chunk, grounder: Grounder) -> list[Section]:
    out: list[Section] = []
    for topic in answer.topics:
        summary = drop_repeats(topic.summary)
        if any(similarity(topic.title, s.title) >= 0.8 for s in out):
            continue
        # A section starts where its words are found within this part (the part's start otherwise).
        found = grounder.find_support(f"{topic.title} {summary}", within=(chunk.lines[0].number, chunk.lines[-1].number))
        start = grounder.lines[found].start if found is not None else chunk.start
        out.append(Section(topic.title.strip().rstrip("."), summary, start, chunk.end))
    out.sort(key=lambda s: s.start)
    if out:
        out[0].start = min(out[0].start, chunk.start)
    return out


def _dedupe_actions(items: list[ActionItem]) -> list[ActionItem]:
    kept: list[ActionItem] = []
    for item in sorted(items, key=lambda a: a.at):
        twin = next((k for k in kept if k.owner == item.owner and (
            similarity(k.task, item.task) >= DUPLICATE or (k.at == item.at and similarity(k.task, item.task) > 0.3))),
            None)
        if twin is None:
            kept.append(item)
        elif twin.due is None and item.due is not None:
            twin.due = item.due
    return kept


def _dedupe_wishes(items: list[Wish]) -> list[Wish]:
    kept: list[Wish] = []
    for item in sorted(items, key=lambda w: w.at):
        if not any(similarity(item.title, k.title) >= DUPLICATE or k.at == item.at for k in kept):
            kept.append(item)
    return kept


def _dedupe_texts(items: list[tuple[str, float]]) -> list[str]:
    kept: list[str] = []
    for text, _ in sorted(items, key=lambda t: t[1]):
        if not any(similarity(text, k) >= DUPLICATE for k in kept):
            kept.append(text)
    return kept


def _cap(items: list, limit: int, kind: str) -> list:
    if len(items) > limit:
        log.warning("%d %s found; keeping the first %d", len(items), kind, limit)
    return items[:limit]
