"""Read the meeting part by part: for each part, show the model its lines once and ask the narrow questions.

Per part, the model reads a selection of lines within the part's token budget (`condense`), then answers, each in
its own request sharing that prefix: the action items, the wishes, the decisions and topics for next time, and the
part's topics for the long summary. A question is skipped for a part in which no line even looks like an answer to
it (no commitment phrase, no wish phrase...): code pre-selects, the model decides, code grounds (`grounding`).
Results of all parts are then merged and de-duplicated.

What the model is shown of a part depends on that part alone (its lines, its speakers, its budget), never on how
long the meeting turns out to be: so the parts of a call still going on can be read while it goes on, and the
answers are found again, unchanged, when the minutes are written at its end (`transcripts.answer_cache`).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from transcripts import clock as meeting_clock
from transcripts.llm import Flow, LocalLLM, Question
from transcripts.minutes import cues, prompts
from transcripts.minutes.chunking import Chunk
from transcripts.minutes.condense import document_frequencies, select_lines
from transcripts.minutes.dates import find_due_dates
from transcripts.minutes.dialogue import clauses
from transcripts.minutes.grounding import MIN_LINE_SUPPORT, Grounder
from transcripts.minutes.lines import Line
from transcripts.minutes.summary import (
    Section,
    evidence_of,
    reads_as_a_sentence,
    supported_points,
    topic_heading,
    unsupported,
)
from transcripts.minutes.titles import placeholders
from transcripts.minutes.words import content_words, similarity, support
from transcripts.types import ActionItem, Hints, Wish

log = logging.getLogger(__name__)

MAX_ACTIONS = 30
MAX_WISHES = 15
MAX_DECISIONS = 15
MAX_NEXT_TOPICS = 8
DUPLICATE = 0.6  # similarity from which two decisions or topics are one
SAME_TASK = 0.8  # ... and two tasks of one owner (or wishes) on different lines: a repeated commitment
_PLACEHOLDER = re.compile(r"<[^<>]*>")  # a "<...>" of the answer form in a question

Tick = Callable[[str], None]
QUESTIONS_PER_PART = 4
ANSWER_TOKENS = {
    "action items": 360,
    "line check": 60,
    "wishes": 300,
    "decisions": 240,
    "long summary": 300,
}
# Lines that look like a commitment but that the action-item answer did not cover get one small question each
# (the model's list misses one now and then); at most this many per part, those with a due date first.
CHECKS_PER_PART = 2


@dataclass(slots=True)
class ReadResult:
    actions: list[ActionItem] = field(default_factory=list)
    wishes: list[Wish] = field(default_factory=list)
    decisions: list[str] = field(default_factory=list)
    next_topics: list[str] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # parts the model gave no usable answer for
    timed_decisions: list[tuple[str, float]] = field(default_factory=list)  # before de-duplication
    timed_topics: list[tuple[str, float]] = field(default_factory=list)


def _label(chunk: Chunk, count: int) -> str:
    return (
        "the meeting"
        if count == 1
        else f"part {chunk.number} ({meeting_clock.short(chunk.start)}-{meeting_clock.short(chunk.end)})"
    )


def _render(lines: list[Line]) -> str:
    """The lines as the model reads them, numbered from 1 within the part (`_Part.local`), "..." where lines are
    left out."""
    out: list[str] = []
    previous = None
    for i, line in enumerate(lines, 1):
        if previous is not None and line.number != previous + 1:
            out.append("...")
        out.append(_local(line, i))
        previous = line.number
    return "\n".join(out)


def _local(line: Line, number: int) -> str:
    # The transcript's own numbers run into the hundreds, and the model's tokenizer spends a token per digit: a
    # part's lines are numbered from 1 (fewer tokens read and written), and code maps the numbers back.
    return f"[{number}] {line.speaker}: {line.text}"


MIN_PART_READ = 300  # transcript tokens shown of any part, however short


def part_budgets(
    chunks: list[Chunk], *, per_part: int, part_tokens: int, meeting: int, complete: bool = True
) -> list[int]:
    """Transcript tokens shown of each part: `per_part` for a full part (`part_tokens` long), in proportion for a
    shorter one; the last part of a finished meeting also gets what is left of `meeting` (so a meeting that short
    is read whole). Each budget but the last depends on its own part only."""
    budgets = [max(MIN_PART_READ, per_part * chunk.tokens // part_tokens) for chunk in chunks]
    if complete and budgets:
        budgets[-1] = max(budgets[-1], meeting - sum(budgets[:-1]))
    return budgets


def read_parts(
    llm: LocalLLM,
    chunks: list[Chunk],
    grounder: Grounder,
    hints: Hints,
    *,
    budgets: list[int],
    complete: bool = True,
    tick: Tick = lambda _: None,
    answer_tokens: dict[str, int] | None = None,
) -> ReadResult:
    """Ask every part its questions, showing `budgets[i]` transcript tokens of part i. `complete=False`: the
    meeting is still going on, and these are its first parts (none of them the last)."""
    result = ReadResult()
    single = complete and len(chunks) == 1
    flows = []
    for chunk, budget in zip(chunks, budgets):
        df, n_docs = document_frequencies(chunk.lines)
        shown = select_lines(chunk.lines, budget, llm.count_tokens, df, n_docs)
        if not shown:
            for _ in range(QUESTIONS_PER_PART):
                tick("reading")
            continue
        part = _Part(
            chunk, len(chunks), shown, grounder, hints, result, tick, answer_tokens or ANSWER_TOKENS, single=single
        )
        flows += [part.action_items(), part.wishes(), part.decisions(), part.sections()]
    llm.ask_all(flows)  # all parts' questions side by side, the first parts first

    similar = grounder.similarity  # weighted by rarity: "write a report on X" and "... on Y" are not one task
    result.actions = _cap(_dedupe_actions(result.actions, similar), MAX_ACTIONS, "action items")
    result.wishes = _cap(_dedupe_wishes(result.wishes, similar), MAX_WISHES, "wishes")
    # A task of one person that the model also called a decision is an action item, not a decision.
    decided = [
        (text, at)
        for text, at in result.timed_decisions
        if not any(
            similar(text, a.task) >= 0.5 or (a.at == at and grounder.support(a.task, text) >= 0.5)
            for a in result.actions
        )
    ]
    result.decisions = _cap(_dedupe_texts(decided, similar), MAX_DECISIONS, "decisions")
    result.next_topics = _cap(_dedupe_texts(result.timed_topics, similar), MAX_NEXT_TOPICS, "next topics")
    result.sections.sort(key=lambda s: s.start)
    for i, section in enumerate(result.sections[:-1]):
        section.end = max(section.start, min(section.end, result.sections[i + 1].start))
    _attach_decisions(result.sections, result.decisions, result.timed_decisions)
    _attach_actions(result.sections, result.actions, evidence_of(grounder.lines))
    return result


class _Part:
    """The questions about one part. All share one prompt prefix (the part's lines), so only the first reads them.

    Each question method is a flow for `LocalLLM.ask_all`: it yields its questions and gets their answers, so a
    follow-up (a line the action items missed) is asked while the other questions are still being answered.
    """

    def __init__(
        self,
        chunk: Chunk,
        parts: int,
        shown: list[Line],
        grounder: Grounder,
        hints: Hints,
        result: ReadResult,
        tick: Tick,
        limits: dict[str, int],
        single: bool,
    ) -> None:
        self.chunk, self.parts, self.shown, self.grounder = chunk, parts, shown, grounder
        self.result, self.tick, self.limits, self.single = result, tick, limits, single
        self.label = _label(chunk, parts)
        self.local = {line.number: i for i, line in enumerate(shown, 1)}  # transcript number -> number shown
        speakers = list(dict.fromkeys(line.speaker for line in chunk.lines))
        self.prefix = prompts.transcript_message(
            _render(shown), speakers, hints.title, list(hints.agenda), partial=len(shown) < len(chunk.lines)
        )

    def _ask(self, question: str, answer_model, purpose: str, required: bool = True):
        answer = yield Question(
            system=prompts.SYSTEM,
            user=self.prefix + question,
            answer_model=answer_model,
            max_tokens=self.limits.get(purpose, ANSWER_TOKENS[purpose]),
            purpose=f"{purpose} {self.chunk.number}/{self.parts}",
        )
        if required:
            self.tick(purpose)
        if answer is None and required:  # a failed extra check only loses what it might have added
            self.result.notes.append(f"{purpose}: the model gave no usable answer for {self.label}")
        return answer

    def _candidates(self, pattern) -> list[int]:
        return [line.number for line in self.shown if pattern.search(line.text)]

    def _line(self, number: int) -> Line:
        return next(line for line in self.shown if line.number == number)

    def _shown(self, numbers: list[int]) -> list[int]:
        """Transcript line numbers as the model sees them."""
        return [self.local[n] for n in numbers]

    def _cited(self, shown: int) -> int | None:
        """The transcript line number of a line number the model cited (None for one it was not shown)."""
        return self.shown[shown - 1].number if 1 <= shown <= len(self.shown) else None

    def _quote(self, number: int) -> str:
        return _local(self._line(number), self.local[number])

    def _check_left_out(self, pattern, found: list[tuple[str, float]], template: str, answer_model, read) -> Flow:
        """Lines that say `pattern` plainly but that nothing `found` (text, time) rests on get one small question
        each, the first few (the model's list leaves one out now and then); `read` grounds an answer, or None."""
        found_at = {at for _, at in found}
        for number in [n for n in self._candidates(pattern) if self._line(n).start not in found_at][:CHECKS_PER_PART]:
            check = yield from self._ask(
                template.replace("{line}", self._quote(number)), answer_model, "line check", required=False
            )
            if check and (item := read(check)):
                found.append(item)

    def action_items(self) -> Flow:
        # Asked only where someone seems to take something on; those lines are named in the question.
        commitments = self._candidates(cues.COMMITMENT)
        if not commitments:
            self.tick("action items")
            return
        answer = yield from self._ask(
            prompts.question(prompts.ACTIONS, self._shown(commitments)), prompts.ActionAnswer, "action items"
        )
        if answer is None:
            return
        found = [a for c in answer.items if (a := self.grounder.action(c.owner, c.task, self._cited(c.line)))]
        for number in _unanswered(commitments, found, self.shown):
            check = yield from self._ask(
                prompts.CHECK_LINE.replace("{line}", self._quote(number)),
                prompts.LineCheck,
                "line check",
                required=False,
            )
            if not (check and check.task.strip()):
                continue
            if item := self.grounder.action(check.owner, self._checked_task(check.task, number), number):
                found.append(item)
        self.result.actions += found

    def _checked_task(self, task: str, number: int) -> str:
        """The task a line check names; when its words are not on the line asked about (the model answered about
        another line), the clause of that line where someone takes something on ("Eve, can you book the room?")."""
        text = self._line(number).text
        if self.grounder.support(task, text) >= MIN_LINE_SUPPORT:
            return task
        return next((part for part in clauses(text) if cues.COMMITMENT.search(part)), text)

    def wishes(self) -> Flow:
        wished = self._candidates(cues.WISH)
        if not wished:
            self.tick("wishes")
            return
        answer = yield from self._ask(
            prompts.question(prompts.WISHES, self._shown(wished)), prompts.WishAnswer, "wishes"
        )
        found = [
            w
            for c in (answer.wishes if answer else [])
            if (
                w := self.grounder.wish(
                    c.title, cited=self._cited(c.line), cut=len(c.title) >= prompts.WISH_TITLE_CHARS
                )
            )
        ]
        # A wish said outright that the model's list left out is taken as said (code, no further question).
        covered = {w.at for w in found}
        for number in wished:
            if round(self._line(number).start, 2) in covered:
                continue
            wish = self.grounder.plain_wish(number)
            if wish and not any(self.grounder.similarity(wish.title, w.title) >= 0.5 for w in found):
                found.append(wish)
        self.result.wishes += found

    def decisions(self) -> Flow:
        settled = self._candidates(cues.DECISION_OR_TOPIC)
        if not settled:
            self.tick("decisions")
            return
        answer = yield from self._ask(
            prompts.question(prompts.DECISIONS, self._shown(settled)), prompts.DecisionAnswer, "decisions"
        )
        if answer is None:
            return
        decided = [d for text in answer.decisions if (d := self.grounder.decision(text))]
        yield from self._check_left_out(  # "we agreed ..."
            cues.DECIDED,
            decided,
            prompts.CHECK_DECISION,
            prompts.DecisionCheck,
            lambda check: check.decision.strip() and self.grounder.decision(check.decision),
        )
        self.result.timed_decisions += decided
        found = [t for text in answer.next_topics if (t := self.grounder.next_topic(text))]
        yield from self._check_left_out(  # "... at the next meeting"
            cues.NEXT_MEETING,
            found,
            prompts.CHECK_TOPIC,
            prompts.TopicCheck,
            lambda check: check.topic.strip() and self.grounder.next_topic(check.topic),
        )
        self.result.timed_topics += found

    def sections(self) -> Flow:
        # A meeting read in one part gets up to three topics, each part of a longer one two (a part is about a
        # quarter of an hour): the long summary keeps a section per few minutes of talk, whatever the length.
        wanted = prompts.MAX_TOPICS_PER_PART if self.single else 2
        answer = yield from self._ask(
            prompts.question(prompts.SECTIONS, topics=wanted), prompts.SectionAnswer, "long summary"
        )
        if answer:
            self.result.sections += _sections(answer, self.chunk, self.grounder)[:wanted]


def _unanswered(candidates: list[int], found: list[ActionItem], shown: list[Line]) -> list[int]:
    """Candidate lines that no found item rests on (and that say more than "yes, I will"), those with a due date
    first, capped."""
    texts = {line.number: line.text for line in shown}
    # A line of an exchange an item rests on (its request, its answer) is answered too.
    anchored = {
        line.number
        for line in shown
        if any(item.at == round(line.start, 2) or line.quote in item.excerpt for item in found)
    }

    def open_question(n: int) -> bool:
        text = texts[n]
        if n in anchored or len(content_words(text)) <= 1:  # "Sure, I can do that.": its request holds the task
            return False
        return bool(cues.COMMITMENT.search(text))

    left = [n for n in candidates if open_question(n)]
    left.sort(key=lambda n: (not find_due_dates(texts[n], dt.date.min), n))
    return sorted(left[:CHECKS_PER_PART])


# The words of the summary question itself: a topic title made of them only ("Main topics in order they came up")
# repeats the question instead of naming a topic.
_ASKED = frozenset(content_words(prompts.question(prompts.SECTIONS)))


def _echoes_the_question(title: str) -> bool:
    said = content_words(title)
    return bool(said) and set(said) <= _ASKED


def _sections(answer: prompts.SectionAnswer, chunk: Chunk, grounder: Grounder) -> list[Section]:
    out: list[Section] = []
    for topic in answer.topics:
        points = supported_points(topic.points, chunk.lines, cut_at=prompts.POINT_CHARS)  # what the lines say
        title = topic.title
        if _PLACEHOLDER.search(title) or placeholders(title) or _echoes_the_question(title):
            # the question's "<topic, at most 6 words>" or its wording, copied: name it by its first point
            title = topic_heading(points[0]) if points else ""
        elif reads_as_a_sentence(title):  # "Lin reported the benchmark cluster changes": name the topic only
            title = topic_heading(title) or title
        if not title.strip() or any(similarity(title, s.title) >= 0.8 for s in out):
            continue
        # A section starts where its words are found within this part (the part's start otherwise).
        within = (chunk.lines[0].number, chunk.lines[-1].number)
        found = grounder.find_support(f"{title} {' '.join(points)}", within=within)
        if not points and found is not None:
            # Every point the model wrote had words nobody said: the line that speaks of the topic, as said.
            line = grounder.lines[found]
            quoted = f"{line.speaker}: {line.text}"[: prompts.POINT_CHARS]
            points = supported_points([quoted], chunk.lines, cut_at=prompts.POINT_CHARS)
        start = grounder.lines[found].start if found is not None else chunk.start
        out.append(Section(title.strip().rstrip("."), points, start, chunk.end))
    out.sort(key=lambda s: s.start)
    if out:
        out[0].start = min(out[0].start, chunk.start)
    return out


def _attach_decisions(sections: list[Section], decisions: list[str], timed: list[tuple[str, float]]) -> None:
    """Each decision under the topic it was taken in (by its time)."""
    if not sections:
        return
    for text in decisions:
        at = next((t for d, t in timed if d == text), None)
        if at is None:
            continue
        section = next((s for s in reversed(sections) if s.start <= at), sections[0])
        section.decisions.append(text)


def _attach_actions(sections: list[Section], actions: list[ActionItem], said: set[str]) -> None:
    """Each task taken on under the topic it was taken on in (by its time), as "Write the blog post (Omar)": what a
    topic concluded includes who does what next. A title with a word nobody said stays out of the summary."""
    if not sections:
        return
    for item in actions:
        section = next((s for s in reversed(sections) if s.start <= item.at), sections[0])
        point = f"{item.task} ({item.owner})"
        if not unsupported(point, said):
            section.actions.append(point)


def _restated(a: ActionItem, b: ActionItem) -> bool:
    """Whether b says a's task again, shorter or longer ("Share the slides" / "Share the slides from the demo"),
    with no other due date."""
    short, long = sorted((a.task, b.task), key=lambda t: len(content_words(t)))
    return len(content_words(short)) >= 2 and support(short, long) >= 0.9 and (a.due == b.due or None in (a.due, b.due))


def _dedupe_actions(items: list[ActionItem], similar=similarity) -> list[ActionItem]:
    """One item per commitment: the same owner in the same exchange with a similar task, an almost identical task,
    or the same task said again."""
    kept: list[ActionItem] = []
    for item in sorted(items, key=lambda a: a.at):
        twin = next(
            (
                k
                for k in kept
                if k.owner == item.owner
                and (
                    similar(k.task, item.task) >= SAME_TASK
                    or (k.at == item.at and similar(k.task, item.task) > 0.3)
                    or _restated(k, item)
                )
            ),
            None,
        )
        if twin is None:
            kept.append(item)
        elif twin.due is None and item.due is not None:
            twin.due = item.due
    return kept


def _dedupe_wishes(items: list[Wish], similar=similarity) -> list[Wish]:
    kept: list[Wish] = []
    for item in sorted(items, key=lambda w: w.at):
        if not any(similar(item.title, k.title) >= SAME_TASK or k.at == item.at for k in kept):
            kept.append(item)
    return kept


def _dedupe_texts(items: list[tuple[str, float]], similar=similarity) -> list[str]:
    kept: list[str] = []
    for text, _ in sorted(items, key=lambda t: t[1]):
        if not any(similar(text, k) >= DUPLICATE for k in kept):
            kept.append(text)
    return kept


def _cap(items: list, limit: int, kind: str) -> list:
    if len(items) > limit:
        log.warning("%d %s found; keeping the first %d", len(items), kind, limit)
    return items[:limit]
