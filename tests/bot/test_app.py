"""The core loads every feature as an extension and unloads them with it; the outbox publisher runs beside the
commands (in the pipeline extension) and stops with the bot."""

from __future__ import annotations

import asyncio

from bot.app import EXTENSIONS, WgBot
from tests.bot.conftest import bot_settings, pipeline_cog
from tests.fakes.discord_rest import TOKEN
from tracker.publishing.service import BackgroundPublisher


async def test_the_outbox_publisher_runs_beside_the_bot_and_stops_with_it(clock, fake_discord, sqlite_db, tmp_path):
    bot = WgBot(bot_settings(tmp_path / "data"), sqlite_db, background=True)
    await bot.login(TOKEN)
    try:
        assert set(bot.extensions) == set(EXTENSIONS)
        publisher = pipeline_cog(bot).publisher
        assert isinstance(publisher, BackgroundPublisher)
        task = pipeline_cog(bot)._publishing
        await asyncio.sleep(0.2)  # a first (empty) pass over the outbox
        assert task is not None and not task.done()
    finally:
        await bot.close()
    assert task.done()
    assert dict(bot.extensions) == {} and dict(bot.cogs) == {}  # every feature stopped with the bot
