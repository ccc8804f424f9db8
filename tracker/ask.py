"""Asking the archive: a question answered from what was said in the recorded meetings, every statement cited by
meeting date and time; and a catch-up on the last meetings for someone who missed them.

    answer = ask(db, "What did we decide about the runners?", llm=load_llm())
    print(answer.render())

How an answer is made, and what is decided in code rather than by the model:
1. retrieval: full-text search (tracker/search.py) with any of the question's words, over transcripts, minutes,
   items and chat; each transcript hit is read with the lines around it;
2. relevance: the share of the question's meaningful words (weighted by rarity) that the best passage contains.
   Below `MIN_COVERAGE` no recorded meeting discussed it, and the model is not asked at all;
3. the local model writes at most a few short statements from the numbered passages, citing their numbers;
4. validation: a statement stays only if the passages it cites (or, failing that, one other retrieved passage)
   contain its words; citations become "2026-12-03 17:04" from the passages, never from the model's text. When no
   statement survives, the answer is the most relevant passages themselves, quoted.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from tracker import search
from tracker.db import Database
from tracker.models import (
    ActionItem,
    ItemStatus,
    Meeting,
    MinutesRecord,
    Publication,
    PublicationKind,
    PublicationState,
    TranscriptSegment,
    WishlistEntry,
    WorkingGroup,
    as_utc,
)
from tracker.search import Hit, SearchError
from transcripts.llm import LocalLLM, load_llm
from transcripts.minutes.words import content_words, idf_weights, support

log = logging.getLogger(__name__)

RETRIEVE = 40  # hits read from the index
PASSAGES = 6  # passages given to the model
PASSAGE_WORDS = 70
NEIGHBOURS = 1  # transcript lines read on each side of a hit
NEIGHBOUR_SECONDS = 120.0  # ... looked for this far around it
MIN_COVERAGE = 0.6  # share (by rarity) of the question's words the best passage must contain
MIN_STATEMENT_SUPPORT = 0.6  # share of a statement's words the passage it cites must contain
CITE_MARGIN = 0.15  # a cited passage may support a statement this much less than the best one does
MAX_QUESTION = 300
ANSWER_TOKENS = 220
NOTHING = "No recorded meeting discussed this."
# Words that make a question a question, not what it is about.
QUESTION_WORDS = frozenset(
    content_words(
        "what which who whom whose when where why how did does do was were is are has have had we us our they anyone "
        "someone anybody somebody say said tell told talk talked discuss discussed discussion mention mentioned "
        "decide decided decision agree agreed plan planned meeting meetings call calls group last week ever about "
        "know status update happen happened regarding any there"
    )
)

SYSTEM = (
    "You answer questions about a working group's past meetings. Use ONLY the numbered passages you are given: "
    "they are excerpts of the meetings' transcripts, minutes and chat. Every statement must be supported by the "
    "passages whose numbers it cites. Write short, factual statements with names as in the passages. If the passages "
    "do not answer the question, return an empty list of statements. Answer with one JSON object."
)


class AskError(SearchError):
    """A question that cannot be asked; the message is fit to show the user."""


class _Statement(BaseModel):
    text: str = Field(max_length=300)
    sources: list[int] = Field(max_length=3)


class _Answer(BaseModel):
    statements: list[_Statement] = Field(max_length=3)


@dataclass(frozen=True)
class Passage:
    number: int
    hit: Hit
    text: str  # what the model reads: the hit, with the transcript lines around it
    lines: tuple[tuple[float | None, str], ...] = ()  # (seconds from the start, text) of each line in `text`

    def moment(self, start: float | None) -> str:
        """`2026-12-03 17:04`: when a line of this passage was said."""
        if start is None:
            return self.hit.cite
        return f"{self.hit.meeting_start + dt.timedelta(seconds=round(start)):%Y-%m-%d %H:%M}"

    @property
    def label(self) -> str:
        who = f", {self.hit.speaker}" if self.hit.speaker and self.hit.kind in ("transcript", "chat") else ""
        kind = {"minutes": ", minutes", "item": ", minutes", "chat": ", chat"}.get(self.hit.kind, "")
        return f"[{self.number}] {self.hit.cite}{kind}{who}: {self.text}"


@dataclass(frozen=True)
class Statement:
    text: str
    sources: tuple[Passage, ...]
    cites: tuple[str, ...] = ()  # for each source, the moment of its line that says it


@dataclass
class Answer:
    question: str
    statements: list[Statement] = field(default_factory=list)
    quoted: list[Passage] = field(default_factory=list)  # when no statement held: the best passages, verbatim
    coverage: float = 0.0
    seconds: float = 0.0
    asked_model: bool = False
    links: dict[int, str] = field(default_factory=dict)  # meeting id → its published transcript

    @property
    def answered(self) -> bool:
        return bool(self.statements or self.quoted)

    def _cite(self, passage: Passage, moment: str | None = None) -> str:
        moment = moment or passage.hit.cite
        link = self.links.get(passage.hit.meeting_id)
        return f"[{moment}](<{link}>)" if link else moment

    def citations(self) -> list[str]:
        """Every cited moment, `2026-12-03 17:04`, in order."""
        found = [c for s in self.statements for c in s.cites] + [p.hit.cite for p in self.quoted]
        return list(dict.fromkeys(found))

    def render(self, limit: int = 1900) -> str:
        """The answer as Markdown (Discord and the terminal), within `limit` characters."""
        if not self.answered:
            return NOTHING
        lines = []
        for statement in self.statements:
            cites = ", ".join(dict.fromkeys(self._cite(p, c) for p, c in zip(statement.sources, statement.cites)))
            lines.append(f"- {search.escape_markdown(statement.text)} ({cites})")
        if self.quoted:
            lines.append("The meetings did not say it in so many words; the closest records:")
            for passage in self.quoted:
                who = f"{passage.hit.speaker}: " if passage.hit.speaker else ""
                quote = search.escape_markdown(_cut(passage.hit.text, 40))
                lines.append(f"- {self._cite(passage)} — {search.escape_markdown(who)}“{quote}”")
        out = ""
        for line in lines:
            if len(out) + len(line) + 1 > limit:
                break
            out += line + "\n"
        return out.rstrip()


def _cut(text: str, words: int) -> str:
    parts = text.split()
    return " ".join(parts[:words]) + (" …" if len(parts) > words else "")


def _focus(question: str) -> str:
    """The question without the words that only make it a question."""
    return " ".join(w for w in content_words(question) if w not in QUESTION_WORDS)


def _with_neighbours(session: Session, hit: Hit) -> tuple[str, tuple[tuple[float | None, str], ...]]:
    """The passage's text (the hit and the lines around it) and its lines with their times."""
    alone = (_cut(hit.text, PASSAGE_WORDS), ((hit.start, hit.text),))
    if hit.kind != "transcript" or hit.start is None:
        return alone
    rows = session.exec(
        select(TranscriptSegment)
        .where(
            TranscriptSegment.meeting_id == hit.meeting_id,
            col(TranscriptSegment.start) >= hit.start - NEIGHBOUR_SECONDS,
            col(TranscriptSegment.start) <= hit.start + NEIGHBOUR_SECONDS,
        )
        .order_by(col(TranscriptSegment.start), col(TranscriptSegment.id))
    ).all()
    index = next((i for i, r in enumerate(rows) if r.id == hit.ref_id), None)
    if index is None:
        return alone
    window = rows[max(0, index - NEIGHBOURS) : index + NEIGHBOURS + 1]
    text = " ".join((f"{r.speaker}: " if r.speaker != hit.speaker else "") + r.text for r in window)
    return _cut(text, PASSAGE_WORDS), tuple((r.start, f"{r.speaker}: {r.text}") for r in window)


