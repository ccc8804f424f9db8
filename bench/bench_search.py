"""How fast full-text search and `ask` answer over a large archive: 200 one-hour meetings.

    .venv/bin/python bench/bench_search.py [--meetings 200] [--postgres URL] [--ask] [--model NAME]

The archive is generated: each meeting has about 900 transcript lines (an hour of talk at 150 words a minute) of
five speakers, drawn from an everyday vocabulary with a Zipf distribution plus a few topic words per meeting, and
minutes with decisions and action items; it is stored and indexed the way the pipeline does (`index_meeting`).
One meeting discusses the planted topic the `ask` question is about.

Each query runs 20 times (median and 95th percentile, target 100 ms); the baseline is the search wgbot had before,
a LIKE scan of the transcript for the same word, on the same database. `--ask` also answers one question the
planted meeting answers and one nobody discussed, with the configured model (or `--model`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, text

from tracker import search
from tracker.db import Database
from tracker.models import Meeting, MeetingState, MinutesRecord, TranscriptSegment, WorkingGroup
from transcripts.cpu import cpu_line

COMMON = [
    "the",
    "we",
    "a",
    "to",
    "and",
    "is",
    "it",
    "that",
    "of",
    "this",
    "for",
    "in",
    "on",
    "so",
    "yeah",
    "think",
    "just",
    "like",
    "know",
    "about",
    "have",
    "what",
    "be",
    "can",
    "with",
    "do",
    "right",
    "okay",
    "then",
    "if",
    "there",
    "one",
    "also",
    "maybe",
    "would",
    "should",
    "need",
    "get",
    "make",
    "go",
    "see",
    "time",
    "good",
    "more",
    "some",
    "they",
    "people",
    "thing",
    "work",
    "still",
    "now",
    "because",
    "really",
    "way",
    "next",
    "week",
    "look",
    "sure",
    "point",
    "actually",
    "but",
    "all",
    "not",
    "from",
    "could",
    "want",
]
TOPICS = [
    "release",
    "parser",
    "runners",
    "budget",
    "documentation",
    "website",
    "security",
    "audit",
    "benchmark",
    "compiler",
    "migration",
    "plugin",
    "translation",
    "onboarding",
    "conference",
    "sponsorship",
    "dashboard",
    "api",
    "schema",
    "database",
    "cache",
    "deployment",
    "testing",
    "packaging",
    "roadmap",
    "license",
    "governance",
    "accessibility",
    "performance",
    "mobile",
    "telemetry",
    "backups",
    "newsletter",
]
SPEAKERS = ["Ada", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace"]
PLANTED = [
    ("Grace", "The Akash deployment demo is ready, I showed it to the foundation on Tuesday."),
    ("Bob", "Great, so we decided to present the Akash deployment demo at the community call in January."),
    ("Grace", "I will write a short blog post about the Akash deployment demo by Friday."),
]
QUERIES = [
    ("one rare word", "akash", {}),
    ("one topic word", "budget", {}),
    ("a common word", "people", {}),
    ("two words", "release budget", {}),
    ("a phrase", '"deployment demo"', {}),
    ("word, one speaker", "migration", {"speaker": "Carol"}),
    ("word, one month", "security", {"since": dt.date(2024, 3, 1), "until": dt.date(2024, 3, 31)}),
    ("question words (any)", "when is the release of the new parser", {"match_any": True}),
]


def _sentence(rng: random.Random, topics: list[str], weights: list[float]) -> str:
    words = rng.choices(COMMON, weights=weights, k=rng.randint(6, 16))
    for _ in range(rng.randint(0, 2)):
        words.insert(rng.randrange(len(words) + 1), rng.choice(topics))
    return (" ".join(words)).capitalize() + "."


def build(db: Database, meetings: int, seed: int = 7) -> tuple[int, float]:
    """The archive; returns (transcript lines, seconds spent indexing)."""
    rng = random.Random(seed)
    weights = [1 / (rank + 1) for rank in range(len(COMMON))]
    first = dt.datetime(2023, 1, 5, 17, 0, tzinfo=dt.UTC)
    lines = 0
    indexing = 0.0
    with db.session() as session:
        group = WorkingGroup(name="Bench WG", series_start=first.date())
        session.add(group)
        session.flush()
        group_id = group.id
    planted_at = meetings * 2 // 3
    for n in range(meetings):
        start = first + dt.timedelta(days=7 * n)
        topics = rng.sample(TOPICS, 4)
        with db.session() as session:
            meeting = Meeting(group_id=group_id, scheduled_start=start, started_at=start, state=MeetingState.published)
            session.add(meeting)
            session.flush()
            rows, t = [], 5.0
            speakers = rng.sample(SPEAKERS, 5)
            while t < 3600:
                said = _sentence(rng, topics, weights)
                duration = len(said.split()) * 0.4
                rows.append(
                    {
                        "meeting_id": meeting.id,
                        "speaker": rng.choice(speakers),
                        "track": "",
                        "start": round(t, 2),
                        "end": round(t + duration, 2),
                        "text": said,
                    }
                )
                t += duration + 0.6
            if n == planted_at:
                for i, (speaker, said) in enumerate(PLANTED):
                    rows.append(
                        {"meeting_id": meeting.id, "speaker": speaker, "track": "", "start": 1800.0 + 8 * i,
                         "end": 1806.0 + 8 * i, "text": said}
                    )  # fmt: skip
            session.execute(insert(TranscriptSegment), rows)
            session.add(
                MinutesRecord(
                    meeting_id=meeting.id,
                    summary=f"The group discussed the {topics[0]} and the {topics[1]}.",
                    long_summary=" ".join(_sentence(rng, topics, weights) for _ in range(12)),
                    decisions=[f"Move the {topics[2]} work to the next release"],
                )
            )
            lines += len(rows)
            started = time.perf_counter()
            search.index_meeting(session, meeting.id)
            indexing += time.perf_counter() - started
    # Statistics as a database that has lived with its archive has them (autovacuum's ANALYZE, SQLite's ANALYZE):
    # without them PostgreSQL's planner guesses the number of matches badly right after a bulk load.
    with db.engine.connect() as connection:
        connection.execute(text("ANALYZE"))
        connection.commit()
    return lines, indexing


def _timed(fn, repeat: int = 20) -> tuple[float, float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))], result


def measure(db: Database, name: str) -> list[tuple]:
    rows = []
    with db.session() as session:
        like = text("SELECT count(*) FROM transcript_segment WHERE lower(text) LIKE :p")
        for label, query, options in QUERIES:
            median, p95, hits = _timed(lambda q=query, o=options: search.search(session, q, limit=20, **o))
            word = query.strip('"').split()[0]
            base, _, _ = _timed(lambda w=word: session.execute(like, {"p": f"%{w}%"}).scalar(), repeat=5)
            rows.append((name, label, median, p95, len(hits), base))
    return rows


def ask_times(db: Database, model: str | None) -> list[tuple[str, float, str]]:
    from tracker import ask as asking
    from transcripts.llm import load_llm

    started = time.perf_counter()
    llm = load_llm(model)
    load = time.perf_counter() - started
    out = [("load the model (once per process)", load, llm.name)]
    for question in (
        "What did we decide about the Akash deployment demo?",
        "What is our travel budget for the Lisbon conference?",
    ):
        answer = asking.ask(db, question, llm=llm)
        verdict = f"{len(answer.statements)} statement(s), cites {', '.join(answer.citations()[:3]) or '—'}"
        if not answer.answered:
            verdict = "no recorded meeting discussed it (model not asked)"
        out.append((question, answer.seconds, verdict))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meetings", type=int, default=200)
    parser.add_argument("--postgres", default=os.environ.get("WGBOT_TEST_POSTGRES_URL"), help="server for the PG run")
    parser.add_argument("--ask", action="store_true", help="also time `ask` with the language model")
    parser.add_argument("--model", default=None, help="model for --ask (default: WGBOT_LLM_MODEL or the bundled one)")
    args = parser.parse_args()

    results, built = [], []
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = Database(f"sqlite:///{Path(tmp) / 'bench.db'}")
        sqlite.upgrade()
        started = time.perf_counter()
        lines, indexing = build(sqlite, args.meetings)
        built.append(("SQLite FTS5", lines, time.perf_counter() - started, indexing))
        results += measure(sqlite, "SQLite FTS5")
        pg, admin, name = None, None, None
        if args.postgres:
            try:
                admin = Database(args.postgres).engine.execution_options(isolation_level="AUTOCOMMIT")
                name = f"wgbot_bench_{uuid.uuid4().hex[:8]}"
                with admin.connect() as c:
                    c.execute(text(f'CREATE DATABASE "{name}"'))
                pg = Database(admin.url.set(database=name).render_as_string(hide_password=False))
                pg.upgrade()
            except Exception as exc:  # no server: the SQLite figures still stand
                print(f"PostgreSQL skipped: {str(exc).splitlines()[0]}")
                pg = None
        try:
            if pg is not None:
                started = time.perf_counter()
                lines, indexing = build(pg, args.meetings)
                built.append(("PostgreSQL", lines, time.perf_counter() - started, indexing))
                results += measure(pg, "PostgreSQL")
            asked = ask_times(sqlite, args.model) if args.ask else []
        finally:
            if pg is not None:
                pg.dispose()
                with admin.connect() as c:
                    c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            sqlite.dispose()

    print(f"\n{cpu_line()}\n{args.meetings} one-hour meetings; times in ms unless noted")
    print(f"{'database':<12} {'transcript lines':>16} {'build s':>8} {'indexing s':>10}")
    for name, lines, seconds, indexing in built:
        print(f"{name:<12} {lines:>16,} {seconds:>8.1f} {indexing:>10.1f}")
    print(
        f"\n{'database':<12} {'query':<26} {'median':>8} {'p95':>8} {'hits':>5} {'LIKE scan':>10} {'ratio':>7}  ≤100?"
    )
    worst = 0.0
    for name, label, median, p95, hits, base in results:
        worst = max(worst, p95)
        ok = "yes" if p95 <= 100 else "NO"
        print(f"{name:<12} {label:<26} {median:>8.1f} {p95:>8.1f} {hits:>5} {base:>10.1f} {base / median:>6.1f}x  {ok}")
    for question, seconds, verdict in asked:
        print(f"\nask: {question}\n     {seconds:.1f} s — {verdict}")
    return 0 if worst <= 100 else 1


if __name__ == "__main__":
    sys.exit(main())
