"""`/link github <login>` and `/record optout | optin`: what members say about themselves."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from tracker import members

if TYPE_CHECKING:
    from bot.app import WgBot


class Members(commands.Cog):
    link = app_commands.Group(name="link", description="Link your accounts elsewhere")
    record = app_commands.Group(name="record", description="Whether your voice is recorded in the calls")

    def __init__(self, bot: WgBot) -> None:
        self.bot = bot

    @link.command(name="github", description="Your GitHub login, so action items are assigned to you there")
    @app_commands.describe(login="your GitHub login (or profile URL)")
    async def link_github(self, interaction: discord.Interaction, login: app_commands.Range[str, 1, 100]) -> None:
        member = await self.bot.db_call(members.link_github, interaction.user, login)
        await interaction.response.send_message(
            f"🔗 Linked to GitHub **{member.github_login}**: action items you own will be assigned to you there.",
            ephemeral=True,
        )

    @record.command(name="optout", description="Never record my voice")
    async def optout(self, interaction: discord.Interaction) -> None:
        await self.bot.db_call(members.set_recording_opt_out, interaction.user, True)
        self.bot.recording.member_opted(interaction.user.id, out=True)  # also in a recording under way
        await interaction.response.send_message(
            "🔇 You are opted out: your voice is not recorded or transcribed. You can still join the calls. "
            "`/record optin` undoes this.",
            ephemeral=True,
        )

    @record.command(name="optin", description="Allow recording my voice for the minutes")
    async def optin(self, interaction: discord.Interaction) -> None:
        await self.bot.db_call(members.set_recording_opt_out, interaction.user, False)
        self.bot.recording.member_opted(interaction.user.id, out=False)
        await interaction.response.send_message(
            "🎙️ You are opted in: your voice is recorded for the transcript and minutes of the calls.",
            ephemeral=True,
        )


async def setup(bot: WgBot) -> None:
    await bot.add_cog(Members(bot), guild=bot.guild_object)