def _when_said(session: Session, hit: Hit) -> Hit:
    """A part of the minutes has no time of its own: it gets the time of the transcript line that says it best, so
    its citation points at the moment in the call (it keeps the meeting's start when no line says it)."""
    if hit.start is not None or hit.kind not in ("minutes", "item"):
        return hit
    rows = session.exec(select(TranscriptSegment).where(TranscriptSegment.meeting_id == hit.meeting_id)).all()
    scored = [(support(hit.text, r.text), -r.start, r) for r in rows]
    best = max(scored, key=lambda s: (s[0], s[1]), default=None)
    if best is None or best[0] < MIN_STATEMENT_SUPPORT:
        return hit
    return replace(hit, start=best[2].start)


def _transcript_links(session: Session, meeting_ids: set[int]) -> dict[int, str]:
    rows = session.exec(
        select(Publication).where(
            col(Publication.meeting_id).in_(meeting_ids),
            Publication.kind == PublicationKind.archive,
            Publication.state == PublicationState.done,
        )
    ).all()
    return {
        r.meeting_id: r.external_url.rsplit("/", 1)[0] + "/transcript.md"
        for r in rows
        if r.meeting_id is not None and r.external_url and "/" in r.external_url
    }


def retrieve(
    session: Session,
    question: str,
    *,
    since: dt.date | None = None,
    group: WorkingGroup | int | None = None,
    passages: int = PASSAGES,
) -> tuple[list[Passage], float]:
    """The passages most relevant to `question` and how well the best one covers it (0 to 1)."""
    focus = _focus(question)
    if not focus:
        raise AskError("ask about something: the question has no words to look for")
    try:
        hits = search.search(session, focus, since=since, group=group, limit=RETRIEVE, match_any=True)
    except SearchError as exc:
        raise AskError(str(exc)) from exc
    if not hits:
        return [], 0.0
    read = [_with_neighbours(session, h) for h in hits]
    texts = [text for text, _ in read]
    weights = idf_weights(texts)
    # Words of the question found nowhere get the highest weight (support() does that): a question about
    # something never said cannot be covered by the words around it.
    scored = sorted(
        (
            (support(focus, hit.text, weights), support(focus, text, weights), i)
            for i, (hit, text) in enumerate(zip(hits, texts))
        ),
        key=lambda s: (-(s[0] + s[1]), s[2]),
    )
    chosen = []
    for n, (_, _, i) in enumerate(scored[:passages]):
        hit = _when_said(session, hits[i])
        lines = read[i][1] if hit.start == hits[i].start else ((hit.start, hit.text),)
        chosen.append(Passage(number=n + 1, hit=hit, text=texts[i], lines=lines))
    return chosen, max(s[1] for s in scored)


