"""A bot restarted in a new process (used by test_scheduler.py): settings from the environment, the clock set to
argv[1], it logs in to the fake Discord named by WGBOT_DISCORD_API_BASE, receives its guild, lets the due timers fire,
prints what they did as JSON and exits."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys

import time_machine


async def main() -> None:
    from bot.app import WgBot
    from tests.bot.conftest import FakeRecorder, settle, timers_cog
    from tests.fakes.discord_rest import TOKEN, guild_payload
    from tracker.config import load_settings
    from tracker.db import Database

    settings = load_settings()
    db = Database(settings.storage.url)
    bot = WgBot(settings, db, recorder_factory=FakeRecorder, background=False)
    await bot.login(TOKEN)
    await bot.on_guild_available(bot._connection._add_guild_from_data(guild_payload()))
    await settle(bot)
    print(json.dumps({"fired": timers_cog(bot).fired}))
    await bot.close()
    db.dispose()


if __name__ == "__main__":
    with time_machine.travel(dt.datetime.fromisoformat(sys.argv[1]), tick=True):
        asyncio.run(main())
