"""The Discord bot's core: infrastructure only. Every feature is an extension under `bot/exts/`.

The core holds the settings and the database (`db_call`/`group_call`: one tracker call in a worker thread, in one
transaction), finds the configured guild and its channels, answers command errors (`bot/errors.py`), serves the
web home and the calendar feed (one aiohttp listener that several features link to), and beats the heartbeat the
container healthcheck reads. `setup_hook` (once, after login, before the gateway connects) makes sure the working
group row exists, loads the extensions and syncs their commands to the configured guild.

Features own their state and talk to each other through discord.py events, never through the core:

  schedule_changed                     a skip, move or cadence change (and hourly): timers, events, calendar follow
  meeting_<kind>_timer_complete(occ)   a meeting timer fired (bot/exts/timers.py): event, agenda, reminder, start
  recording_started(meeting)           bot/exts/recording.py → the Discord event goes active
  recording_finished(meeting, result)  → the event completes, the pipeline takes the meeting
  member_opted(discord_id, out)        /record optout|optin → a recording under way drops or keeps them
  pipeline_progress(progress)          the status watcher read a meeting's progress → review posts or closes
  review_ended(meeting_id)             a review was approved or expired → the pipeline publishes
  outbox_changed()                     something was queued for publishing → the publisher wakes
  configured_guild_ready(guild)        the gateway delivered the guild: recover, resume, reconcile

Tests and embedders may pass a recorder factory, a pipeline runner, or `background=False` (no publisher); the
extensions read them from `bot.services`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import discord
from discord.ext import commands, tasks

from bot.errors import WgCommandTree
from bot.web.server import WebServer
from tracker import health, members, schedule
from tracker.config import Settings
from tracker.db import Database
from tracker.models import WorkingGroup

log = logging.getLogger(__name__)

T = TypeVar("T")
HEARTBEAT_SECONDS = 30
# The server channels messages can be posted in (and edited by id, `get_partial_message`).
MessageChannel = discord.TextChannel | discord.VoiceChannel | discord.StageChannel | discord.Thread

EXTENSIONS = (
    "bot.exts.timers",
    "bot.exts.scheduled_events",
    "bot.exts.announcements",
    "bot.exts.recording",
    "bot.exts.pipeline",
    "bot.exts.meetings",
    "bot.exts.agenda",
    "bot.exts.actions",
    "bot.exts.wishlist",
    "bot.exts.minutes",
    "bot.exts.calendar",
    "bot.exts.members",
    "bot.exts.review",
    "bot.exts.chat",
    "bot.exts.projects",
    "bot.exts.live",
    "bot.exts.site",
)


def use_api_base(url: str | None) -> None:
    """Point discord.py's REST client (and interaction webhooks, which share its Route) at `url` (tests, proxies)."""
    if url:
        discord.http.Route.BASE = url.rstrip("/")


@dataclass(frozen=True)
class Services:
    """What an embedder (or a test) may put in place of the real thing."""

    recorder_factory: Callable[..., Any] | None = None  # MeetingRecorder's signature (bot/voice/recorder.py)
    pipeline_runner: Any | None = None  # tracker.tasks.PipelineRunner's interface
    background: bool = True  # run the outbox publisher in this process