def _validated(answer: _Answer | None, passages: list[Passage]) -> list[Statement]:
    """The model's statements that the passages support, each cited by the passages that say it best: the model's
    own citations are kept when they support it about as well as the best passage does, else the best one is cited;
    a statement no passage supports is dropped."""
    by_number = {p.number: p for p in passages}
    weights = idf_weights([p.text for p in passages])  # words the passages rarely use tell them apart
    statements: list[Statement] = []
    for raw in answer.statements if answer else []:
        text = " ".join(raw.text.split())
        if not content_words(text):
            continue
        # A passage supports a statement through its window of lines; the citation is the time of the line in it
        # that says it best, so it points where it was said.
        window = {p.number: support(text, p.text, weights) for p in passages}
        best = max(passages, key=lambda p: (window[p.number], -p.number))
        if window[best.number] < MIN_STATEMENT_SUPPORT:
            log.info("ask: dropped a statement no passage supports: %r", text)
            continue
        cited = [
            by_number[n]
            for n in dict.fromkeys(raw.sources)
            if n in by_number and window[n] >= max(MIN_STATEMENT_SUPPORT, window[best.number] - CITE_MARGIN)
        ] or [best]
        cites = []
        for passage in cited:
            start = max(passage.lines or ((passage.hit.start, passage.hit.text),),
                        key=lambda line: support(text, line[1], weights))[0]  # fmt: skip
            cites.append(passage.moment(start))
        statements.append(Statement(text, tuple(cited), tuple(cites)))
    return statements


