"""`[web] publish_site`: the bot commits the static site to the repository at start and after each newly published
meeting, and not again while nothing new was published."""

from __future__ import annotations

import asyncio
import sys
import threading

import pytest

from bot.web.publish import publish_site
from tests.bot.conftest import eventually
from tests.fakes.github_server import FakeGithub
from tests.web.sample import UNPUBLISHED_WORDS, build_sample
from tracker.models import Meeting, MeetingState

TOKEN = "ghp_test_token_0123456789"


@pytest.fixture
def github():
    with FakeGithub(token=TOKEN, repo="wg/meetings") as fake:
        yield fake


async def test_the_bot_commits_the_site_when_a_meeting_is_published(clock, bot_factory, sqlite_db, tmp_path, github):
    sample = build_sample(sqlite_db, tmp_path)
    bot = await bot_factory(
        sqlite_db,
        github={"repo": "wg/meetings", "token": TOKEN, "api_url": github.api_url},
        web={"publish_site": True},
    )
    publisher = bot.get_cog("SitePublisher")
    # The first build renders every page (9 s here on a cold, idle Zen 1): a ceiling for a loaded machine, not a timing.
    await eventually(lambda: len(github.repo.commits) == 1, timeout=60, what="the site's first commit")
    assert ("main", "site/meetings/2026-11-26/index.html") in github.repo.files
    assert not await publisher.publish_if_changed()  # nothing new was published
    assert len(github.repo.commits) == 1

    with sqlite_db.session() as session:
        session.get(Meeting, sample.unpublished).state = MeetingState.published
    assert await publisher.publish_if_changed()
    assert len(github.repo.commits) == 2
    assert UNPUBLISHED_WORDS.encode() in github.repo.files[("main", "site/meetings/2026-11-12/index.html")]["content"]


async def test_a_check_while_the_site_is_being_committed_waits_and_commits_nothing_more(
    bot_factory, sqlite_db, tmp_path, github, monkeypatch
):
    build_sample(sqlite_db, tmp_path)
    bot = await bot_factory(sqlite_db, github={"repo": "wg/meetings", "token": TOKEN, "api_url": github.api_url})
    publisher = bot.get_cog("SitePublisher")
    commit_may_go = threading.Event()
    calls: list[int] = []

    def held_publish(db, settings):  # the real commit, held until the second check has had its chance
        calls.append(1)
        commit_may_go.wait(timeout=30)
        return publish_site(db, settings)

    # discord.py loads an extension as a new module object: patch the one the cog runs in.
    monkeypatch.setattr(sys.modules[type(publisher).__module__], "publish_site", held_publish)
    first = asyncio.create_task(publisher.publish_if_changed())
    await eventually(lambda: calls, what="the first commit under way")
    second = asyncio.create_task(publisher.publish_if_changed())
    await asyncio.sleep(0.3)  # without the lock the second check starts its own commit here
    assert len(calls) == 1
    commit_may_go.set()
    assert await first
    assert not await second  # it waited for the first and found the site up to date
    assert len(calls) == 1
    assert len(github.repo.commits) == 1
