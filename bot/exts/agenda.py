"""`/agenda add | list | remove`: the next meeting's agenda."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot import embeds
from bot.checks import is_organizer
from tracker import agenda
from tracker.models import saved_id
from tracker.publishing.escape import discord as escaped

if TYPE_CHECKING:
    from bot.app import WgBot


class Agenda(commands.GroupCog, group_name="agenda", group_description="Topics for the next meeting"):
    def __init__(self, bot: WgBot) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="add", description="Add a topic to the next meeting's agenda")
    @app_commands.describe(topic="what to talk about", presenter="who brings it (default: nobody named)")
    async def add(
        self,
        interaction: discord.Interaction,
        topic: app_commands.Range[str, 1, agenda.MAX_TOPIC],
        presenter: app_commands.Range[str, 1, agenda.MAX_PRESENTER] | None = None,
    ) -> None:
        item, occ = await self.bot.group_call(agenda.add_item, topic, presenter, added_by=interaction.user)
        await interaction.response.send_message(
            f"📝 Added `#{item.id}` “{escaped(item.topic)}” to the agenda of {embeds.when(occ.start)}."
        )

    @app_commands.command(name="list", description="The next meeting's agenda")
    async def list_(self, interaction: discord.Interaction) -> None:
        view = await self.bot.group_call(agenda.list_items)
        await interaction.response.send_message(embed=embeds.agenda(view))

    @app_commands.command(name="remove", description="Remove a topic you added (organizers: any topic)")
    @app_commands.describe(item="the agenda item's number")
    async def remove(self, interaction: discord.Interaction, item: int) -> None:
        removed = await self.bot.group_call(agenda.remove_item, item, interaction.user, is_organizer(interaction))
        await interaction.response.send_message(
            f"🗑️ Removed `#{removed.id}` “{escaped(removed.topic)}” from the agenda."
        )

    @remove.autocomplete("item")
    async def _items(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[int]]:
        view = await self.bot.group_call(agenda.list_items)
        return [
            app_commands.Choice(name=embeds.cut(f"#{i.id} {i.topic}", 100), value=saved_id(i))
            for i in view.items
            if current.lower().lstrip("#") in f"{i.id} {i.topic}".lower()
        ][:25]


async def setup(bot: WgBot) -> None:
    await bot.add_cog(Agenda(bot), guild=bot.guild_object)