def ask(
    session_or_db: Session | Database,
    question: str,
    *,
    since: dt.date | None = None,
    group: WorkingGroup | int | None = None,
    llm: LocalLLM | str | Callable[[], LocalLLM] | None = None,
) -> Answer:
    """Answer `question` from the recorded meetings (since `since`), citing every statement; see the module.

    `llm`: a loaded model, a model name, a function that loads one (called only when the model is needed), or None
    for the configured default."""
    started = time.perf_counter()
    question = " ".join((question or "").split())
    if len(question) < 3:
        raise AskError("the question is too short")
    if len(question) > MAX_QUESTION:
        raise AskError(f"the question is too long ({len(question)} characters, at most {MAX_QUESTION})")
    with search.session_for(session_or_db) as session:
        passages, coverage = retrieve(session, question, since=since, group=group)
        links = _transcript_links(session, {p.hit.meeting_id for p in passages})
    result = Answer(question=question, coverage=coverage, links=links)
    if not passages or coverage < MIN_COVERAGE:
        log.info("ask: nothing relevant (coverage %.2f) for %r", coverage, question)
        result.seconds = time.perf_counter() - started
        return result
    if isinstance(llm, LocalLLM):
        model = llm
    elif callable(llm):
        model = llm()
    else:
        model = load_llm(llm)
    user = "Passages:\n" + "\n".join(p.label for p in passages)
    user += f"\n\nQuestion: {question}\nAnswer with at most 3 short statements, each citing its passage numbers."
    raw = model.ask(system=SYSTEM, user=user, answer_model=_Answer, max_tokens=ANSWER_TOKENS, purpose="ask")
    result.asked_model = True
    result.statements = _validated(raw, passages)
    if not result.statements:
        result.quoted = passages[:2]
    result.seconds = time.perf_counter() - started
    log.info(
        "ask: %d statement(s), coverage %.2f, %.1f s: %r", len(result.statements), coverage, result.seconds, question
    )
    return result


# ---- catching up -------------------------------------------------------------------------------------------------

MAX_CATCHUP = 10


@dataclass(frozen=True)
class MeetingDigest:
    meeting: Meeting
    decisions: list[str]
    open_items: list[ActionItem]
    wishes: list[WishlistEntry]


def catchup(session: Session, group: WorkingGroup, count: int = 3) -> list[MeetingDigest]:
    """The last `count` meetings with minutes, newest first: decisions, still-open action items, wishes."""
    if not 1 <= count <= MAX_CATCHUP:
        raise AskError(f"catch up on 1 to {MAX_CATCHUP} meetings (not {count})")
    rows = session.exec(
        select(Meeting, MinutesRecord)
        .join(MinutesRecord, col(MinutesRecord.meeting_id) == col(Meeting.id))
        .where(Meeting.group_id == group.id)
        .order_by(col(Meeting.scheduled_start).desc())
        .limit(count)
    ).all()
    digests = []
    for meeting, record in rows:
        items = session.exec(
            select(ActionItem)
            .where(ActionItem.meeting_id == meeting.id, ActionItem.status == ItemStatus.open)
            .order_by(col(ActionItem.id))
        ).all()
        wishes = session.exec(
            select(WishlistEntry)
            .where(WishlistEntry.meeting_id == meeting.id, WishlistEntry.status == ItemStatus.open)
            .order_by(col(WishlistEntry.id))
        ).all()
        digests.append(MeetingDigest(meeting, list(record.decisions), list(items), list(wishes)))
    return digests


def render_catchup(digests: list[MeetingDigest], limit: int = 2000) -> str:
    """One message: per meeting, its decisions, open items and wishes (Markdown, escaped, within `limit`)."""
    if not digests:
        return "No meeting has minutes yet."
    esc = search.escape_markdown
    blocks = []
    for digest in digests:
        day = as_utc(digest.meeting.scheduled_start).date().isoformat()
        lines = [f"**{day} — {esc(digest.meeting.title)}**"]
        lines += [f"✔ {esc(d)}" for d in digest.decisions] or ["✔ no decisions recorded"]
        for item in digest.open_items:
            due = f" (due {item.due.isoformat()})" if item.due else ""
            issue = f" [#{item.github_issue_number}](<{item.github_issue_url}>)" if item.github_issue_url else ""
            lines.append(f"☐ `#{item.id}` {esc(item.owner_name)}: {esc(item.task)}{due}{issue}")
        lines += [f"🌟 {esc(w.title)}" for w in digest.wishes]
        blocks.append("\n".join(lines))
    out = ""
    for block in blocks:
        for line in block.splitlines():
            if len(out) + len(line) + 2 > limit - 20:
                return out.rstrip() + "\n… (more in /summary)"
            out += line + "\n"
        out += "\n"
    return out.rstrip()
