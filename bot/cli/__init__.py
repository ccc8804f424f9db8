"""The `wgbot` command line. Each command lives in its own module and registers itself here."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from bot.cli import ask, db, doctor, forget, health, process, project, publish, run, schedule, search, site, web, worker
from bot.cli.common import err_console
from tracker.logs import configure_logging
from transcripts.errors import UserError

app = typer.Typer(
    name="wgbot",
    help="Working-group bot: schedule, record, transcribe, summarize and publish the weekly call.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


# Long-running services log their INFO lines to the console (`docker logs`); one-shot commands show their own
# progress and result there, and keep the INFO lines for the log file (and the console with -v).
SERVICES = {"run", "worker", "web"}


@app.callback()
def main(
    ctx: typer.Context,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="debug logging")] = False,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="wgbot.toml to read (or WGBOT_CONFIG)")] = None,
) -> None:
    # Recordings, transcripts, the database and the logs are for wgbot's user only: files 0600, folders 0700
    # (inherited by every process wgbot starts: the live transcriber, the pipeline's workers).
    os.umask(0o077)
    if config is not None:
        os.environ["WGBOT_CONFIG"] = str(config)  # the environment: the pipeline's worker processes read it too
    configure_logging(verbose, console_level=logging.INFO if ctx.invoked_subcommand in SERVICES else logging.WARNING)


for module in (process, run, schedule, publish, worker, doctor, health, db, search, ask, web, site, project, forget):
    module.register(app)


def console_main() -> None:
    """The `wgbot` command. A `UserError` that a command did not handle itself is its one-line message and exit
    code 1, never a traceback."""
    try:
        app()
    except UserError as exc:
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(1)
