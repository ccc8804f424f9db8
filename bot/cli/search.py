"""`wgbot search QUERY`: full-text search over every stored meeting (transcripts, minutes, items, chat)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from bot.cli.common import console, database, fail, settings
from tracker import search as searching


def parse_day(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        fail(f"{option} {value!r} is not a date (YYYY-MM-DD)", code=2)


def _marked(hit: searching.Hit) -> str:
    out, last = [], 0
    for start, end in hit.highlights:
        out += [escape(hit.snippet[last:start]), "[bold yellow]", escape(hit.snippet[start:end]), "[/]"]
        last = end
    out.append(escape(hit.snippet[last:]))
    return "".join(out)


def search(
    query: Annotated[str | None, typer.Argument(help='words, "a phrase", a OR b, -word')] = None,
    speaker: Annotated[str | None, typer.Option("--speaker", "-s", help="only what this person said or posted")] = None,
    since: Annotated[str | None, typer.Option(help="meetings on or after this date, YYYY-MM-DD")] = None,
    until: Annotated[str | None, typer.Option(help="meetings on or before this date, YYYY-MM-DD")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=searching.MAX_LIMIT)] = 20,
    reindex: Annotated[
        bool, typer.Option("--reindex", help="rebuild the search index from the stored meetings")
    ] = False,
) -> None:
    """Search past meetings: the best matches first, with the meeting date and time."""
    loaded = settings()
    db = database(loaded)
    if reindex:
        with db.session() as session:
            count = searching.reindex_all(session)
        console.print(f"indexed {count} texts")
        if query is None:
            return
    if query is None:
        fail("give a QUERY to search for (or --reindex)", code=2)
    try:
        hits = searching.search(
            db,
            query,
            speaker=speaker,
            since=parse_day(since, "--since"),
            until=parse_day(until, "--until"),
            limit=limit,
        )
    except searching.SearchError as exc:
        fail(str(exc))
    if not hits:
        console.print("nothing found")
        raise typer.Exit(1)
    table = Table(show_lines=False)
    for column in ("when (UTC)", "kind", "who", "text"):
        table.add_column(column, overflow="fold")
    for hit in hits:
        when = hit.cite if hit.start is not None else f"{hit.meeting_date.isoformat()}"
        table.add_row(when, hit.kind, escape(hit.speaker or ""), _marked(hit))
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("search")(search)
