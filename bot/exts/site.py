"""After each published meeting, the static site is committed to the GitHub repository (`[web] publish_site`).

Every few minutes the cog looks at the list of published meetings; when it changed since the last publication (or
after a start), it exports and commits the site in a worker thread (bot/web/publish.py: one commit with what
changed, none when nothing did, so a repeated run is harmless).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from discord.ext import commands, tasks

from bot.web.publish import publish_site
from tracker import public
from tracker.models import WorkingGroup

if TYPE_CHECKING:
    from bot.app import WgBot

log = logging.getLogger(__name__)

CHECK_MINUTES = 5


def _published(session, group_id: int) -> tuple:
    group = session.get(WorkingGroup, group_id)
    return tuple((m.id, m.slug) for m in public.published_meetings(session, group)) if group else ()


class SitePublisher(commands.Cog):
    def __init__(self, bot: WgBot) -> None:
        self.bot = bot
        self.published: tuple | None = None  # the meetings the site in the repository shows
        # One publish at a time: a second call while a commit is under way would commit the same site again.
        self._publishing = asyncio.Lock()

    async def cog_load(self) -> None:
        if self.bot.settings.web.publish_site:
            self.check.start()

    async def cog_unload(self) -> None:
        self.check.cancel()

    @tasks.loop(minutes=CHECK_MINUTES)
    async def check(self) -> None:
        await self.publish_if_changed()

    async def publish_if_changed(self) -> bool:
        """Commit the site if the published meetings changed since the last commit; True if it was published."""
        async with self._publishing:
            meetings = await self.bot.db_call(_published, self.bot.group_id)
            if meetings == self.published:
                return False
            try:
                done = await asyncio.to_thread(publish_site, self.bot.db, self.bot.settings)
            except Exception as exc:  # tried again at the next check
                log.warning("the site was not published: %s", exc)
                return False
            self.published = meetings
            log.info("site: %s", f"commit {done.commit[:7]}" if done.commit else "already up to date")
            return True


async def setup(bot: WgBot) -> None:
    await bot.add_cog(SitePublisher(bot))
