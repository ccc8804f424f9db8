"""The meeting timers' dispatcher: one task that fires the timer rows (tracker/timers.py) when they are due.

A fired timer becomes the discord.py event `meeting_<kind>_timer_complete(occurrence)`, which the feature that does
the work listens to (bot/exts/scheduled_events.py, announcements.py, recording.py), as RoboDanny's reminders do.
Before firing, the timer's meeting is looked up again: a meeting skipped or moved behind the bot's back (the CLI,
another process) fires nothing, and a moved one has its timers planned again.

The timers are planned again at start, on `schedule_changed`, and every hour of the wall clock, when the
dispatcher sends `schedule_changed` itself so every feature catches up with changes made outside the bot (the CLI,
another process). Periodic work that is not tied to a meeting runs in `discord.ext.tasks` loops of its feature.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import TYPE_CHECKING

from discord.ext import commands

from tracker import schedule, timers

if TYPE_CHECKING:
    from bot.app import WgBot

log = logging.getLogger(__name__)

REFRESH_EVERY = dt.timedelta(hours=1)
LONGEST_SLEEP = 60.0  # seconds: a wall clock that jumps (suspend, NTP) is noticed within this


class Timers(commands.Cog):
    def __init__(self, bot: WgBot) -> None:
        self.bot = bot
        self.fired: list[tuple[str, str]] = []  # (kind, meeting key) of the timers fired, in order (status, tests)
        self.busy = False  # claiming or firing (tests wait for it to be over)
        self._changed = asyncio.Event()
        # One change to the timer rows at a time: a plan and a claim made side by side (each in its own thread and
        # transaction) could leave a moved timer marked fired at its new time, or delete the same row twice.
        self._rows = asyncio.Lock()
        self._loop: asyncio.Task | None = None

    def kinds(self) -> tuple[str, ...]:
        """Only the timers the configured channels allow."""
        kinds = {"start"}
        if self.bot.voice_channel_id:
            kinds.add("event")
        if self.bot.text_channel_id:
            kinds |= {"agenda", "reminder"}
        return tuple(k for k in timers.KINDS if k in kinds)

    async def cog_load(self) -> None:
        await self.bot.db_call(timers.reopen)
        await self.replan()
        self._loop = asyncio.create_task(self._dispatch_forever(), name="wgbot: meeting timers")

    async def cog_unload(self) -> None:
        if self._loop is not None:
            self._loop.cancel()
            await asyncio.gather(self._loop, return_exceptions=True)

    async def replan(self) -> list[timers.PlannedTimer]:
        async with self._rows:
            planned = await self.bot.group_call(timers.replan, self.bot.settings.schedule, schedule.now(), self.kinds())
        self.wake()
        return planned

    def wake(self) -> None:
        """Look at the timers again now (a change, or a clock moved by a test)."""
        self._changed.set()

    @commands.Cog.listener()
    async def on_schedule_changed(self) -> None:
        await self.replan()

    async def _dispatch_forever(self) -> None:
        await self.bot.guild_ready.wait()  # the work needs the guild; the timers were planned at load
        next_refresh = schedule.now()  # at once: the Discord events catch up with changes made while down
        while True:
            self._changed.clear()
            delay = LONGEST_SLEEP
            try:
                self.busy = True
                if schedule.now() >= next_refresh:
                    next_refresh = schedule.now() + REFRESH_EVERY
                    self.bot.dispatch("schedule_changed")
                async with self._rows:
                    due = await self.bot.db_call(timers.claim_due, schedule.now())
                for timer in due:
                    await self._fire(timer)
                upcoming = await self.bot.db_call(timers.next_run_at)
                soonest = min(next_refresh, upcoming) if upcoming is not None else next_refresh
                delay = min(LONGEST_SLEEP, max(0.0, (soonest - schedule.now()).total_seconds()))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("could not fire the due timers; trying again shortly")
            finally:
                self.busy = False
            if delay:
                try:  # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancel that meets a wake-up
                    async with asyncio.timeout(delay):
                        await self._changed.wait()
                except TimeoutError:
                    pass

    async def _fire(self, timer: timers.DueTimer) -> None:
        occ, why_not = await self.bot.group_call(timers.still_wanted, self.bot.settings.schedule, timer, schedule.now())
        if occ is None:
            if why_not == "moved":
                log.info("%s for %s: the meeting moved since it was planned; planning again", timer.kind, timer.key)
                await self.replan()
            else:
                log.info("%s for %s: %s; nothing to do", timer.kind, timer.key, why_not)
            return
        log.info("%s for %s: due since %s", timer.kind, timer.key, timer.run_at.astimezone(dt.UTC).isoformat())
        self.fired.append((timer.kind, timer.key))
        self.bot.dispatch(f"meeting_{timer.kind}_timer_complete", occ)


async def setup(bot: WgBot) -> None:
    await bot.add_cog(Timers(bot))
