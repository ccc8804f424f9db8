"""The web home's pages, rendered from the tracker's public view with Jinja2 (autoescaped), for the live server and
for the static export alike.

A page is named by its path from the site's root (`""`, `meetings/`, `meetings/2026-12-03/`, `search/`...). Links
in the templates go through `u(path)`: root-relative on the live server (`/meetings/`), relative with
`index.html` for the static export, so the exported folder works from disk and from any sub-path.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import jinja2
from markdown_it import MarkdownIt
from markupsafe import Markup, escape
from sqlmodel import Session, col, select

from bot.web import charts
from tracker import public, schedule, stats
from tracker import search as fulltext
from tracker.models import ItemStatus, Project, WorkingGroup, as_utc
from transcripts import clock as meeting_clock
from transcripts import export
from transcripts.types import Segment, Transcript

TEMPLATES = Path(__file__).with_name("templates")
STATIC = Path(__file__).with_name("static")
MAX_QUERY = 200  # characters; longer is refused with 400
SEARCH_KINDS = ("transcript", "minutes", "item")  # not the call's chat: it is not part of the published minutes
SEARCH_LIMIT = 50
PROJECT_MENTIONS = 5
HOME_ITEMS = 15  # open action items on the home page
DONE_SHOWN = 100  # the latest closed items; each meeting's page lists all of its own
DOWNLOADS = {
    "json": ("application/json", lambda t, title: export.to_json(t)),
    "md": ("text/markdown", lambda t, title: export.to_markdown(t, title=title)),
    "vtt": ("text/vtt", lambda t, title: export.to_vtt(t)),
    "srt": ("application/x-subrip", lambda t, title: export.to_srt(t)),
}

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
_TRANSCRIPT_LINK = re.compile(r"\]\((?:\./)?transcript\.md#t=(\d+)\)")
_HEADING = re.compile(r"<(/?)h([1-6])>")


class PageNotFound(LookupError):
    """The page does not exist (or is not public); the message is shown to the reader."""


class BadRequest(ValueError):
    """The request cannot be answered as asked (an empty or too long search); the message is shown to the reader."""


@dataclass
class Rendered:
    html: str
    status: int = 200


def markdown(text: str | None, page: str = "", *, headings_below: int = 2) -> Markup:
    """Minutes text as HTML: raw HTML in it stays text, links into `transcript.md#t=` land on the line of the
    meeting's page (`page`, the address of that page; empty on the page itself), and its headings sit below the
    page's own (`headings_below`: a `#` becomes an <h3>)."""
    if not text:
        return Markup("")
    html = _markdown.render(_TRANSCRIPT_LINK.sub(lambda m: f"]({page}#t={m.group(1)})", text))
    html = _HEADING.sub(lambda m: f"<{m.group(1)}h{min(6, int(m.group(2)) + headings_below)}>", html)
    return Markup(html)


def snippet(hit: fulltext.Hit) -> Markup:
    """The hit's snippet with the matched words marked (the search escapes the text)."""
    return Markup(hit.snippet_html())


def find(session: Session, group: WorkingGroup, query: str, limit: int) -> list[fulltext.Hit]:
    return fulltext.search(session, query, group=group, limit=limit, kinds=SEARCH_KINDS)


def utc(value: dt.datetime | None) -> str:
    return as_utc(value).strftime("%Y-%m-%d %H:%M UTC") if value else ""


def duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


def time_tag(value: dt.datetime | None, with_time: bool = True) -> Markup:
    """A <time> the page's script adds the reader's local time to; without script it reads as UTC."""
    if value is None:
        return Markup("")
    value = as_utc(value)
    iso = value.strftime("%Y-%m-%dT%H:%M:%SZ")
    text = utc(value) if with_time else value.date().isoformat()
    local = ' data-local="1"' if with_time else ""
    return Markup(f'<time datetime="{iso}"{local}>{escape(text)}</time>')


def countdown(value: dt.datetime, now: dt.datetime) -> str:
    seconds = (as_utc(value) - now).total_seconds()
    if seconds <= 0:
        return "now"
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        return f"in {days} day{'s' * (days != 1)} {hours} h"
    return f"in {hours} h {rest // 60} min" if hours else f"in {rest // 60} min"


