"""`wgbot forget MEMBER [--yes]`: remove a person from every meeting (tracker/forget.py), for organizers."""

from __future__ import annotations

from typing import Annotated

import typer

from bot.cli.common import console, database, fail, settings
from tracker import forget as forgetting


def forget(
    member: Annotated[str, typer.Argument(help="a Discord user id, a mention (<@123>), or a speaker name")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")] = False,
) -> None:
    """Remove a person's audio and transcript lines from every meeting and the search index, and edit what was
    published (through the outbox: `wgbot publish`, or the running bot, applies the edits)."""
    db = database(settings())
    try:
        with db.session() as session:
            person = forgetting.resolve(session, member)
    except forgetting.ForgetError as exc:
        fail(str(exc))
    planned = forgetting.preview(db, person)
    for line in planned.lines_of_text():
        console.print(line, highlight=False, markup=False, soft_wrap=True)
    if not yes and not typer.confirm(f"Forget {person.label}? This cannot be undone", default=False):
        fail("nothing was changed", code=1)
    report = forgetting.forget(db, person)
    console.print(
        f"forgotten: {report.lines} line(s), {len(report.audio_files)} audio file(s); "
        f"{len(report.edits)} published text(s) will be edited by the publisher",
        highlight=False,
        markup=False,
    )


def register(app: typer.Typer) -> None:
    app.command("forget")(forget)