class WgBot(commands.Bot):
    def __init__(
        self,
        settings: Settings,
        db: Database,
        *,
        recorder_factory: Callable[..., Any] | None = None,
        pipeline_runner: Any | None = None,
        background: bool = True,
    ) -> None:
        settings.discord.require("guild_id", purpose="to run the bot")
        assert settings.discord.guild_id is not None  # for the type checker: require() made sure
        use_api_base(settings.discord.api_base)
        intents = discord.Intents.default()  # guilds and voice states: slash commands and recording need no more
        # The call's chat (bot/exts/chat.py): a privileged intent, enabled in the Developer Portal.
        intents.message_content = settings.discord.capture_chat
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            help_command=None,
            tree_cls=WgCommandTree,
            # Nothing the bot posts pings anyone unless that message says whom (users echo text: "@everyone …").
            allowed_mentions=discord.AllowedMentions.none(),
        )
        self.settings = settings
        self.db = db
        self.services = Services(recorder_factory, pipeline_runner, background)
        self.guild_id: int = settings.discord.guild_id
        self.guild_object = discord.Object(id=self.guild_id)
        self.organizer_role_id: int | None = settings.discord.organizer_role_id
        self.text_channel_id: int | None = settings.discord.text_channel_id
        self.voice_channel_id: int | None = settings.discord.voice_channel_id
        self.recordings_dir = Path(settings.storage.data_dir) / "recordings"
        self.group_id: int | None = None
        self.guild_ready = asyncio.Event()  # set once the configured guild is in the cache (gateway GUILD_CREATE)
        self.web = WebServer(settings, db)  # the web home and the calendar feed, on one aiohttp server

    # ---- tracker access ------------------------------------------------------------------------------------

    def _resolve(self, session, value: Any) -> Any:
        """Discord users become tracker members (created on first sight) inside the caller's transaction."""
        if isinstance(value, discord.User | discord.Member):
            return members.get_or_create(session, value.id, value.display_name)
        return value

    async def db_call(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """`fn(session, *args, **kwargs)` in a worker thread, in one transaction; Discord users passed as arguments
        arrive as `tracker.models.Member`."""

        def work() -> T:
            with self.db.session() as session:
                return fn(
                    session,
                    *[self._resolve(session, a) for a in args],
                    **{k: self._resolve(session, v) for k, v in kwargs.items()},
                )

        return await asyncio.to_thread(work)

    async def group_call(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """`fn(session, group, *args, **kwargs)`: `db_call` with the working group as second argument."""

        def with_group(session, *a, **kw):
            group = session.get(WorkingGroup, self.group_id)
            if group is None:
                raise RuntimeError(f"working group #{self.group_id} is missing from the database")
            return fn(session, group, *a, **kw)

        return await self.db_call(with_group, *args, **kwargs)

    # ---- the guild and its channels ------------------------------------------------------------------------

    async def guild(self, timeout: float = 120.0) -> discord.Guild:
        """The configured guild, waiting (up to `timeout`) for the gateway to deliver it after a start."""
        guild = self.get_guild(self.guild_id)
        if guild is None:
            await asyncio.wait_for(self.guild_ready.wait(), timeout)
            guild = self.get_guild(self.guild_id)
        if guild is None:
            raise RuntimeError(f"guild {self.guild_id} is not available to the bot")
        return guild

    async def text_channel(self) -> MessageChannel:
        """The configured text channel, where announcements, status and review messages go."""
        if not self.text_channel_id:
            raise RuntimeError("WGBOT_DISCORD_TEXT_CHANNEL_ID is not set")
        guild = await self.guild()
        channel = guild.get_channel(self.text_channel_id) or await self.fetch_channel(self.text_channel_id)
        if not isinstance(channel, MessageChannel):
            raise RuntimeError(f"channel {self.text_channel_id} (WGBOT_DISCORD_TEXT_CHANNEL_ID) is not a text channel")
        return channel

    # ---- life cycle ----------------------------------------------------------------------------------------

    async def setup_hook(self) -> None:
        group = await self.db_call(schedule.ensure_group, self.settings)
        self.group_id = group.id
        await self.web.start()
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        synced = await self.tree.sync(guild=self.guild_object)
        log.info("synced %d commands to guild %s", len(synced), self.guild_id)
        self.heartbeat.start()
        if not self.text_channel_id:
            log.warning("WGBOT_DISCORD_TEXT_CHANNEL_ID is not set: no agenda or reminder posts")
        if not self.voice_channel_id:
            log.warning("WGBOT_DISCORD_VOICE_CHANNEL_ID is not set: no Discord events and no recording")

    async def on_ready(self) -> None:
        log.info("connected as %s to %d guild(s)", self.user, len(self.guilds))
        guild = self.get_guild(self.guild_id)
        if guild is None:
            log.error("the bot is not a member of guild %s (WGBOT_DISCORD_GUILD_ID): invite it first", self.guild_id)
        elif not self.guild_ready.is_set():
            await self.on_guild_available(guild)

    async def on_guild_available(self, guild: discord.Guild) -> None:
        if guild.id == self.guild_id and not self.guild_ready.is_set():
            self.guild_ready.set()
            self.dispatch("configured_guild_ready", guild)

    @tasks.loop(seconds=HEARTBEAT_SECONDS)
    async def heartbeat(self) -> None:
        """For the container healthcheck (`wgbot health`): alive while connected to the gateway."""
        if self.is_ready() and not self.is_closed():
            await asyncio.to_thread(health.beat, self.settings.storage.data_dir, "bot")

    async def close(self) -> None:
        self.heartbeat.cancel()
        # Each feature stops what it runs; recordings first, while the others can still take what they hand over.
        for extension in sorted(self.extensions, key=lambda name: name != "bot.exts.recording"):
            try:
                await self.unload_extension(extension)
            except Exception:
                log.exception("could not unload %s cleanly", extension)
        await self.web.stop()
        await super().close()


async def _run(settings: Settings, db: Database) -> None:
    token = settings.discord.token.get_secret_value()  # type: ignore[union-attr]
    async with WgBot(settings, db) as bot:
        await bot.start(token)


def run_bot(settings: Settings, db: Database) -> None:
    """Run until interrupted. Raises discord.LoginFailure for a refused token."""
    try:
        asyncio.run(_run(settings, db))
    except KeyboardInterrupt:
        log.info("stopped")
