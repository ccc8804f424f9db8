"""`wgbot schedule` (the next meetings and changes to them) and `wgbot ics` (the calendar feed)."""

from __future__ import annotations

import datetime as dt
import sys
from typing import Annotated

import typer
from rich.table import Table

from bot.cli.common import console, database, fail, settings
from tracker import schedule as sched

schedule_app = typer.Typer(help="Show and change the meeting schedule.", no_args_is_help=False)


def _parse_day(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        fail(f"{value!r} is not a date (YYYY-MM-DD)", code=2)


@schedule_app.callback(invoke_without_command=True)
def show(ctx: typer.Context, count: Annotated[int, typer.Option("--count", "-n", min=1, max=100)] = 6) -> None:
    """The next meetings (UTC)."""
    if ctx.invoked_subcommand:
        return
    loaded = settings()
    with database(loaded).session() as session:
        group = sched.ensure_group(session, loaded)
        rows = sched.next_occurrences(session, group, count=count, include_skipped=True)
        table = Table(title=f"{group.name}: next meetings (UTC)")
        for column in ("date", "start", "end", "title", "status"):
            table.add_column(column)
        for occ in rows:
            style = "dim strike" if occ.status == "skipped" else ("yellow" if occ.status == "rescheduled" else "")
            table.add_row(
                f"{occ.start:%a %Y-%m-%d}", f"{occ.start:%H:%M}", f"{occ.end:%H:%M}", occ.title, occ.status, style=style
            )
        console.print(table)


@schedule_app.command("skip")
def skip_cmd(day: Annotated[str, typer.Argument(help="the meeting's date, YYYY-MM-DD")]) -> None:
    """Skip one meeting."""
    loaded = settings()
    with database(loaded).session() as session:
        try:
            sched.skip(session, sched.ensure_group(session, loaded), _parse_day(day))
        except sched.ScheduleError as exc:
            fail(str(exc))
    console.print(f"skipped the meeting of {day}")


@schedule_app.command("reschedule")
def reschedule_cmd(
    day: Annotated[str, typer.Argument(help="the meeting's date, YYYY-MM-DD")],
    new_start: Annotated[str, typer.Argument(help="new start in UTC, 'YYYY-MM-DD HH:MM'")],
) -> None:
    """Move one meeting to another time."""
    try:
        start = dt.datetime.fromisoformat(new_start).replace(tzinfo=dt.UTC)
    except ValueError:
        fail(f"{new_start!r} is not a time ('YYYY-MM-DD HH:MM', UTC)", code=2)
    loaded = settings()
    with database(loaded).session() as session:
        try:
            sched.reschedule(session, sched.ensure_group(session, loaded), _parse_day(day), start)
        except sched.ScheduleError as exc:
            fail(str(exc))
    console.print(f"moved the meeting of {day} to {start:%Y-%m-%d %H:%M} UTC")


@schedule_app.command("set")
def set_cmd(
    weekday: Annotated[str, typer.Option(help="monday … sunday")],
    time: Annotated[str, typer.Option(help="start, HH:MM UTC")],
    duration: Annotated[int, typer.Option(help="minutes")] = 60,
) -> None:
    """Change the weekly cadence."""
    names = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    if weekday.lower() not in names:
        fail(f"{weekday!r} is not a weekday (monday … sunday)", code=2)
    try:
        start = dt.time.fromisoformat(time)
    except ValueError:
        fail(f"{time!r} is not a time (HH:MM)", code=2)
    loaded = settings()
    with database(loaded).session() as session:
        try:
            sched.set_cadence(
                session, sched.ensure_group(session, loaded), names.index(weekday.lower()), start, duration
            )
        except sched.ScheduleError as exc:
            fail(str(exc))
    console.print(f"meetings are now on {weekday.capitalize()} at {start:%H:%M} UTC for {duration} minutes")


@schedule_app.command("cancel")
def cancel_cmd(day: Annotated[str, typer.Argument(help="first date without meetings, YYYY-MM-DD")]) -> None:
    """End the series: no meetings from DAY on."""
    loaded = settings()
    with database(loaded).session() as session:
        sched.cancel_series(session, sched.ensure_group(session, loaded), _parse_day(day))
    console.print(f"the series ends before {day}")


def ics() -> None:
    """Write the calendar (ICS) to standard output: `wgbot ics > wg.ics`."""
    loaded = settings()
    with database(loaded).session() as session:
        group = sched.ensure_group(session, loaded)
        data = sched.to_ics(session, group, loaded.calendar.public_url, site_url=loaded.web.public_url)
    sys.stdout.buffer.write(data)
    sys.stdout.flush()


def register(app: typer.Typer) -> None:
    app.add_typer(schedule_app, name="schedule")
    app.command("ics")(ics)
