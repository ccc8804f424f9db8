"""`/project add | list | remove` through the real command tree and a local Discord; figures from a local GitHub."""

from __future__ import annotations

import pytest
from sqlmodel import select

from tests.bot.conftest import eventually
from tests.fakes.discord_rest import ALICE, BOB, invoke
from tests.fakes.github_server import FakeGithub
from tracker.models import Project

TOKEN = "ghp_test_token_0123456789"


@pytest.fixture
def github():
    with FakeGithub(token=TOKEN) as fake:
        fake.add_repo("wg/runner-kit", stars=42)
        fake.add_release("wg/runner-kit", "v1.2.0")
        yield fake


async def test_organizers_add_and_remove_projects_and_anyone_lists_them(
    clock, bot_factory, sqlite_db, fake_discord, github
):
    bot = await bot_factory(sqlite_db, github={"api_url": github.api_url, "token": TOKEN})
    refused = await invoke(fake_discord, bot, "project add", user=BOB, name="runner-kit", repo="wg/runner-kit")
    assert refused.ephemeral and "Only" in refused.text

    added = await invoke(
        fake_discord, bot, "project add", user=ALICE, name="runner-kit", repo="https://github.com/wg/runner-kit"
    )
    assert "Added **runner-kit** (`wg/runner-kit`)" in added.text

    def fetched():
        with sqlite_db.session() as session:
            project = session.exec(select(Project)).one()
            return project.fetched_at is not None and project.stars == 42

    await eventually(fetched, what="the project's GitHub figures")
    listed = await invoke(fake_discord, bot, "project list", user=BOB)
    field = listed.embeds[0]["fields"][0]
    assert field["name"] == "runner-kit" and "⭐ 42" in field["value"] and "v1.2.0" in field["value"]

    twice = await invoke(fake_discord, bot, "project add", user=ALICE, name="Runner-Kit", repo="wg/runner-kit")
    assert twice.ephemeral and "already a project called" in twice.text
    removed = await invoke(fake_discord, bot, "project remove", user=ALICE, name="runner-kit")
    assert "Removed **runner-kit**" in removed.text
    empty = await invoke(fake_discord, bot, "project list", user=BOB)
    assert "No projects yet" in empty.text
