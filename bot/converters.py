"""Slash-command argument types: a meeting date (with the upcoming meetings offered as you type) and a UTC time."""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.errors import CommandProblem
from tracker import schedule

if TYPE_CHECKING:
    from bot.app import WgBot

_TIME = re.compile(r"^\s*(\d{1,2})(?::?(\d{2}))?\s*(utc|z)?\s*$", re.IGNORECASE)


def parse_date(value: str, today: dt.date | None = None) -> dt.date:
    text = value.strip().lower()
    today = today or schedule.now().date()
    if text == "today":
        return today
    if text == "tomorrow":
        return today + dt.timedelta(days=1)
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CommandProblem(
            f"“{value.strip()[:40]}” is not a date: use YYYY-MM-DD, e.g. {today.isoformat()}"
        ) from None


def parse_time(value: str) -> dt.time:
    match = _TIME.match(value)
    if match:
        hour, minute = int(match.group(1)), int(match.group(2) or 0)
        if hour < 24 and minute < 60:
            return dt.time(hour, minute)
    raise CommandProblem(f"“{value.strip()[:40]}” is not a time: use HH:MM in UTC, e.g. 17:30")


class MeetingDate(app_commands.Transformer["WgBot"]):
    """A meeting's date (YYYY-MM-DD, `today`, `tomorrow`); offers the next meetings while typing."""

    async def transform(self, interaction: discord.Interaction[WgBot], value: str) -> dt.date:
        return parse_date(value)

    async def autocomplete(
        self, interaction: discord.Interaction[WgBot], value: int | float | str
    ) -> list[app_commands.Choice[int | float | str]]:
        occurrences = await interaction.client.group_call(schedule.next_occurrences, 10, None, True)
        typed = str(value).lower()  # a string option: what has been typed so far
        choices: list[app_commands.Choice[int | float | str]] = []
        for occ in occurrences:
            label = f"{occ.start:%a %Y-%m-%d %H:%M} UTC"
            if occ.status != "scheduled":
                label += f" ({occ.status})"
            if typed in label.lower():
                day = (occ.occurrence_start or occ.start).date()
                choices.append(app_commands.Choice(name=label, value=day.isoformat()))
        return choices[:25]


class UtcTime(app_commands.Transformer):
    """A time of day in UTC, HH:MM."""

    async def transform(self, interaction: discord.Interaction, value: str) -> dt.time:
        return parse_time(value)
