"""`wgbot publish` (drain the outbox; `--status` shows what is left and why) and `wgbot sync` (issue state back)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from bot.cli.common import console, database, fail, settings
from tracker import review
from tracker.models import utcnow
from tracker.publishing import Publisher, PublisherBusy, retry_failed, status, sync_issue_states


def _show_status(db, include_done: bool) -> int:
    rows = status(db, include_done=include_done)
    if not rows:
        console.print("nothing to publish: every publication is done" if not include_done else "the outbox is empty")
        return 0
    table = Table(show_lines=False, pad_edge=False)
    for column in ("id", "key", "state", "tries", "next / url"):
        table.add_column(column, overflow="fold")
    now = utcnow()
    for r in rows:
        if r.state == "pending":
            if r.waiting_for:
                when = "after " + ", ".join(r.waiting_for[:3]) + (" …" if len(r.waiting_for) > 3 else "")
            else:
                seconds = (r.next_attempt_at - now).total_seconds() if r.next_attempt_at else 0
                when = "now" if seconds <= 0 else f"in {seconds:.0f}s"
        else:
            when = r.external_url or ""
        table.add_row(str(r.id), r.key, r.state, str(r.attempts), when)
    console.print(table)
    errors = [r for r in rows if r.last_error]
    if errors:  # in full, one per line: they are what to act on
        console.print("last errors:")
        for r in errors:
            console.print(f"  {r.key}: {r.last_error}", highlight=False, soft_wrap=True, markup=False)
    return sum(r.state == "failed" for r in rows)


def publish(
    show_status: Annotated[
        bool, typer.Option("--status", help="list the publications not done yet, with their last error")
    ] = False,
    show_all: Annotated[bool, typer.Option("--all", help="with --status: list done publications too")] = False,
    again: Annotated[
        bool, typer.Option("--retry-failed", help="give failed publications another round of attempts")
    ] = False,
    max_wait: Annotated[
        float, typer.Option(help="keep going while the next retry is due within this many seconds")
    ] = 120.0,
    lock_wait: Annotated[
        float, typer.Option(help="seconds to wait for another publisher (e.g. the bot) to finish")
    ] = 30.0,
) -> None:
    """Publish what meetings left in the outbox: GitHub issues, the archive, the forum post, the Discord message."""
    loaded = settings()
    db = database(loaded)
    if show_status:
        failed = _show_status(db, show_all)
        raise typer.Exit(1 if failed else 0)
    if again:
        with db.session() as session:
            count = retry_failed(session)
        console.print(f"{count} failed publication(s) will be tried again")
    with db.session() as session:  # held meetings whose review deadline passed are released first
        for meeting_id in review.expire_due(session, utcnow(), loaded):
            console.print(f"meeting {meeting_id}: nobody reviewed it in time; its default applies")
    try:
        report = Publisher(db, loaded).drain(max_wait=max_wait, lock_timeout=lock_wait)
    except PublisherBusy as exc:
        fail(f"{exc}; it will publish these rows itself")
    console.print(f"published {len(report.done)}, failed {len(report.failed)}, still pending {report.pending}")
    for key in report.failed:
        console.print(f"  failed {key}: {report.errors.get(key, '')}", highlight=False, soft_wrap=True)
    if report.pending and report.next_attempt_at:
        seconds = max(0.0, (report.next_attempt_at - utcnow()).total_seconds())
        console.print(f"next retry in {seconds:.0f}s: run `wgbot publish` again then, or leave it to the bot")
    if report.failed:
        console.print("see `wgbot publish --status`; fix the cause, then `wgbot publish --retry-failed`")
        raise typer.Exit(1)


def sync() -> None:
    """Pull issue state from GitHub: closed issues mark their items done, reopened issues reopen them."""
    loaded = settings()
    db = database(loaded)
    report = sync_issue_states(db, loaded)
    console.print(f"checked {report.checked} issue(s): {len(report.closed)} closed, {len(report.reopened)} reopened")
    for what in report.closed:
        console.print(f"  done: {what}")
    for what in report.reopened:
        console.print(f"  reopened: {what}")
    for error in report.errors:
        console.print(f"  [red]error[/]: {error}", soft_wrap=True)
    if report.errors:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("publish")(publish)
    app.command("sync")(sync)
