"""Reading the past: full-text search over transcripts, minutes, items and the call's chat, and the minutes of one
meeting.

    hits = search(session, '"self-hosted runners" budget -kubernetes', speaker="Ada", since=dt.date(2026, 11, 1))

One interface, two engines: SQLite FTS5 (porter stemming, bm25) and PostgreSQL full-text search (`english`
configuration, ts_rank_cd, ts_headline). Both read `search_doc`, one row per searchable text of a meeting, rebuilt by
`index_meeting` whenever a meeting's transcript, minutes, items or chat are stored. A query is words (all of them
must occur, in any form: "runners" finds "runner"), "quoted phrases", `a OR b`, and `-word` to exclude; it is parsed
here and written out for each engine, so both read it the same way.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import re
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, func, insert, or_, text
from sqlalchemy import inspect as sa_inspect
from sqlmodel import Session, col, select

from tracker.db import Database
from tracker.models import (
    ActionItem,
    ChatMessage,
    Meeting,
    MinutesRecord,
    Publication,
    PublicationKind,
    PublicationState,
    SearchDoc,
    TranscriptSegment,
    WishlistEntry,
    WorkingGroup,
    as_utc,
    saved_id,
)
from tracker.publishing import escape
from transcripts.errors import UserError
from transcripts.minutes.words import stem

log = logging.getLogger(__name__)

KINDS = ("transcript", "minutes", "item", "chat")
MAX_QUERY = 300
MAX_ITEMS = 12
MAX_LIMIT = 200
SNIPPET_WORDS = 24
# Highlight markers inside snippets: control characters that `_clean` removes from every indexed text, so they can
# only come from the engine.
START, STOP = "\x02", "\x03"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# Words too common to search for. PostgreSQL's english configuration drops these itself; FTS5 does not, so they are
# dropped here for both (inside "quoted phrases" they stay).
_STOP_TEXT = (
    "a an and are as at be but by for from has have i if in into is it its of on or our so that the their "
    "then there these they this to was we were what when where which who will with you your do does did "
    "how why can could would should about any all been being"
)
STOPWORDS = frozenset(_STOP_TEXT.split())


class SearchError(UserError, ValueError):
    """A search or minutes request that cannot be answered; the message is fit to show the user."""


# ---- results -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    """One searchable text that matched, with a snippet around the matching words.

    `snippet` is plain text; `highlights` are the (start, end) offsets of the matched words in it. Use
    `snippet_html()` or `snippet_markdown()` to show it: both escape the text itself.
    """

    meeting_id: int
    meeting_start: dt.datetime  # aware UTC: when the meeting started (the recording, else the schedule)
    kind: str  # transcript, minutes, item, chat
    snippet: str
    highlights: tuple[tuple[int, int], ...] = ()
    speaker: str | None = None
    start: float | None = None  # seconds from the meeting start
    score: float = 0.0  # higher is more relevant (comparable within one search only)
    ref_id: int | None = None
    text: str = ""  # the whole text

    @property
    def meeting_date(self) -> dt.date:
        return self.meeting_start.date()

    @property
    def at(self) -> float | None:
        return self.start

    @property
    def moment(self) -> dt.datetime:
        """When it was said or posted (UTC); the meeting's start for texts without a time."""
        return self.meeting_start + dt.timedelta(seconds=round(self.start or 0.0))

    @property
    def cite(self) -> str:
        """`2026-12-03 17:04`: the meeting date and the time it was said (UTC)."""
        return f"{self.moment:%Y-%m-%d %H:%M}"

    def _marked(self, escape, before: str, after: str) -> str:
        out, last = [], 0
        for start, end in self.highlights:
            out.append(escape(self.snippet[last:start]))
            out.append(before + escape(self.snippet[start:end]) + after)
            last = end
        out.append(escape(self.snippet[last:]))
        return "".join(out)

    def snippet_html(self) -> str:
        return self._marked(html.escape, "<mark>", "</mark>")

    def snippet_markdown(self) -> str:
        return self._marked(escape_markdown, "**", "**")


SearchHit = Hit  # the name bot/embeds.py knows


def escape_markdown(value: str) -> str:
    """Discord Markdown read literally: a transcript line cannot format, link or mention."""
    return escape.discord(value)


