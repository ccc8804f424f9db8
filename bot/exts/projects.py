"""`/project add | list | remove`: the group's projects, shown on the web home with their GitHub figures."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import organizer_only
from bot.errors import CommandProblem
from tracker import projects

if TYPE_CHECKING:
    from bot.app import WgBot

log = logging.getLogger(__name__)


class Projects(commands.GroupCog, group_name="project", group_description="The group's projects"):
    def __init__(self, bot: WgBot) -> None:
        self.bot = bot
        self._refreshing: set[asyncio.Task] = set()
        super().__init__()

    async def _call(self, fn, *args):
        try:
            return await self.bot.group_call(fn, *args)
        except projects.ProjectError as exc:
            raise CommandProblem(str(exc)) from None

    def refresh_later(self, ids: list[int]) -> None:
        """Fetch the figures from GitHub in a worker thread, after the reply (GitHub may be slow)."""
        github = self.bot.settings.github
        token = github.token.get_secret_value() if github.token else None
        task = asyncio.create_task(
            asyncio.to_thread(projects.refresh, self.bot.db, ids, api_url=github.api_url, token=token)
        )
        self._refreshing.add(task)
        task.add_done_callback(self._refreshing.discard)

    async def cog_unload(self) -> None:
        await asyncio.gather(*self._refreshing, return_exceptions=True)

    @app_commands.command(name="add", description="Add one of the group's projects (its GitHub repository)")
    @app_commands.describe(name="the project's name", repo="owner/name on GitHub", description="one line about it")
    @organizer_only("add projects")
    async def add(
        self,
        interaction: discord.Interaction,
        name: app_commands.Range[str, 1, projects.MAX_NAME],
        repo: app_commands.Range[str, 3, 200],
        description: app_commands.Range[str, 1, projects.MAX_DESCRIPTION] | None = None,
    ) -> None:
        project = await self._call(projects.add, name, repo, description)
        await interaction.response.send_message(
            f"📦 Added **{discord.utils.escape_markdown(project.name)}** (`{project.repo}`); its GitHub figures "
            "will show on the web home shortly."
        )
        self.refresh_later([project.id])

    @app_commands.command(name="list", description="The group's projects with their GitHub figures")
    async def list_(self, interaction: discord.Interaction) -> None:
        rows = await self._call(projects.list_projects)
        if not rows:
            await interaction.response.send_message("No projects yet: an organizer can add one with `/project add`.")
            return
        embed = discord.Embed(title="Projects", colour=discord.Colour.blurple())
        for p in rows[:25]:  # an embed holds 25 fields
            if p.fetched_at:
                release = p.last_release or "no release"
                figures = f"⭐ {p.stars} · {p.open_issues} open issues · {release}"
            else:
                figures = "no GitHub figures yet"
            about = f"\n{p.description}" if p.description else ""
            embed.add_field(
                name=p.name[:256],
                value=f"[{p.repo}](https://github.com/{p.repo}) — {figures}{about}"[:1024],
                inline=False,
            )
        await interaction.response.send_message(embed=embed)
        stale = [p.id for p in rows if projects.stale(p)]
        if stale:
            self.refresh_later(stale)

    @app_commands.command(name="remove", description="Remove one of the group's projects")
    @app_commands.describe(name="the project's name")
    @organizer_only("remove projects")
    async def remove(
        self, interaction: discord.Interaction, name: app_commands.Range[str, 1, projects.MAX_NAME]
    ) -> None:
        project = await self._call(projects.remove, name)
        await interaction.response.send_message(f"🗑️ Removed **{discord.utils.escape_markdown(project.name)}**.")


async def setup(bot: WgBot) -> None:
    await bot.add_cog(Projects(bot), guild=bot.guild_object)
