"""`wgbot run`: one-line errors for what is missing or refused, before anything else happens."""

from __future__ import annotations

import asyncio

import typer
from typer.testing import CliRunner

from bot.cli import run
from tests.fakes.discord_rest import GUILD_ID, TOKEN


def cli() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        pass

    run.register(app)
    return app


def invoke(env: dict[str, str]):
    return CliRunner().invoke(cli(), ["run"], env=env)


def test_a_missing_token_is_one_line_and_exit_1(tmp_path):
    result = invoke({"WGBOT_DISCORD_GUILD_ID": str(GUILD_ID), "WGBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'wg.db'}"})
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "WGBOT_DISCORD_TOKEN is not set (needed to run the bot)" in lines[0]


def test_a_missing_guild_is_one_line_and_exit_1(tmp_path):
    result = invoke({"WGBOT_DISCORD_TOKEN": TOKEN, "WGBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'wg.db'}"})
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "WGBOT_DISCORD_GUILD_ID is not set" in lines[0]
    assert TOKEN not in result.output


async def test_a_refused_token_is_one_line_and_never_shown(fake_discord, tmp_path):
    fake_discord.refuse_token = True
    env = {
        "WGBOT_DISCORD_TOKEN": TOKEN,
        "WGBOT_DISCORD_GUILD_ID": str(GUILD_ID),
        "WGBOT_DISCORD_API_BASE": fake_discord.base,
        "WGBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'wg.db'}",
        "WGBOT_CALENDAR_PORT": "0",
    }
    result = await asyncio.to_thread(invoke, env)  # the fake Discord keeps answering on this loop
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "Discord refused the bot token (WGBOT_DISCORD_TOKEN)" in lines[0]
    assert TOKEN not in result.output
    assert [r.path for r in fake_discord.requests] == ["users/@me"]


async def test_a_guild_that_refuses_the_commands_is_one_line(fake_discord, tmp_path):
    fake_discord.refuse_command_sync = True
    env = {
        "WGBOT_DISCORD_TOKEN": TOKEN,
        "WGBOT_DISCORD_GUILD_ID": str(GUILD_ID),
        "WGBOT_DISCORD_API_BASE": fake_discord.base,
        "WGBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'wg.db'}",
        "WGBOT_CALENDAR_PORT": "0",
    }
    result = await asyncio.to_thread(invoke, env)
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert f"Discord refused the bot in guild {GUILD_ID} (Missing Access): invite it with the bot and" in lines[0]