def _snippet(body: str, words: list[str], width: int = SNIPPET_WORDS) -> str:
    """A quote of `body` of about `width` words around the first word matching the query, the matching words
    between START and STOP, with "…" where it was cut (as FTS5's snippet(); stems compared as `words.stem` does)."""
    tokens = list(re.finditer(r"\S+", body))
    wanted = {stem(w) for w in words}

    def matches(token: str) -> bool:
        return any(stem(w) in wanted for w in re.findall(r"\w+", token.casefold()))

    hits = [i for i, t in enumerate(tokens) if matches(t.group(0))]
    first = hits[0] if hits else 0
    start = max(0, min(first - width // 3, len(tokens) - width))
    window = tokens[start : start + width]
    out = "…" if start > 0 else ""
    for n, token in enumerate(window):
        word = token.group(0)
        out += (" " if n else "") + (f"{START}{word}{STOP}" if start + n in hits else word)
    return out + ("…" if start + width < len(tokens) else "")


def _split_marked(marked: str) -> tuple[str, tuple[tuple[int, int], ...]]:
    """A snippet with START/STOP markers → plain text and the offsets of the marked words (adjacent ones merged)."""
    plain: list[str] = []
    spans: list[tuple[int, int]] = []
    length = 0
    opened: int | None = None
    for part in re.split(f"([{START}{STOP}])", marked):
        if part == START:
            opened = length
        elif part == STOP:
            if opened is not None and length > opened:
                if spans and spans[-1][1] == opened:
                    spans[-1] = (spans[-1][0], length)
                else:
                    spans.append((opened, length))
            opened = None
        else:
            plain.append(part)
            length += len(part)
    return "".join(plain), tuple(spans)


# ---- the query -----------------------------------------------------------------------------------------------------

Alternative = tuple[str, ...]  # one word, or the words of a phrase


@dataclass(frozen=True)
class Query:
    """A parsed query: every item must match (an item matches when one of its alternatives does); no excluded
    alternative may."""

    items: tuple[tuple[Alternative, ...], ...]
    excluded: tuple[Alternative, ...] = ()

    def fts5(self) -> str:
        def alt(words: Alternative) -> str:
            return '"' + " ".join(words) + '"'  # quoted: FTS5 operators and punctuation in a word are literal

        def item(alts: tuple[Alternative, ...]) -> str:
            return alt(alts[0]) if len(alts) == 1 else "(" + " OR ".join(alt(a) for a in alts) + ")"

        expression = " AND ".join(item(i) for i in self.items)
        for words in self.excluded:
            expression = f"({expression}) NOT {alt(words)}"
        return expression

    def websearch(self) -> str:
        """The same query in the syntax of PostgreSQL's websearch_to_tsquery."""

        def alt(words: Alternative) -> str:
            return words[0] if len(words) == 1 else '"' + " ".join(words) + '"'

        parts = [" or ".join(alt(a) for a in item) for item in self.items]
        parts += ["-" + alt(words) for words in self.excluded]
        return " ".join(parts)

    @property
    def words(self) -> list[str]:
        """The words looked for (for highlighting outside the engines and for relevance checks)."""
        return list(dict.fromkeys(w for item in self.items for a in item for w in a))


_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')


def _words(value: str) -> tuple[str, ...]:
    return tuple(w.casefold() for w in re.findall(r"\w+", value))


def parse_query(query: str, *, match_any: bool = False) -> Query:
    """Words, "phrases", `OR` between two of them and `-word`/`-"phrase"` to exclude. `match_any`: any of the
    words will do (ranked by how many match and how rare they are), as for a question in plain language."""
    query = " ".join((query or "").split())
    if len(query) > MAX_QUERY:
        raise SearchError(f"the search is too long ({len(query)} characters, at most {MAX_QUERY})")
    items: list[list[Alternative]] = []
    excluded: list[Alternative] = []
    join_next = False
    for match in _TOKEN.finditer(query):
        negated, phrase, bare = match.group(1), match.group(2), match.group(3)
        if bare is not None and bare.upper() == "OR" and items:
            join_next = True
            continue
        if bare is not None and bare.startswith("-") and len(bare) > 1:
            negated, bare = "-", bare[1:]
        words = _words(phrase if phrase is not None else bare)
        if phrase is None and len(words) == 1 and words[0] in STOPWORDS:
            continue
        if phrase is None and len(words) > 1:  # "self-hosted", "don't": its parts, next to each other
            words = tuple(w for w in words if w) or words
        if not words:
            continue
        if negated:
            excluded.append(words)
        elif join_next:
            items[-1].append(words)
        else:
            items.append([words])
        join_next = False
    if not items:
        raise SearchError("give at least one word to search for (common words such as “the” are not searched)")
    if match_any:
        items = [list(dict.fromkeys(alt for item in items for alt in item))[: MAX_ITEMS * 2]]
    if len(items) > MAX_ITEMS:
        raise SearchError(f"too many words to search for ({len(items)}, at most {MAX_ITEMS})")
    return Query(tuple(tuple(dict.fromkeys(i)) for i in items), tuple(dict.fromkeys(excluded)))


# ---- searching -----------------------------------------------------------------------------------------------------


def session_for(session_or_db: Session | Database):
    """A session to read with: the caller's, or a new one of `db` (closed afterwards)."""
    if isinstance(session_or_db, Database):
        return session_or_db.session()
    return _Borrowed(session_or_db)


class _Borrowed:
    def __init__(self, session: Session) -> None:
        self.session = session

    def __enter__(self) -> Session:
        return self.session

    def __exit__(self, *exc) -> None:
        return None


def _group_id(group: WorkingGroup | int | None) -> int | None:
    return group.id if isinstance(group, WorkingGroup) else group


def search(
    session_or_db: Session | Database,
    query: str,
    *,
    speaker: str | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    limit: int = 20,
    group: WorkingGroup | int | None = None,
    kinds: tuple[str, ...] | None = None,
    match_any: bool = False,
) -> list[Hit]:
    """The texts that match `query`, most relevant first.

    `speaker`: only what this person said, posted or owns (case-insensitive; a first name finds "Ada Lovelace").
    `since`/`until`: meeting dates, inclusive. `group`: one working group's meetings (default: all). `kinds`: some
    of transcript, minutes, item, chat. `match_any`: see `parse_query`.
    """
    parsed = parse_query(query, match_any=match_any)
    if since and until and since > until:
        raise SearchError(f"the date range is empty: {since.isoformat()} is after {until.isoformat()}")
    if kinds is not None and (unknown := set(kinds) - set(KINDS)):
        raise SearchError(f"unknown kind(s) {', '.join(sorted(unknown))}: use {', '.join(KINDS)}")
    limit = max(1, min(int(limit), MAX_LIMIT))
    filters: list[str] = ["1 = 1"]
    params: dict[str, object] = {"limit": limit}
    group_id = _group_id(group)
    if group_id is not None:
        filters.append("m.group_id = :group_id")
        params["group_id"] = group_id
    if speaker and speaker.strip():
        filters.append("(lower(d.speaker) = :speaker OR lower(d.speaker) LIKE :speaker_prefix ESCAPE '\\')")
        params["speaker"] = speaker.strip().casefold()
        params["speaker_prefix"] = _escape_like(speaker.strip().casefold()) + " %"
    if since:
        filters.append("m.scheduled_start >= :since")
        params["since"] = dt.datetime.combine(since, dt.time(), tzinfo=dt.UTC)
    if until:
        filters.append("m.scheduled_start < :until")
        params["until"] = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    if kinds:
        names = {f"kind{i}": k for i, k in enumerate(kinds)}
        filters.append(f"d.kind IN ({', '.join(':' + n for n in names)})")
        params.update(names)
    with session_for(session_or_db) as session:
        dialect = session.get_bind().dialect.name
        if dialect == "sqlite":
            rows = _search_sqlite(session, parsed, " AND ".join(filters), params)
        elif dialect == "postgresql":
            rows = _search_postgres(session, parsed, " AND ".join(filters), params)
        else:  # pragma: no cover - wgbot supports these two
            raise SearchError(f"full-text search is not available on {dialect}")
    hits = []
    for row in rows:
        marked = row.snippet if dialect == "sqlite" else _snippet(row.text, parsed.words)
        snippet, spans = _split_marked(marked or "")
        started = row.started_at or row.scheduled_start
        hits.append(
            Hit(
                meeting_id=row.meeting_id,
                meeting_start=as_utc(_as_datetime(started)),
                kind=row.kind,
                snippet=snippet,
                highlights=spans,
                speaker=row.speaker,
                start=row.start,
                score=float(row.score),
                ref_id=row.ref_id,
                text=row.text,
            )
        )
    return hits


def _as_datetime(value) -> dt.datetime:
    # Raw SQL on SQLite returns the stored text; SQLModel's UTCDateTime stores ISO format.
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value)
    return value


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


_COLUMNS = "d.meeting_id, d.kind, d.ref_id, d.speaker, d.start, d.text, m.scheduled_start, m.started_at"


def _typed(statement, params: dict):
    """Dates bound as the meeting table stores them (SQLite keeps text: the same format compares correctly)."""
    column_type = sa_inspect(Meeting).columns["scheduled_start"].type
    return statement.bindparams(*(bindparam(name, type_=column_type) for name in ("since", "until") if name in params))


def _search_sqlite(session: Session, query: Query, filters: str, params: dict):
    # bm25() is negative, lower is better. The snippet is computed for the rows returned only.
    sql = f"""
        SELECT {_COLUMNS}, -bm25(search_fts) AS score,
               snippet(search_fts, 0, char(2), char(3), '…', {SNIPPET_WORDS}) AS snippet
        FROM search_fts
        JOIN search_doc d ON d.id = search_fts.rowid
        JOIN meeting m ON m.id = d.meeting_id
        WHERE search_fts MATCH :match AND {filters}
        ORDER BY bm25(search_fts), m.scheduled_start DESC, d.start
        LIMIT :limit
    """
    try:
        return session.execute(_typed(text(sql), params), {**params, "match": query.fts5()}).all()
    except Exception as exc:  # the query is quoted word by word, so this is not the user's doing
        raise SearchError(f"the search could not be run: {str(exc).splitlines()[0]}") from exc


def _search_postgres(session: Session, query: Query, filters: str, params: dict):
    # search_tsv is to_tsvector('english', text), stored and GIN-indexed (see the migration). ts_headline is not
    # used: it drops markup-like text ("<b>") and leading stop words, so its snippet is not a quote; see `_snippet`.
    sql = f"""
        WITH q AS (SELECT websearch_to_tsquery('english', :websearch) AS query),
        ranked AS (
            SELECT {_COLUMNS}, ts_rank_cd(d.search_tsv, q.query) AS score
            FROM search_doc d JOIN meeting m ON m.id = d.meeting_id, q
            WHERE d.search_tsv @@ q.query AND {filters}
            ORDER BY score DESC, m.scheduled_start DESC, d.start
            LIMIT :limit
        )
        SELECT ranked.* FROM ranked
        ORDER BY ranked.score DESC, ranked.scheduled_start DESC, ranked.start
    """
    return session.execute(_typed(text(sql), params), {**params, "websearch": query.websearch()}).all()


# ---- keeping the index -------------------------------------------------------------------------------------------


def _clean(value: str | None) -> str:
    return _CONTROL.sub(" ", value or "").strip()


def _docs(session: Session, meeting_id: int) -> list[dict]:
    docs: list[dict] = []

    def add(kind: str, body: str | None, **fields) -> None:
        body = _clean(body)
        if body:
            docs.append({"meeting_id": meeting_id, "kind": kind, "text": body, **fields})

    for seg in session.exec(select(TranscriptSegment).where(TranscriptSegment.meeting_id == meeting_id)).all():
        add("transcript", seg.text, ref_id=seg.id, speaker=seg.speaker, member_id=seg.member_id, start=seg.start)
    record = session.exec(select(MinutesRecord).where(MinutesRecord.meeting_id == meeting_id)).first()
    if record is not None:
        add("minutes", record.summary)
        add("minutes", record.long_summary)
        for decision in record.decisions:
            add("minutes", f"Decision: {decision}")
        for topic in record.next_topics:
            add("minutes", f"Next time: {topic}")
    for item in session.exec(select(ActionItem).where(ActionItem.meeting_id == meeting_id)).all():
        due = f" (due {item.due.isoformat()})" if item.due else ""
        add(
            "item",
            f"Action item: {item.owner_name} — {item.task}{due}",
            ref_id=item.id,
            speaker=item.owner_name,
            member_id=item.owner_id,
            start=item.at,
        )
    for wish in session.exec(select(WishlistEntry).where(WishlistEntry.meeting_id == meeting_id)).all():
        add(
            "item",
            f"Wish: {wish.title}" + (f" — {wish.details}" if wish.details else ""),
            ref_id=wish.id,
            start=wish.at,
        )
    for message in session.exec(select(ChatMessage).where(ChatMessage.meeting_id == meeting_id)).all():
        add(
            "chat",
            message.content,
            ref_id=message.id,
            speaker=message.author_name,
            member_id=message.member_id,
            author_discord_id=message.author_discord_id,
            start=message.at,
        )
    return docs


def index_meeting(session: Session, meeting_id: int) -> int:
    """Make the meeting's searchable texts match what is stored for it now (inside the caller's transaction).
    Returns the number of texts indexed."""
    session.flush()
    session.execute(delete(SearchDoc).where(col(SearchDoc.meeting_id) == meeting_id))
    docs = _docs(session, meeting_id)
    if docs:
        session.execute(insert(SearchDoc), docs)
    log.debug("meeting %d: %d searchable texts", meeting_id, len(docs))
    return len(docs)


def reindex_all(session: Session) -> int:
    """Rebuild the whole index (after an upgrade, or to repair it)."""
    total = 0
    for meeting_id in session.exec(select(Meeting.id).order_by(col(Meeting.id))).all():
        if meeting_id is not None:  # a primary key: never NULL
            total += index_meeting(session, meeting_id)
    return total


def forget_person(
    session: Session, *, member_id: int | None = None, discord_id: int | None = None, name: str | None = None
) -> int:
    """Remove from the index everything a person said, posted or owns (forget-me): by member, Discord user id
    and/or speaker name (case-insensitive). Returns the number of texts removed."""
    conditions = []
    if member_id is not None:
        conditions.append(col(SearchDoc.member_id) == member_id)
    if discord_id is not None:
        conditions.append(col(SearchDoc.author_discord_id) == discord_id)
    if name and name.strip():
        conditions.append(func.lower(SearchDoc.speaker) == name.strip().casefold())
    if not conditions:
        raise ValueError("forget_person needs a member id, a Discord user id or a name")
    result = session.exec(delete(SearchDoc).where(or_(*conditions)))
    log.info("search index: %d text(s) of a person removed", result.rowcount or 0)
    return result.rowcount or 0


def forget_meeting(session: Session, meeting_id: int) -> int:
    result = session.exec(delete(SearchDoc).where(col(SearchDoc.meeting_id) == meeting_id))
    return result.rowcount or 0


# ---- the minutes of one meeting ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PastMinutes:
    meeting: Meeting
    minutes: MinutesRecord
    archive_url: str | None = None  # the published minutes in the repository, once the archive step is done


def _archive_url(session: Session, meeting_id: int) -> str | None:
    return session.exec(
        select(Publication.external_url).where(
            Publication.meeting_id == meeting_id,
            Publication.kind == PublicationKind.archive,
            Publication.state == PublicationState.done,
        )
    ).first()


def minutes_for(session: Session, group: WorkingGroup, day: dt.date | None = None) -> PastMinutes:
    """The minutes of the meeting held on `day` (UTC), or of the latest meeting that has minutes."""
    query = (
        select(MinutesRecord, Meeting)
        .join(Meeting, col(MinutesRecord.meeting_id) == col(Meeting.id))
        .where(Meeting.group_id == group.id)
        .order_by(col(Meeting.scheduled_start).desc())
    )
    if day is None:
        row = session.exec(query).first()
        if row is None:
            raise SearchError("no meeting has minutes yet")
        return PastMinutes(row[1], row[0], _archive_url(session, saved_id(row[1])))
    start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    row = session.exec(
        query.where(col(Meeting.scheduled_start) >= start, col(Meeting.scheduled_start) < start + dt.timedelta(days=1))
    ).first()
    if row is None:
        held = session.exec(
            select(Meeting).where(
                Meeting.group_id == group.id,
                col(Meeting.scheduled_start) >= start,
                col(Meeting.scheduled_start) < start + dt.timedelta(days=1),
            )
        ).first()
        if held is None:
            raise SearchError(f"there was no meeting on {day.isoformat()}")
        raise SearchError(f"the meeting of {day.isoformat()} has no minutes yet ({held.state.value})")
    return PastMinutes(row[1], row[0], _archive_url(session, saved_id(row[1])))


def days_with_minutes(session: Session, group: WorkingGroup, limit: int = 25) -> list[dt.date]:
    """The dates of the latest meetings that have minutes (for autocompletion)."""
    rows = session.exec(
        select(Meeting.scheduled_start)
        .join(MinutesRecord, col(MinutesRecord.meeting_id) == col(Meeting.id))
        .where(Meeting.group_id == group.id)
        .order_by(col(Meeting.scheduled_start).desc())
        .limit(limit)
    ).all()
    return [start.date() for start in rows]
