"""Privacy tests reuse the fixtures of the suites whose paths they attack: the pipeline's fast models, the publishing
fakes (GitHub, Discourse) and the bot on a fake Discord."""

from tests.bot.conftest import bot, bot_factory, clock, fake_discord  # noqa: F401
from tests.pipeline.conftest import fast_models, short_recording  # noqa: F401
from tests.publishing.conftest import discord, forum, github  # noqa: F401
