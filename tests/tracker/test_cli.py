"""The `wgbot` command line: the command list, schedule and ICS output, database set-up, one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from icalendar import Calendar

from tracker.db import head_revision

WGBOT = [str(Path(sys.executable).with_name("wgbot"))]


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*WGBOT, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )


def test_help_lists_the_built_commands():
    result = run("--help")
    assert result.returncode == 0
    for command in ("schedule", "ics", "db"):
        assert command in result.stdout


def test_schedule_shows_the_next_thursdays_and_skip_changes_it(tmp_path):
    result = run("schedule", "-n", "3")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("Thu ") == 3 and "17:00" in result.stdout and "18:00" in result.stdout
    first_day = result.stdout.split("Thu ")[1].split()[0]
    skipped = run("schedule", "skip", first_day)
    assert skipped.returncode == 0, skipped.stderr
    after = run("schedule", "-n", "3")
    assert "skipped" in after.stdout


def test_ics_writes_a_calendar_to_stdout():
    result = subprocess.run([*WGBOT, "ics"], capture_output=True, timeout=120)
    assert result.returncode == 0, result.stderr
    calendar = Calendar.from_ical(result.stdout)
    assert len(list(calendar.walk("VEVENT"))) >= 1


def test_db_upgrade_then_status(tmp_path):
    env = {"WGBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'wg.db'}"}
    assert run("db", "status", env=env).returncode == 1
    up = run("db", "upgrade", env=env)
    assert up.returncode == 0 and f"revision {head_revision()} (head)" in up.stdout
    status = run("db", "status", env=env)
    assert status.returncode == 0 and "up to date" in status.stdout


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"WGBOT_SCHEDULE_TIME": "26:00"}, "WGBOT_SCHEDULE_TIME"),
        (
            {"WGBOT_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"},
            "database postgresql+psycopg://nobody@127.0.0.1:1/none",
        ),
    ],
)
def test_bad_configuration_is_a_one_line_error(env, expected):
    result = run("schedule", env=env)
    assert result.returncode == 1
    assert expected in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_bad_date_is_a_usage_error():
    result = run("schedule", "skip", "next week")
    assert result.returncode == 2 and "is not a date" in result.stderr


def test_a_user_error_no_command_handled_is_one_line_and_exit_code_1(monkeypatch, capsys):
    import typer

    import bot.cli as cli
    from tracker.schedule import ScheduleError

    probe = typer.Typer()

    @probe.command()
    def skip() -> None:
        raise ScheduleError("2026-12-10 is not a meeting day of this group")

    monkeypatch.setattr(cli, "app", probe)
    monkeypatch.setattr("sys.argv", ["wgbot"])
    with pytest.raises(SystemExit) as exited:
        cli.console_main()
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert err.strip() == "error: 2026-12-10 is not a meeting day of this group" and "Traceback" not in err


def test_every_error_meant_for_users_shares_one_base():
    """The Discord error handler and the CLI recognize user errors by this base alone (no hand-kept list)."""
    from bot.errors import CommandProblem
    from tracker.actions import ActionError
    from tracker.config import ConfigError
    from tracker.schedule import ScheduleError
    from transcripts.errors import TranscriptionError, UserError
    from transcripts.model_files import ModelFileError

    for error in (CommandProblem, ActionError, ConfigError, ScheduleError, TranscriptionError, ModelFileError):
        assert issubclass(error, UserError), error
