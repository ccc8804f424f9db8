"""The agenda and reminder posts in the text channel, each posted once per meeting.

Once: before posting, the record (`tracker.discord_state`) is checked; if there is none, the channel's recent
messages are searched for the post's reference (`ref m12-agenda` in the embed footer), which catches a post whose
record was lost to a crash between posting and recording. The post itself carries a nonce derived from the key with
`enforce_nonce`, so Discord drops a repeat sent within minutes of the first.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import discord
from discord.ext import commands

from bot import embeds
from tracker import agenda, discord_state, schedule
from tracker.models import saved_id
from tracker.publishing.discord_rest import nonce_for

if TYPE_CHECKING:
    from bot.app import WgBot

log = logging.getLogger(__name__)

HISTORY_SCAN = 50  # messages to look through for an earlier post of the same announcement


def reference(key: str) -> str:
    return f"ref {key}"


def carries_reference(message: discord.Message, key: str) -> bool:
    return any((embed.footer.text or "").endswith(reference(key)) for embed in message.embeds)


class Announcements(commands.Cog):
    def __init__(self, bot: WgBot) -> None:
        self.bot = bot
        # One post at a time, in the order the timers fired: "posted yet?" and the post are one step, so a timer that
        # fires again waits for the first and finds its record.
        self._posting = asyncio.Lock()

    @commands.Cog.listener()
    async def on_meeting_agenda_timer_complete(self, occ: schedule.Occurrence) -> None:
        try:
            async with self._posting:  # taken in the order the timers fired
                await self.post_agenda(occ)
        except Exception:
            log.exception("could not post the agenda of the meeting of %s", occ.start.isoformat())

    @commands.Cog.listener()
    async def on_meeting_reminder_timer_complete(self, occ: schedule.Occurrence) -> None:
        try:
            async with self._posting:
                await self.post_reminder(occ)
        except Exception:
            log.exception("could not post the reminder of the meeting of %s", occ.start.isoformat())

    async def post_agenda(self, occ: schedule.Occurrence) -> discord.Message | None:
        digest = await self.bot.group_call(agenda.digest, occ)
        key = discord_state.announcement_key(digest.meeting_id, "agenda")
        return await self._post_once(
            digest.meeting_id, key, embeds.agenda_post_text(occ), embeds.agenda_post(digest, key)
        )

    async def post_reminder(self, occ: schedule.Occurrence) -> discord.Message | None:
        meeting = await self.bot.group_call(schedule.meeting_for, occ)
        meeting_id = saved_id(meeting)
        key = discord_state.announcement_key(meeting_id, "reminder")
        text = embeds.reminder_text(occ, self.bot.guild_id, self.bot.voice_channel_id)
        return await self._post_once(meeting_id, key, text, embeds.reminder(occ, key))

    async def _post_once(self, meeting_id: int, key: str, content: str, embed: discord.Embed) -> discord.Message | None:
        if await self.bot.db_call(discord_state.posted, key) is not None:
            log.info("%s was already posted", key)
            return None
        me = self.bot.user
        if me is None:
            raise RuntimeError("not logged in to Discord: cannot tell the bot's own messages")
        channel = await self.bot.text_channel()
        async for message in channel.history(limit=HISTORY_SCAN):
            if message.author.id == me.id and carries_reference(message, key):
                log.warning("%s was posted (message %s) but not recorded; recording it now", key, message.id)
                await self.bot.db_call(
                    discord_state.record_posted, meeting_id, key, message.channel.id, message.id, message.jump_url
                )
                return None
        message = await channel.send(
            content=content, embed=embed, nonce=nonce_for(key), allowed_mentions=discord.AllowedMentions.none()
        )
        await self.bot.db_call(
            discord_state.record_posted, meeting_id, key, message.channel.id, message.id, message.jump_url
        )
        log.info("posted %s as message %s", key, message.id)
        return message


async def setup(bot: WgBot) -> None:
    await bot.add_cog(Announcements(bot))
