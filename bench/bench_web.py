"""How fast the web home answers from a long history: every page of a database of N one-hour meetings, and the
static export of it.

    .venv/bin/python bench/bench_web.py [--meetings 200] [--repeat 5] [--database sqlite|URL]

The meetings are generated (tests/web/sample.py `build_many`: 3-6 speakers, a line every ~5 s, minutes, items and
wishes) and stored through the tracker's own write path, which also indexes them for search. Each page is fetched
over real HTTP from the live server (`wgbot web`), `repeat` times after one warm-up request; the table shows the
median and the slowest. Target: every page ≤ 200 ms, the static export ≤ 60 s. The baseline row is the calendar
feed, which answers from a kept rendering: the server's own floor.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
import time_machine

from bot.web.export import export_site
from bot.web.server import WebServer
from tests.web.sample import build_many, settings
from tracker.db import Database
from transcripts.cpu import cpu_line

PAGE_TARGET = 0.200
EXPORT_TARGET = 60.0


async def time_pages(server: WebServer, paths: list[str], repeat: int) -> list[tuple[str, int, float, float]]:
    rows = []
    async with aiohttp.ClientSession() as http:
        for path in paths:
            times, status, size = [], 0, 0
            for i in range(repeat + 1):
                started = time.perf_counter()
                async with http.get(server.site_url.rstrip("/") + "/" + path.lstrip("/")) as response:
                    body = await response.read()
                    status, size = response.status, len(body)
                if i:  # the first request warms the database's and the templates' caches
                    times.append(time.perf_counter() - started)
            rows.append((path, status, statistics.median(times), max(times), size))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meetings", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database", default="sqlite", help="sqlite (a temporary file) or a PostgreSQL URL")
    args = parser.parse_args()

    print(cpu_line(), flush=True)
    work = Path(tempfile.mkdtemp(prefix="wgbot-bench-web-"))
    url = f"sqlite:///{work / 'wgbot.db'}" if args.database == "sqlite" else args.database
    db = Database(url)
    db.upgrade()
    now = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)
    with time_machine.travel(now, tick=True):
        started = time.perf_counter()
        ids = build_many(db, work, count=args.meetings)
        generated = time.perf_counter() - started
        print(f"generated {len(ids)} one-hour meetings in {generated:.1f} s ({url.split(':')[0]})", flush=True)
        with db.session() as session:
            from sqlmodel import func, select

            from tracker.models import TranscriptSegment

            lines = session.exec(select(func.count()).select_from(TranscriptSegment)).one()
        print(f"{lines} transcript lines", flush=True)

        loaded = settings(work)
        loaded.calendar.port = 0
        newest = (dt.date(2026, 11, 26)).isoformat()
        oldest = (dt.date(2026, 11, 26) - dt.timedelta(weeks=args.meetings - 1)).isoformat()
        paths = [
            "calendar.ics",
            "",
            "meetings/",
            f"meetings/{newest}/",
            f"meetings/{oldest}/",
            f"meetings/{newest}/transcript.vtt",
            "actions/",
            "wishes/",
            "search/?q=runner+budget",
            "search/?q=%22deploy+cluster%22",
            "stats/",
            "projects/",
        ]

        async def serve() -> list:
            server = WebServer(loaded, db)
            await server.start()
            try:
                return await time_pages(server, paths, args.repeat)
            finally:
                await server.stop()

        rows = asyncio.run(serve())
        started = time.perf_counter()
        result = export_site(db, work / "site")
        exported = time.perf_counter() - started

    baseline = rows[0][2]
    print(f"\n{'page':34} {'status':>6} {'median ms':>10} {'max ms':>8} {'× feed':>8} {'KiB':>7}  target")
    for path, status, median, slowest, size in rows:
        ok = "ok" if slowest <= PAGE_TARGET else "SLOW"
        print(
            f"/{path:33} {status:>6} {median * 1000:>10.1f} {slowest * 1000:>8.1f} {median / baseline:>8.1f} "
            f"{size / 1024:>7.0f}  {ok}"
        )
    size = sum(p.stat().st_size for p in (work / "site").rglob("*") if p.is_file())
    ok = "ok" if exported <= EXPORT_TARGET else "SLOW"
    print(
        f"\nstatic export: {result.pages} pages, {result.files} files, {size / 2**20:.0f} MiB in {exported:.1f} s "
        f"(target {EXPORT_TARGET:.0f} s): {ok}"
    )
    print(f"CPU: {os.cpu_count()} cores; data in {work}")
    slow = [r for r in rows if r[3] > PAGE_TARGET] or exported > EXPORT_TARGET
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
