"""`wgbot doctor` against local servers that speak Discord's, GitHub's and Discourse's APIs: one line per check,
the problem named, nothing changed."""

from __future__ import annotations

import asyncio

import discord as discordpy
import pytest

from bot.doctor import run_checks
from tests.fakes.discord_rest import GUILD_ID, ORGANIZER_ROLE_ID, TEXT_CHANNEL_ID, VOICE_CHANNEL_ID, FakeDiscord
from tests.fakes.discourse_server import FakeDiscourse
from tests.fakes.github_server import FakeGithub
from tracker.config import load_settings
from tracker.db import Database
from tracker.doctor import FASTER_ON_AVX2, check_cpu, local_checks

TOPIC = 12
SEND_MESSAGES = discordpy.Permissions(send_messages=True).value


@pytest.fixture
async def discord():
    fake = FakeDiscord()
    await fake.start()
    fake.bot_roles = [ORGANIZER_ROLE_ID]  # Manage Events
    yield fake
    await fake.stop()


@pytest.fixture
def github():
    with FakeGithub(repo="wg/meetings") as fake:
        yield fake


@pytest.fixture
def forum():
    with FakeDiscourse() as fake:
        fake.add_topic(TOPIC, title="DAI WG minutes")
        yield fake


def _settings(discord, github, forum, tmp_path, **discord_overrides):
    db_url = f"sqlite:///{tmp_path / 'wgbot.db'}"
    Database(db_url).upgrade()
    return load_settings(
        storage={"database_url": db_url},
        models={"whisper_model": "tiny.en", "llm_model": "smollm2-135m-q8_0", "threads": 1},
        discord={
            "token": discord.token,
            "api_base": discord.base,
            "guild_id": GUILD_ID,
            "text_channel_id": TEXT_CHANNEL_ID,
            "voice_channel_id": VOICE_CHANNEL_ID,
            **discord_overrides,
        },
        github={"token": github.token, "repo": "wg/meetings", "api_url": github.api_url},
        forum={"url": forum.origin, "api_key": forum.api_key, "api_username": forum.username, "topic_id": TOPIC},
    )


async def _lines(settings, models=False) -> dict[str, tuple[str, str]]:
    checks = await asyncio.to_thread(lambda: list(run_checks(settings, models=models)))
    return {c.name: (c.status, c.detail) for c in checks}


async def test_a_healthy_deployment_passes_every_check(discord, github, forum, tmp_path):
    results = await _lines(_settings(discord, github, forum, tmp_path), models=True)
    assert {name: status for name, (status, _) in results.items()} == {
        "database": "ok",
        "cpu": "ok",
        "whisper model": "ok",
        "summary model": "ok",
        "discord token": "ok",
        "discord guild": "ok",
        "discord text channel": "ok",
        "discord voice channel": "ok",
        "github": "ok",
        "forum": "ok",
    }
    assert "#meetings" in results["discord text channel"][1] and "DAI WG minutes" in results["forum"][1]
    # Read-only: no message, no event, no issue, no label, no post.
    assert all(r.method == "GET" for r in discord.requests)
    assert github.repo.issues == [] and github.repo.labels == {}
    assert len(forum.posts_in(TOPIC)) == 1


async def test_missing_permissions_are_named(discord, github, forum, tmp_path):
    discord.bot_roles = []  # no Manage Events
    discord.channel_overwrites[TEXT_CHANNEL_ID] = [
        {"id": str(GUILD_ID), "type": 0, "allow": "0", "deny": str(SEND_MESSAGES)}
    ]
    github.can_push = False
    results = await _lines(_settings(discord, github, forum, tmp_path))
    assert results["discord guild"] == ("fail", "guild Decentralized AI WG: the bot lacks Manage Events")
    assert results["github"][0] == "fail" and "can read but not write" in results["github"][1]


async def test_a_channel_overwrite_that_denies_sending_is_found(discord, github, forum, tmp_path):
    discord.channel_overwrites[TEXT_CHANNEL_ID] = [
        {"id": str(GUILD_ID), "type": 0, "allow": "0", "deny": str(SEND_MESSAGES)}
    ]
    results = await _lines(_settings(discord, github, forum, tmp_path))
    # Discord's implicit permissions (as discord.py computes them): without Send Messages there are no embeds either.
    assert results["discord text channel"] == ("fail", "#meetings: the bot lacks Send Messages, Embed Links")
    assert results["discord voice channel"][0] == "ok"


async def test_a_refused_token_and_unknown_places_are_clear(discord, github, forum, tmp_path):
    discord.refuse_token = True
    forum.topics[TOPIC]["closed"] = True
    settings = _settings(discord, github, forum, tmp_path)
    results = await _lines(settings)
    assert results["discord token"][0] == "fail" and "rejected (401)" in results["discord token"][1]
    assert "discord guild" not in results  # nothing more to check without a valid token
    assert results["forum"][0] == "fail" and "is closed" in results["forum"][1]
    discord.refuse_token = False
    results = await _lines(_settings(discord, github, forum, tmp_path, guild_id=1234))
    assert results["discord guild"] == ("fail", "guild 1234 not found: is the bot invited to it?")


async def test_unconfigured_parts_are_skipped_and_an_old_schema_fails(tmp_path):
    settings = load_settings(storage={"database_url": f"sqlite:///{tmp_path / 'missing.db'}"})
    results = await _lines(settings)
    assert results["database"] == ("fail", f"no database at {tmp_path / 'missing.db'}: run `wgbot db upgrade`")
    assert not (tmp_path / "missing.db").exists()
    assert results["discord"][0] == results["github"][0] == results["forum"][0] == "skip"


def test_secrets_never_appear_in_the_report(tmp_path):
    settings = load_settings(
        github={"token": "ghp_secret_value_123456", "repo": "wg/x", "api_url": "http://127.0.0.1:9"}
    )
    checks = list(run_checks(settings, models=False))
    github = next(c for c in checks if c.name == "github")
    assert github.status == "fail" and "ghp_secret_value_123456" not in github.line


def test_the_cpu_check_says_what_the_vector_units_mean_for_the_wait():
    settings = load_settings(models={"llm_model": "qwen2.5-coder-1.5b-q8_0"})
    zen1 = {"sse4_2", "avx", "fma", "f16c", "avx2"}
    assert check_cpu(settings, zen1).startswith("AVX2 only") and FASTER_ON_AVX2 in check_cpu(settings, zen1)
    already = load_settings(models={"llm_model": FASTER_ON_AVX2})
    assert FASTER_ON_AVX2 not in check_cpu(already, zen1)  # no advice to switch to what is configured
    assert check_cpu(settings, zen1 | {"avx512f"}) == "AVX-512, no AMX"
    assert check_cpu(settings, zen1 | {"avx512f", "amx_tile", "amx_int8"}).startswith("AMX")
    with pytest.raises(RuntimeError, match="no AVX2"):
        check_cpu(settings, {"sse4_2", "avx"})
    assert "unknown" in check_cpu(settings, set())
    # this machine's own CPU, as the doctor reports it: one line, never a failure on a supported CPU
    line = next(c for c in local_checks(settings, models=True) if c.name == "cpu")  # before any model loads
    assert line.status == "ok" and "\n" not in line.detail
