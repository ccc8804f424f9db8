"""`/calendar`: the address of the calendar feed, and the next meeting; the feed follows agenda changes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot import embeds
from tracker import schedule

if TYPE_CHECKING:
    from bot.app import WgBot


class Calendar(commands.Cog):
    def __init__(self, bot: WgBot) -> None:
        self.bot = bot

    @app_commands.command(name="calendar", description="Subscribe to the meetings in your calendar app")
    async def calendar(self, interaction: discord.Interaction) -> None:
        occ = await self.bot.group_call(schedule.next_occurrence)
        await interaction.response.send_message(embed=embeds.calendar(self.bot.web.url, occ), ephemeral=True)

    @commands.Cog.listener()
    async def on_schedule_changed(self) -> None:
        self.bot.web.invalidate()

    @commands.Cog.listener()
    async def on_app_command_completion(self, interaction: discord.Interaction, command) -> None:
        # The feed's events carry each meeting's agenda: a new or removed topic renders it again.
        if command.qualified_name.startswith("agenda "):
            self.bot.web.invalidate()


async def setup(bot: WgBot) -> None:
    await bot.add_cog(Calendar(bot), guild=bot.guild_object)
