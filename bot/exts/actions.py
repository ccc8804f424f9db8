"""`/actions list | mine | done | assign | sync`: the open action items, kept in step with their GitHub issues
(done closes the issue with a comment, assign sets its assignee, both through the outbox; sync pulls GitHub's state)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot import embeds
from bot.checks import is_organizer, organizer_only
from tracker import actions, followthrough
from tracker.models import saved_id
from tracker.publishing.escape import discord as escaped
from tracker.publishing.sync import sync_issue_states

if TYPE_CHECKING:
    from bot.app import WgBot


class Actions(commands.GroupCog, group_name="actions", group_description="Action items from the meetings"):
    def __init__(self, bot: WgBot) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="list", description="Open action items, optionally of one owner")
    @app_commands.describe(owner="an owner's name (or part of it)")
    async def list_(self, interaction: discord.Interaction, owner: str | None = None) -> None:
        items = await self.bot.group_call(actions.list_open, owner)
        title = f"Open action items: {owner}" if owner else "Open action items"
        await interaction.response.send_message(embed=embeds.actions(items, title))

    @list_.autocomplete("owner")
    async def _owners(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        names = await self.bot.group_call(actions.owner_names, current)
        return [app_commands.Choice(name=n[:100], value=n[:100]) for n in names][:25]

    @app_commands.command(name="mine", description="Your open action items")
    async def mine(self, interaction: discord.Interaction) -> None:
        items = await self.bot.group_call(actions.mine, interaction.user)
        await interaction.response.send_message(embed=embeds.actions(items, "Your open action items"), ephemeral=True)

    @app_commands.command(name="done", description="Mark an action item done (yours; organizers: anyone's)")
    @app_commands.describe(item="the action item's number")
    async def done(self, interaction: discord.Interaction, item: int) -> None:
        closed = await self.bot.group_call(followthrough.mark_done, item, interaction.user, is_organizer(interaction))
        self._publish()
        await interaction.response.send_message(f"✅ `#{closed.id}` {escaped(embeds.cut(closed.task, 200))} — done.")

    @app_commands.command(name="assign", description="Give an action item an owner (organizers; others: take one)")
    @app_commands.describe(item="the action item's number", member="who will do it")
    async def assign(self, interaction: discord.Interaction, item: int, member: discord.Member) -> None:
        assigned = await self.bot.group_call(
            followthrough.assign, item, member, interaction.user, is_organizer(interaction)
        )
        self._publish()
        await interaction.response.send_message(
            f"👤 `#{assigned.id}` {escaped(embeds.cut(assigned.task, 200))} → {member.mention}",
            allowed_mentions=discord.AllowedMentions(users=[member]),
        )

    @app_commands.command(name="sync", description="Pull the issues' state from GitHub now (organizers)")
    @organizer_only("sync action items with GitHub")
    async def sync(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        report = await asyncio.to_thread(sync_issue_states, self.bot.db, self.bot.settings)
        text = f"🔄 Checked {report.checked} issue(s): {len(report.closed)} closed, {len(report.reopened)} reopened."
        if report.errors:
            text += "\n⚠️ " + embeds.cut("; ".join(report.errors), 1500)
        await interaction.followup.send(text, ephemeral=True)

    def _publish(self) -> None:
        self.bot.dispatch("outbox_changed")

    @done.autocomplete("item")
    @assign.autocomplete("item")
    async def _open_items(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[int]]:
        items = await self.bot.group_call(actions.list_open, None, 100)
        wanted = current.lower().lstrip("#")
        return [
            app_commands.Choice(name=embeds.cut(f"#{i.id} {i.owner_name}: {i.task}", 100), value=saved_id(i))
            for i in items
            if wanted in f"{i.id} {i.owner_name} {i.task}".lower()
        ][:25]


async def setup(bot: WgBot) -> None:
    await bot.add_cog(Actions(bot), guild=bot.guild_object)
