"""The forum post and the Discord message through faults: one post per meeting, 429 waits as the server says,
long minutes cut to the forum's limit, the consecutive-reply rule explained."""

from __future__ import annotations

import pytest

from tests.fakes.discord_messages import rate_limited as discord_rate_limited
from tests.fakes.discourse_server import MAX_POST_LENGTH, rate_limited
from tests.publishing.conftest import CHANNEL, MINUTES, TOPIC, add_meeting, make_publisher, make_settings, rows, store
from tracker.models import PublicationState
from tracker.publishing import texts

POSTS = r"/posts\.json"
MESSAGES = r"/api/v10/channels/\d+/messages"

# Nothing for GitHub: the forum post and the Discord message are the only rows.
NO_ITEMS = MINUTES.model_copy(update={"action_items": [], "wishes": []})


def _publish(db, settings, clock, minutes=NO_ITEMS):
    meeting_id = add_meeting(db)
    store(db, meeting_id, minutes, repo=False)
    return meeting_id, make_publisher(db, settings, clock).drain(max_wait=3600)


@pytest.fixture
def fd_settings(forum, discord):
    return make_settings(None, forum, discord)


@pytest.mark.parametrize(
    "fault",
    [
        {"action": "status", "status": 500},
        {"action": "status_after", "status": 502},
        {"action": "slow", "delay": 2.4},
        {"action": "reset_before"},
        {"action": "reset_after"},
    ],
    ids=["500", "502 after posting", "answer after the timeout", "reset before", "reset after posting"],
)
def test_one_post_per_meeting_whatever_the_forum_does(db, forum, discord, fd_settings, clock, fault):
    forum.fault("POST", POSTS, **fault)
    meeting_id, report = _publish(db, fd_settings, clock)
    assert report.failed == [] and report.pending == 0
    assert len(forum.posts_with_marker(texts.marker(f"m{meeting_id}-forum"))) == 1
    assert len(forum.posts_in(TOPIC, forum.username)) == 1
    created = fault["action"] in ("status_after", "slow", "reset_after")
    assert len(forum.requests_to("POST", POSTS)) == (1 if created else 2)
    if created:  # resolved by reading the topic's latest posts with their raw text
        assert forum.requests_to("GET", rf"/t/{TOPIC}/posts\.json")


@pytest.mark.parametrize(
    "fault,wait",
    [
        (rate_limited(retry_after="4", wait_seconds=9), 4),  # the header wins
        (rate_limited(retry_after=None, wait_seconds=9), 9),  # then the JSON extras
        (rate_limited(retry_after=None, wait_seconds=None), 30),  # then the default
    ],
    ids=["Retry-After", "extras.wait_seconds", "default"],
)
def test_forum_429_waits_as_told(sqlite_db, forum, discord, fd_settings, clock, fault, wait):
    forum.fault("POST", POSTS, **fault)
    meeting_id, report = _publish(sqlite_db, fd_settings, clock)
    assert report.failed == [] and len(forum.posts_in(TOPIC, forum.username)) == 1
    assert wait <= report.delays[f"m{meeting_id}-forum"][0] <= wait + 1, report.delays


def test_minutes_too_long_for_the_forum_are_cut_at_a_section_with_a_link(sqlite_db, github, forum, clock):
    settings = make_settings(github, forum, None)
    huge = MINUTES.model_copy(
        update={
            "decisions": [f"Decision {n}: " + "keep the parser streaming-friendly " * 12 for n in range(120)],
            "wishes": [],
        }
    )
    meeting_id = add_meeting(sqlite_db)
    store(sqlite_db, meeting_id, huge, discord=False)
    report = make_publisher(sqlite_db, settings, clock).drain()
    assert report.failed == []
    [post] = forum.posts_in(TOPIC, forum.username)
    raw = post["raw"]
    assert len(raw) <= MAX_POST_LENGTH
    assert huge.summary in raw and "### Decisions" not in raw  # the whole section is left out, not cut mid-way
    readme = f"{github.origin}/wg/meetings/blob/main/meetings/2024.03.07/README.md"
    assert f"the rest is in the [full minutes]({readme})" in raw
    assert texts.marker(f"m{meeting_id}-forum") in raw


def test_a_fourth_consecutive_reply_is_refused_with_an_explanation(sqlite_db, forum, discord, fd_settings, clock):
    for n in range(3):
        forum._add_post(TOPIC, forum.username, f"An earlier meeting's minutes {n}")
    _, report = _publish(sqlite_db, fd_settings, clock)
    [key] = report.failed
    assert key.endswith("-forum")
    assert "staff or the topic owner" in report.errors[key] and "wgbot publish --retry-failed" in report.errors[key]
    assert {r.kind.value: r.state for r in rows(sqlite_db)}["discord_message"] == PublicationState.pending


def test_discord_message_through_429_and_unknown_outcomes(db, forum, discord, fd_settings, clock):
    discord.fault("POST", MESSAGES, **discord_rate_limited(0.4))
    discord.fault("POST", MESSAGES, action="slow", delay=2.4)  # posted, but the answer comes too late
    meeting_id, report = _publish(db, fd_settings, clock)
    assert report.failed == [] and report.pending == 0
    [message] = discord.channel(CHANNEL)
    assert message["content"].startswith("**Parsers WG call: 2024-03-07**")
    assert len(discord.requests_to("POST", MESSAGES)) == 2  # the 429, the slow one; then found in the channel
    assert 0.4 <= report.delays[f"m{meeting_id}-discord-minutes"][0] <= 0.45, report.delays
    [row] = [r for r in rows(db) if r.kind.value == "discord_message"]
    assert row.external_url == f"https://discord.com/channels/555/{CHANNEL}/{message['id']}"


def test_discord_nonce_makes_a_quick_repeat_harmless(sqlite_db, discord, clock):
    from tracker.publishing.discord_rest import DiscordRest

    client = DiscordRest(discord.token, discord.api_base)
    first = client.post_message(CHANNEL, "hello", key="m1-discord-minutes")
    again = client.post_message(CHANNEL, "hello", key="m1-discord-minutes")
    assert first.id == again.id and len(discord.channel(CHANNEL)) == 1
    client.close()
