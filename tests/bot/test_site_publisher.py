"""`[web] publish_site`: the bot commits the static site to the repository at start and after each newly published
meeting, and not again while nothing new was published."""

from __future__ import annotations

import pytest

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
