"""`/summary [date]` (the minutes of a past meeting) and `/search <words>` (past transcripts and minutes)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot import embeds
from bot.converters import parse_date
from tracker import search

if TYPE_CHECKING:
    from bot.app import WgBot


class Minutes(commands.Cog):
    def __init__(self, bot: WgBot) -> None:
        self.bot = bot

    @app_commands.command(name="summary", description="The minutes of a past meeting")
    @app_commands.describe(date="the meeting's date, YYYY-MM-DD (default: the latest with minutes)")
    async def summary(self, interaction: discord.Interaction, date: str | None = None) -> None:
        day = parse_date(date) if date else None
        past = await self.bot.group_call(search.minutes_for, day)
        await interaction.response.send_message(embed=embeds.minutes(past))

    @summary.autocomplete("date")
    async def _days(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        days: list[dt.date] = await self.bot.group_call(search.days_with_minutes)
        return [
            app_commands.Choice(name=f"{d:%a %Y-%m-%d}", value=d.isoformat()) for d in days if current in d.isoformat()
        ][:25]

    @app_commands.command(name="search", description="Search past transcripts and minutes")
    @app_commands.describe(words="the words to find (all of them)")
    async def search_(self, interaction: discord.Interaction, words: app_commands.Range[str, 2, 200]) -> None:
        hits = await self.bot.group_call(search.search, words)
        await interaction.response.send_message(embed=embeds.search_results(words, hits), ephemeral=True)


async def setup(bot: WgBot) -> None:
    await bot.add_cog(Minutes(bot), guild=bot.guild_object)
