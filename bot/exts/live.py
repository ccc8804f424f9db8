"""`/live`: the call's participants get a signed, expiring link to the live page (recording state and the growing
transcript, bot/web/live.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import CommandProblem
from tracker import live_view
from tracker.models import saved_id

if TYPE_CHECKING:
    from bot.app import WgBot


class Live(commands.Cog):
    def __init__(self, bot: WgBot) -> None:
        self.bot = bot

    @app_commands.command(name="live", description="A private link to the live transcript of the call (participants)")
    async def live(self, interaction: discord.Interaction) -> None:
        voice = getattr(interaction.user, "voice", None)
        if voice is None or voice.channel is None or voice.channel.id != self.bot.voice_channel_id:
            raise CommandProblem("Join the call's voice channel first: the live page is for the call's participants.")
        meeting = await self.bot.db_call(live_view.recording_now, self.bot.group_id)
        if meeting is None:
            raise CommandProblem("Nothing is being recorded right now.")
        hours = self.bot.settings.web.live_link_hours
        link = self.bot.web.live.link(saved_id(meeting))
        await interaction.response.send_message(
            f"🔴 Live transcript of **{discord.utils.escape_markdown(meeting.title)}**: {link}\n"
            f"This link is yours: it works for {hours:g} hours; do not share it.",
            ephemeral=True,
        )


async def setup(bot: WgBot) -> None:
    await bot.add_cog(Live(bot), guild=bot.guild_object)
