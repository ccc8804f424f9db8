"""What runs beside the commands: the outbox publisher started by the bot, and stopped with it."""

from __future__ import annotations

import asyncio

from bot.app import WgBot
from tests.bot.conftest import bot_settings
from tests.fakes.discord_rest import TOKEN
from tracker.publishing.service import BackgroundPublisher


async def test_the_outbox_publisher_runs_beside_the_bot_and_stops_with_it(clock, fake_discord, sqlite_db, tmp_path):
    bot = WgBot(bot_settings(tmp_path / "data"), sqlite_db, background=True)
    await bot.login(TOKEN)
    try:
        assert isinstance(bot.publisher, BackgroundPublisher)
        [task] = bot._background
        await asyncio.sleep(0.2)  # a first (empty) pass over the outbox
        assert not task.done()
    finally:
        await bot.close()
    assert task.done()
    assert bot._background == []
