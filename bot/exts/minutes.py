"""`/summary [date]` (the minutes of a past meeting), `/search` (full text over every meeting), `/ask` (an answer
from the recorded meetings, cited) and `/catchup [n]` (the last meetings at a glance)."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot import embeds
from bot.converters import parse_date
from tracker import ask as asking
from tracker import search
from transcripts.llm import load_llm

if TYPE_CHECKING:
    from bot.app import WgBot

RESULTS = 8


def search_embed(query: str, hits: list[search.Hit]) -> discord.Embed:
    embed = discord.Embed(title=f"Search: {embeds.cut(query, 200)}", colour=embeds.BLUE)
    if not hits:
        embed.description = "Nothing found in past transcripts, minutes, items or chat."
        return embed
    lines = []
    for hit in hits:
        who = f" · {search.escape_markdown(hit.speaker)}" if hit.speaker else ""
        when = hit.cite if hit.start is not None else hit.meeting_date.isoformat()
        lines.append(f"**{when}** · {hit.kind}{who}\n> {embeds.cut(hit.snippet_markdown(), 300)}")
    embed.description = embeds.lines_within(lines, embeds.DESCRIPTION_LIMIT)
    return embed


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

    @app_commands.command(name="search", description="Search past transcripts, minutes, items and chat")
    @app_commands.describe(
        words='words (all of them), "a phrase", a OR b, -word',
        speaker="only what this person said or posted",
        since="meetings on or after this date, YYYY-MM-DD",
        until="meetings on or before this date, YYYY-MM-DD",
    )
    async def search_(
        self,
        interaction: discord.Interaction,
        words: app_commands.Range[str, 2, 200],
        speaker: str | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> None:
        first = parse_date(since) if since else None
        last = parse_date(until) if until else None
        hits = await self.bot.db_call(
            search.search, words, speaker=speaker, since=first, until=last, limit=RESULTS, group=self.bot.group_id
        )
        await interaction.response.send_message(embed=search_embed(words, hits), ephemeral=True)

    @app_commands.command(name="ask", description="Ask what was said in past meetings (answers cite date and time)")
    @app_commands.describe(question="the question, in plain words", since="only meetings on or after this date")
    async def ask(
        self,
        interaction: discord.Interaction,
        question: app_commands.Range[str, 3, asking.MAX_QUESTION],
        since: str | None = None,
    ) -> None:
        first = parse_date(since) if since else None
        await interaction.response.defer(thinking=True)
        models = self.bot.settings.models
        answer = await asyncio.to_thread(
            asking.ask,
            self.bot.db,
            question,
            since=first,
            group=self.bot.group_id,
            llm=lambda: load_llm(models.llm_model, threads=models.threads),
        )
        header = f"❓ {search.escape_markdown(embeds.cut(question, 200))}\n"
        await interaction.followup.send(
            header + answer.render(limit=1900 - len(header)), allowed_mentions=discord.AllowedMentions.none()
        )

    @app_commands.command(name="catchup", description="The last meetings' decisions, open items and wishes")
    @app_commands.describe(meetings="how many meetings (default 3)")
    async def catchup(
        self, interaction: discord.Interaction, meetings: app_commands.Range[int, 1, asking.MAX_CATCHUP] = 3
    ) -> None:
        digests = await self.bot.group_call(asking.catchup, meetings)
        await interaction.response.send_message(
            asking.render_catchup(digests, limit=2000),
            ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
        )


async def setup(bot: WgBot) -> None:
    await bot.add_cog(Minutes(bot), guild=bot.guild_object)
