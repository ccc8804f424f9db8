"""`wgbot db upgrade|status`: the schema migrations."""

from __future__ import annotations

import typer

from bot.cli.common import console, database, settings
from tracker import db as dbmod

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


@db_app.command("upgrade")
def upgrade() -> None:
    """Create or migrate the schema to the current version."""
    db = database(settings())
    console.print(f"database at revision {dbmod.current_revision(db.engine)} (head)")


@db_app.command("status")
def status() -> None:
    """Show the schema revision without changing anything."""
    db = database(settings(), migrate=False)
    current, head = dbmod.current_revision(db.engine), dbmod.head_revision()
    console.print(
        f"revision {current or 'none'}; latest {head}: {'up to date' if current == head else 'run `wgbot db upgrade`'}"
    )
    if current != head:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