class Site:
    """Renders pages. `static=True`: links for the exported folder (relative, with index.html)."""

    def __init__(self, *, static: bool = False, root: str = "/", feed_url: str | None = None) -> None:
        self.static = static
        self.root = root if root.endswith("/") else root + "/"
        self.feed_url = feed_url
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES),
            autoescape=True,  # every value is text unless it is Markup built here
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.globals.update(
            time_tag=time_tag, utc=utc, duration=duration, clock=meeting_clock.short, markdown=markdown, snippet=snippet
        )
        self.env.filters["clock"] = meeting_clock.short

    # ---- links -------------------------------------------------------------------------------------------------

    def linker(self, page: str):
        """`u(path)` for the page at `page`: the address of `path` from there."""
        if not self.static:
            return lambda path: self.root + path
        depth = page.count("/")
        prefix = "../" * depth

        def u(path: str) -> str:
            if path == "" or path.endswith("/"):
                return prefix + path + "index.html"
            return prefix + path

        return u

    def render(self, template: str, page: str, status: int = 200, **context) -> Rendered:
        context.setdefault("title", "")
        html = self.env.get_template(template).render(
            u=self.linker(page), page=page, static=self.static, feed_url=self.feed_url, **context
        )
        return Rendered(html, status)

    def error(self, page: str, status: int, message: str, group_name: str = "") -> Rendered:
        titles = {400: "Bad request", 404: "Not found", 503: "Unavailable"}
        return self.render(
            "error.html",
            page,
            status=status,
            title=titles.get(status, "Error"),
            message=message,
            status_code=status,
            group_name=group_name,
        )

    # ---- pages (each takes a session inside one transaction) ---------------------------------------------------

    def home(self, session: Session, group: WorkingGroup) -> Rendered:
        meetings = public.published_meetings(session, group)
        open_actions = public.action_items(session, group, meetings, status=ItemStatus.open, limit=HOME_ITEMS)
        wishes = public.wishes(session, group, meetings)
        now = schedule.now()
        upcoming = public.upcoming(session, group)
        return self.render(
            "home.html",
            "",
            title="",
            group=group,
            group_name=group.name,
            upcoming=upcoming,
            countdown=countdown(upcoming.occurrence.start, now) if upcoming else "",
            join_url=schedule.join_url(group),
            last=meetings[0] if meetings else None,
            last_summary=public.summary_of(session, meetings[0].id) if meetings else "",
            open_actions=open_actions,
            top_wishes=[w for w in wishes if w.status.value == "open"][:10],
        )

    def meetings(self, session: Session, group: WorkingGroup) -> Rendered:
        return self.render(
            "meetings.html",
            "meetings/",
            title="Meetings",
            group_name=group.name,
            meetings=public.published_meetings(session, group),
        )

    def meeting(self, session: Session, group: WorkingGroup, slug: str) -> Rendered:
        page = public.meeting_page(session, group, slug)
        if page is None:
            return self._upcoming_or_404(session, group, slug)
        return self.meeting_page(page, group)

    def meeting_page(self, page: public.MeetingPage, group: WorkingGroup) -> Rendered:
        lines, seen = [], set()
        for segment in page.segments:
            second = int(segment.start)
            anchor = None if second in seen else f"t={second}"
            seen.add(second)
            lines.append((segment, anchor))
        return self.render(
            "meeting.html",
            f"meetings/{page.meeting.slug}/",
            title=f"{page.meeting.title} — {page.meeting.date}",
            group_name=group.name,
            p=page,
            m=page.meeting,
            lines=lines,
            downloads=list(DOWNLOADS),
        )

    def _upcoming_or_404(self, session: Session, group: WorkingGroup, slug: str) -> Rendered:
        page = f"meetings/{slug}/"
        try:
            day = dt.date.fromisoformat(slug)
        except ValueError:
            return self.error(page, 404, "There is no meeting at this address.", group.name)
        upcoming = public.upcoming(session, group, day)
        if upcoming is None:
            return self.error(
                page,
                404,
                f"There is no published meeting on {day.isoformat()}. Minutes appear here once published.",
                group.name,
            )
        return self.render(
            "upcoming.html",
            page,
            title=f"{upcoming.occurrence.title} — {day.isoformat()}",
            group_name=group.name,
            upcoming=upcoming,
            countdown=countdown(upcoming.occurrence.start, schedule.now()),
            join_url=schedule.join_url(group),
        )

    def transcript_file(self, session: Session, group: WorkingGroup, slug: str, fmt: str) -> tuple[str, str]:
        """(content type, text) of a published meeting's transcript download."""
        if fmt not in DOWNLOADS:
            raise PageNotFound(f"there is no transcript.{fmt}")
        page = public.meeting_page(session, group, slug)
        if page is None:
            raise PageNotFound("There is no published meeting at this address.")
        return self.transcript_download(page, fmt)

    @staticmethod
    def transcript_download(page: public.MeetingPage, fmt: str) -> tuple[str, str]:
        transcript = Transcript(
            segments=[Segment(s.speaker, s.start, s.end, s.text) for s in page.segments],
            started_at=page.meeting.start,
            duration=page.meeting.duration_seconds,
        )
        content_type, make = DOWNLOADS[fmt]
        return content_type, make(transcript, f"{page.meeting.title} — {page.meeting.date}")

    def actions(self, session: Session, group: WorkingGroup, meetings=None) -> Rendered:
        rows = public.action_items(session, group, meetings)
        overdue = [r for r in rows if r.overdue]
        open_rows = [r for r in rows if r.item.status.value == "open"]
        done = [r for r in rows if r.item.status.value == "done"]
        by_owner: dict[str, list[public.ActionRow]] = defaultdict(list)
        for row in open_rows:
            by_owner[row.item.owner_name or "(unassigned)"].append(row)
        done.sort(key=lambda r: r.item.closed_at or r.item.updated_at, reverse=True)
        done_total = len(done)
        return self.render(
            "actions.html",
            "actions/",
            title="Action items",
            group_name=group.name,
            overdue=overdue,
            by_owner=sorted(by_owner.items(), key=lambda kv: kv[0].casefold()),
            open_count=len(open_rows),
            done=done[:DONE_SHOWN],
            done_total=done_total,
        )

    def wishes(self, session: Session, group: WorkingGroup, meetings=None) -> Rendered:
        return self.render(
            "wishes.html",
            "wishes/",
            title="Wish list",
            group_name=group.name,
            wishes=public.wishes(session, group, meetings),
        )

    def search(self, session: Session, group: WorkingGroup, query: str | None) -> Rendered:
        page = "search/"
        if query is None:
            return self.render("search.html", page, title="Search", group_name=group.name, query="", hits=None)
        shown = query[:MAX_QUERY]
        if len(query) > MAX_QUERY:
            return self._search_error(
                group, shown, f"The search is too long ({len(query)} characters, at most {MAX_QUERY})."
            )
        if not query.strip():
            return self._search_error(group, "", "Type a word or two to search for.")
        meetings = {m.id: m for m in public.published_meetings(session, group)}
        hidden = public.hidden_speakers(session)
        try:
            # Ask for more than is shown: hits in unpublished meetings and hidden speakers' lines are dropped.
            found = find(session, group, query, SEARCH_LIMIT * 2)
        except fulltext.SearchError as exc:
            return self._search_error(group, shown, str(exc)[:1].upper() + str(exc)[1:] + ".")
        hits = [
            (h, meetings[h.meeting_id])
            for h in found
            if h.meeting_id in meetings and not (h.speaker and hidden.hides(h.speaker, None))
        ][:SEARCH_LIMIT]
        return self.render(
            "search.html",
            page,
            title=f"Search: {shown}",
            group_name=group.name,
            query=shown,
            hits=hits,
        )

    def _search_error(self, group: WorkingGroup, query: str, message: str) -> Rendered:
        return self.render(
            "search.html",
            "search/",
            status=400,
            title="Search",
            group_name=group.name,
            query=query,
            hits=None,
            message=message,
        )

    def stats(self, session: Session, group: WorkingGroup, meetings=None) -> Rendered:
        figures = stats.compute(session, group, meetings)
        return self.render(
            "stats.html",
            "stats/",
            title="Stats",
            group_name=group.name,
            s=figures,
            meetings_chart=charts.bars(figures.meetings_per_month, label="Meetings held per month", unit="meetings"),
            attendance_chart=charts.line(figures.attendance, label="Attendees per meeting", unit="attendees"),
            talk_chart=charts.shares(figures.talk_time, label="Share of talk time per speaker"),
            items_chart=charts.paired_bars(
                figures.items_per_month, label="Action items opened and closed per month", names=("opened", "closed")
            ),
        )

    def projects(self, session: Session, group: WorkingGroup, meetings=None) -> Rendered:
        projects = list(session.exec(select(Project).where(Project.group_id == group.id).order_by(col(Project.name))))
        published = {m.id: m for m in (meetings or public.published_meetings(session, group))}
        mentions = {}
        for project in projects:
            try:
                hits = find(session, group, f'"{project.name}"', PROJECT_MENTIONS * 4)
            except fulltext.SearchError:
                hits = []
            mentions[project.id] = [(h, published[h.meeting_id]) for h in hits if h.meeting_id in published][
                :PROJECT_MENTIONS
            ]
        return self.render(
            "projects.html",
            "projects/",
            title="Projects",
            group_name=group.name,
            projects=projects,
            mentions=mentions,
        )
