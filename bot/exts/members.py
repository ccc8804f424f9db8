"""`/link github <login>`, `/record optout | optin` and `/forget-me`: what members say about themselves."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot import embeds
from bot.checks import organizer_only
from tracker import forget as forgetting
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
        if member.github_login_pending is None:
            text = f"🔗 Linked to GitHub **{member.github_login}** (confirmed)."
        else:
            text = (
                f"🔗 GitHub **{member.github_login_pending}** noted. It counts once an organizer confirms it "
                "(`/link confirm`); then action items you own are assigned to you there."
            )
        await interaction.response.send_message(text, ephemeral=True)

    @link.command(name="confirm", description="Confirm the GitHub login a member linked (organizers)")
    @app_commands.describe(member="whose GitHub login to confirm")
    @organizer_only("confirm GitHub logins")
    async def link_confirm(self, interaction: discord.Interaction, member: discord.Member) -> None:
        confirmed = await self.bot.db_call(members.confirm_github, member)
        await interaction.response.send_message(
            f"✅ GitHub **{confirmed.github_login}** confirmed for {member.mention}: their items are assigned there."
        )

    @record.command(name="optout", description="Never record my voice")
    async def optout(self, interaction: discord.Interaction) -> None:
        await self.bot.db_call(members.set_recording_opt_out, interaction.user, True)
        self.bot.dispatch("member_opted", interaction.user.id, True)  # also in a recording under way
        # and from a call that is over but whose minutes are not written yet
        await self.bot.db_call(forgetting.opt_out_of_unfinished, interaction.user.id)
        await interaction.response.send_message(
            "🔇 You are opted out: your voice is not recorded or transcribed. You can still join the calls. "
            "`/record optin` undoes this.",
            ephemeral=True,
        )

    @record.command(name="optin", description="Allow recording my voice for the minutes")
    async def optin(self, interaction: discord.Interaction) -> None:
        await self.bot.db_call(members.set_recording_opt_out, interaction.user, False)
        self.bot.dispatch("member_opted", interaction.user.id, False)
        await interaction.response.send_message(
            "🎙️ You are opted in: your voice is recorded for the transcript and minutes of the calls.",
            ephemeral=True,
        )

    @app_commands.command(name="forget-me", description="Remove your voice and words from every meeting")
    async def forget_me(self, interaction: discord.Interaction) -> None:
        def find(session):
            try:
                return forgetting.resolve(session, str(interaction.user.id))
            except forgetting.ForgetError:
                return None

        person = await self.bot.db_call(find)
        if person is None:
            await interaction.response.send_message("🗑️ wgbot keeps nothing of you: nothing to forget.", ephemeral=True)
            return
        planned = await asyncio.to_thread(forgetting.preview, self.bot.db, person)
        text = embeds.lines_within(planned.lines_of_text(), 1700)
        await interaction.response.send_message(
            f"**This is what wgbot would remove or edit:**\n{text}\n\nIt cannot be undone.",
            view=ForgetView(self.bot, person, interaction.user.id),
            ephemeral=True,
        )


class ForgetView(discord.ui.View):
    """The confirmation of `/forget-me`: nothing happens until its owner presses "Forget me"."""

    def __init__(self, bot: WgBot, person: forgetting.Person, user_id: int) -> None:
        super().__init__(timeout=600)
        self.bot, self.person, self.user_id = bot, person, user_id

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return interaction.user.id == self.user_id

    @discord.ui.button(label="Forget me", style=discord.ButtonStyle.danger, custom_id="wgbot:forget:yes")
    async def confirm(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        self.stop()
        report = await asyncio.to_thread(forgetting.forget, self.bot.db, self.person)
        done = (
            f"🗑️ Done: {report.lines} transcript line(s) and {len(report.audio_files)} audio file(s) removed; "
            f"{len(report.edits)} published text(s) are being edited."
        )
        cannot = [f"• cannot change: {p.kind} {p.where} ({p.note})" for p in report.unchanged] + report.notes
        await interaction.response.edit_message(content=embeds.lines_within([done, *cannot], 1900), view=None)

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary, custom_id="wgbot:forget:no")
    async def cancel(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        self.stop()
        await interaction.response.edit_message(content="Nothing was changed.", view=None)


async def setup(bot: WgBot) -> None:
    await bot.add_cog(Members(bot), guild=bot.guild_object)
