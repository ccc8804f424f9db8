"""The call's chat: while a meeting is recorded, messages in the voice channel's text chat and in the group's text
channel are kept with the meeting (tracker/chat.py decides what is kept; opted-out people never are).

Reading message text needs the privileged *Message Content* intent (Developer Portal → the application → Bot →
Privileged Gateway Intents); without it Discord delivers empty content and nothing is kept.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import discord
from discord.ext import commands

from tracker import chat
from tracker.models import Meeting, saved_id

if TYPE_CHECKING:
    from bot.app import WgBot

log = logging.getLogger(__name__)


def _clean(content: str, mentions: Sequence[Mapping[str, Any]]) -> str:
    """`<@123>` → `@Name`, as `Message.clean_content` shows mentions (for edits, which come as raw data)."""
    for user in mentions:
        name = (user.get("member") or {}).get("nick") or user.get("global_name") or user.get("username") or "?"
        content = re.sub(rf"<@!?{user.get('id')}>", f"@{name}", content)
    return content


class Chat(commands.Cog):
    def __init__(self, bot: WgBot) -> None:
        self.bot = bot
        self._recording: set[int] = set()  # meetings being recorded (recording_started … recording_finished)

    @commands.Cog.listener()
    async def on_recording_started(self, meeting: Meeting) -> None:
        self._recording.add(saved_id(meeting))

    @commands.Cog.listener()
    async def on_recording_finished(self, meeting: Meeting, result: object) -> None:
        self._recording.discard(saved_id(meeting))

    def _watched(self, guild_id: int | None, channel_id: int) -> bool:
        if guild_id != self.bot.guild_id or not self._recording:
            return False
        return channel_id in {c for c in (self.bot.voice_channel_id, self.bot.text_channel_id) if c}

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if message.guild is None or not self._watched(message.guild.id, message.channel.id):
            return
        if (
            message.author.bot
            or message.webhook_id is not None
            or message.type
            not in (
                discord.MessageType.default,
                discord.MessageType.reply,
            )
        ):
            return
        incoming = chat.Incoming(
            message_id=message.id,
            channel_id=message.channel.id,
            author_id=message.author.id,
            author_name=message.author.display_name,
            content=message.clean_content,
            posted_at=message.created_at,
        )
        try:
            await self.bot.group_call(chat.keep, incoming)
        except Exception:  # a lost chat line must not take the listener down
            log.exception("could not keep chat message %s", message.id)

    @commands.Cog.listener()
    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        content = payload.data.get("content")
        if content is None or not self._watched(payload.guild_id, payload.channel_id):
            return
        await self.bot.db_call(chat.edited, payload.message_id, _clean(content, payload.data.get("mentions") or []))

    @commands.Cog.listener()
    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        if payload.guild_id == self.bot.guild_id:
            await self.bot.db_call(chat.deleted, payload.message_id)


async def setup(bot: WgBot) -> None:
    await bot.add_cog(Chat(bot))
