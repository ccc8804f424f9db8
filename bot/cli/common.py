"""What every CLI command shares: settings, the database, one-line errors."""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from tracker.config import ConfigError, Settings, load_settings
from tracker.db import Database
from tracker.logs import log_to_file, register_settings_secrets

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 1) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def settings() -> Settings:
    try:
        loaded = load_settings()
    except ConfigError as exc:
        fail(str(exc))
    register_settings_secrets(loaded)
    log_to_file(loaded.storage.data_dir / "logs")
    return loaded


def database(loaded: Settings, migrate: bool = True) -> Database:
    """The configured database, migrated to the current schema (idempotent, fast when already there)."""
    db = Database(loaded.storage.url)
    if migrate:
        try:
            db.upgrade()
        except Exception as exc:  # connection refused, permission denied, ...
            fail(f"database {db.engine.url.render_as_string(hide_password=True)}: {str(exc).splitlines()[0]}")
    return db
