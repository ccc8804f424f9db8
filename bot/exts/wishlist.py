"""`/wishlist add | list`: what people would like the project to do."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot import embeds
from tracker import followthrough, wishlist
from tracker.publishing.escape import discord as escaped

if TYPE_CHECKING:
    from bot.app import WgBot


class Wishlist(commands.GroupCog, group_name="wishlist", group_description="Features and changes people wish for"):
    def __init__(self, bot: WgBot) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="add", description="Add an entry to the wish list")
    @app_commands.describe(title="the wish, in a few words", details="more about it (optional)")
    async def add(
        self,
        interaction: discord.Interaction,
        title: app_commands.Range[str, wishlist.MIN_TITLE, wishlist.MAX_TITLE],
        details: app_commands.Range[str, 1, wishlist.MAX_DETAILS] | None = None,
    ) -> None:
        entry = await self.bot.group_call(
            followthrough.add_wish, title, details, added_by=interaction.user, repo=self.bot.settings.github.repo
        )
        self.bot.dispatch("outbox_changed")  # files it on GitHub (or comments "raised again" on the same wish)
        await interaction.response.send_message(f"🌟 Added `#{entry.id}` “{escaped(entry.title)}” to the wish list.")

    @app_commands.command(name="list", description="The open wish-list entries, newest first")
    async def list_(self, interaction: discord.Interaction) -> None:
        entries = await self.bot.group_call(wishlist.list_entries)
        await interaction.response.send_message(embed=embeds.wishlist(entries))


async def setup(bot: WgBot) -> None:
    await bot.add_cog(Wishlist(bot), guild=bot.guild_object)
