"""`wgbot site --out DIR`: the public pages as a static site that works from disk or any web server.

DIR/index.html, DIR/meetings/index.html, DIR/meetings/YYYY-MM-DD/index.html (+ the transcript downloads), the
items, wish list, stats and projects pages, and a search page that searches `search-index.js` in the browser (a
script rather than JSON, so it also loads from file://). Only what the live site shows is written: the same
queries make both. Files are written beside the old ones and renamed over them, so a reader never sees half a page.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bot.web.site import DOWNLOADS, STATIC, Rendered, Site
from tracker import public
from tracker.db import Database


@dataclass
class ExportResult:
    out: Path
    pages: int
    meetings: int
    files: int
    seconds: float


class ExportError(RuntimeError):
    """The site cannot be exported; the message is one line for the user."""


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}", suffix=".part")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def export_site(db: Database, out: Path | str, *, feed_url: str | None = None) -> ExportResult:
    started = time.perf_counter()
    out = Path(out)
    site = Site(static=True, feed_url=feed_url)
    files = pages = 0

    def page(path: str, rendered: Rendered) -> None:
        nonlocal files, pages
        _write(out / path / "index.html", rendered.html)
        files += 1
        pages += 1

    index: dict = {"meetings": [], "docs": []}
    with db.session() as session:
        group = public.first_group(session)
        if group is None:
            raise ExportError("the working group is not set up yet (run `wgbot db upgrade` and `wgbot run` once)")
        meetings = public.published_meetings(session, group)
        page("", site.home(session, group))
        upcoming = public.upcoming(session, group)
        if upcoming is not None:  # the home page links to it
            day = upcoming.occurrence.start.date().isoformat()
            if public.find_meeting(meetings, day) is None:
                page(f"meetings/{day}", site.meeting(session, group, day))
        page("meetings", site.meetings(session, group))
        page("actions", site.actions(session, group, meetings))
        page("wishes", site.wishes(session, group, meetings))
        page("stats", site.stats(session, group, meetings))
        page("projects", site.projects(session, group, meetings))
        page(
            "search", site.render("search.html", "search/", title="Search", group_name=group.name, query="", hits=None)
        )
        for number, meeting_page in enumerate(public.meeting_pages(session, group, meetings)):
            m = meeting_page.meeting
            page(f"meetings/{m.slug}", site.meeting_page(meeting_page, group))
            for fmt in DOWNLOADS:
                _write(out / "meetings" / m.slug / f"transcript.{fmt}", site.transcript_download(meeting_page, fmt)[1])
                files += 1
            index["meetings"].append({"slug": m.slug, "date": m.date, "title": m.title})
            docs = index["docs"]
            if meeting_page.minutes:
                for text in (meeting_page.minutes.summary, *meeting_page.minutes.decisions):
                    if text:
                        docs.append({"m": number, "a": None, "s": "", "x": text})
            for row in meeting_page.actions:
                docs.append({"m": number, "a": row.item.at, "s": row.item.owner_name, "x": row.item.task})
            for segment in meeting_page.segments:
                docs.append({"m": number, "a": round(segment.start, 1), "s": segment.speaker, "x": segment.text})
    # "</" cannot end the script early when the JSON is a script's body.
    payload = json.dumps(index, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
    _write(out / "search-index.js", f"window.WG_SEARCH={payload};\n")
    files += 1
    target = out / "static"
    target.mkdir(parents=True, exist_ok=True)
    for source in STATIC.iterdir():
        if source.is_file():
            shutil.copyfile(source, target / source.name)
            files += 1
    return ExportResult(out, pages, len(meetings), files, time.perf_counter() - started)
