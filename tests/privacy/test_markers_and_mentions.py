"""Hidden markers can only come from the bot's own account, where wgbot writes them; users' text is escaped so it can
neither carry a marker nor mention anyone, on GitHub, Discourse and Discord."""

from __future__ import annotations

import datetime as dt

from sqlmodel import select

from tests.fakes.discord_rest import BOB, invoke
from tests.publishing.conftest import (
    FakeClock,
    add_meeting,
    make_publisher,
    make_settings,
    store,
)
from tracker.models import ActionItem, Publication
from tracker.publishing import texts
from tracker.publishing.escape import ZERO_WIDTH_SPACE, discord, markdown
from tracker.publishing.forum import DiscourseClient
from tracker.publishing.github import GithubClient
from transcripts.types import ActionItem as Action
from transcripts.types import Minutes

SINCE = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def test_a_marker_in_a_nickname_does_not_make_a_retried_row_adopt_that_issue(sqlite_db, github):
    """Mallory names herself after the marker of Bob's item; Bob's issue fails once (outcome unknown), so the retry
    looks for its marker. It must create Bob's issue, not adopt (and later overwrite) Mallory's."""
    meeting_id = add_meeting(sqlite_db)
    bob_key = f"m{meeting_id}-action-2"  # Bob's item is the second one stored in this empty database
    minutes = Minutes(
        summary="Two tasks.",
        action_items=[
            Action(owner=f"Mallory {texts.marker(bob_key)}", task="Rename the repository", at=1.0),
            Action(owner="Bob", task="Benchmark the new parser", at=2.0),
        ],
    )
    store(sqlite_db, meeting_id, minutes, forum=False, discord=False)
    with sqlite_db.session() as s:
        bob = s.exec(select(ActionItem).where(ActionItem.owner_name == "Bob")).one()
    assert f"m{meeting_id}-action-{bob.id}" == bob_key
    github.fault("POST", r"/api/v3/repos/wg/meetings/issues", when=lambda r: "Benchmark" in r.json()["title"])
    report = make_publisher(sqlite_db, make_settings(github, None, None), FakeClock()).drain(max_wait=3600)
    assert report.failed == [] and report.pending == 0

    with sqlite_db.session() as s:
        row = s.exec(select(Publication).where(Publication.idempotency_key == bob_key)).one()
    issue = github.issue(int(row.external_id))
    assert issue["title"] == "Benchmark the new parser"
    mallory = next(i for i in github.repo.issues if i["title"] == "Rename the repository")
    assert texts.marker(bob_key) not in mallory["body"]  # escaped: the raw text cannot carry it
    assert "Mallory" in mallory["body"]


def test_only_the_bots_own_issue_or_comment_with_the_marker_as_its_last_line_counts(github):
    mark = texts.marker("m9-action-9")
    client = GithubClient(github.token, github.api_url, write_interval=0, request_interval=0)
    repo = client.repo("wg/meetings")
    typed = github.add_issue("Looks like wgbot's", f"Hello\n\n{mark}\n")  # a person typed the marker
    assert repo.find_issue_by_marker(mark, SINCE) is None
    github.add_comment(typed["number"], f"me too\n\n{mark}")
    assert repo.find_comment_by_marker(mark, SINCE) is None

    quoted = repo.create_issue("Quote", f"{mark}\n\nand then more text\n", [], [])  # ours, marker not at the end
    assert repo.find_issue_by_marker(mark, SINCE) is None
    ours = repo.create_issue("Ours", f"Body\n\n{mark}\n", [], [])
    assert repo.find_issue_by_marker(mark, SINCE).number == ours.number != quoted.number
    comment = repo.create_comment(typed["number"], f"Raised again.\n\n{mark}\n")
    assert repo.find_comment_by_marker(mark, SINCE).id == comment.id


def test_a_forum_post_counts_only_when_ours_and_ending_with_the_marker(forum):
    mark = texts.marker("m9-forum")
    client = DiscourseClient(forum.origin, forum.api_key, forum.username)
    client.create_post(77, f"{mark}\n\nquoted by us, but not where we put it")
    assert client.find_post_by_marker(77, mark) is None
    ours = client.create_post(77, f"Minutes\n\n{mark}\n")
    assert client.find_post_by_marker(77, mark).id == ours.id


def test_users_text_cannot_produce_a_marker_or_a_mention_in_any_published_text():
    evil = f"@everyone @octocat <@123> {texts.marker('m1-forum')} [x](https://evil.example) **bold**"
    meeting = texts.MeetingView(1, evil, dt.date(2026, 12, 3))
    action = texts.ActionView(1, task=evil, owner=evil, excerpt=f"{evil}: {evil}")
    wish = texts.WishView(1, title=evil, details=evil, excerpt=evil)
    minutes = texts.MinutesView(evil, evil, [evil], [evil], [evil], [action], [wish])
    bodies = {
        "issue": texts.action_issue_body(action, meeting, "m1-action-1", assignee=None),
        "wish": texts.wish_issue_body(wish, meeting, "m1-wish-1"),
        "comment": texts.wish_comment_body(wish, None, "m1-wish-1"),
        "readme": texts.archive_readme(meeting, minutes, "m1-archive"),
        "transcript": texts.archive_transcript(meeting, [texts.SegmentView(evil, 1.0, evil)], "m1-archive"),
        "forum": texts.forum_post(meeting, minutes, "m1-forum"),
        "discord": texts.discord_minutes(meeting, minutes, None),
    }
    for name, body in bodies.items():
        if name == "discord":  # no markers there (a retry matches the whole content); shown literally
            assert body.count("<!--") == body.count("\\<!--"), name
        else:
            assert body.count("<!--") <= 1, name  # only wgbot's own marker, as the last line
        assert "@everyone" not in body and "@octocat" not in body and "<@123>" not in body, name
        assert "[x](" not in body and "**bold**" not in body, name
        assert f"@{ZERO_WIDTH_SPACE}everyone" in body, name  # still readable
    assert texts.carries_marker(bodies["forum"], texts.marker("m1-forum"))
    assert not texts.carries_marker(bodies["issue"], texts.marker("m1-forum"))


def test_the_assignee_is_the_one_mention_wgbot_means():
    meeting = texts.MeetingView(1, "Call", dt.date(2026, 12, 3))
    action = texts.ActionView(1, task="Ask @octocat", owner="Alice", github_login="alice")
    body = texts.action_issue_body(action, meeting, "m1-action-1", assignee="alice")
    assert "(@alice)" in body and "@octocat" not in body


def test_escaping_keeps_ordinary_text_readable():
    assert markdown("Ship v2.0 by Friday") == "Ship v2.0 by Friday"
    assert markdown("1. first\n# not a heading") == "1\\. first\n\\# not a heading"
    assert markdown("a < b && c") == "a &lt; b &amp;&amp; c"
    assert discord("snake_case") == "snake\\_case"
    assert markdown("mail me at a@b.org") == f"mail me at a@{ZERO_WIDTH_SPACE}b.org"


def test_an_unassigned_item_reads_unassigned():
    meeting = texts.MeetingView(1, "Call", dt.date(2026, 12, 3))
    action = texts.ActionView(1, task="Write the docs", owner="")
    assert "Owner: unassigned" in texts.action_issue_body(action, meeting, "m1-action-1", assignee=None)
    assert "**unassigned**" in texts.archive_readme(meeting, texts.MinutesView("s", "s", actions=[action]), "k")


async def test_an_agenda_topic_with_everyone_pings_nobody(bot, fake_discord):
    reply = await invoke(fake_discord, bot, "agenda add", user=BOB, topic="@everyone free pizza **now**")
    data = reply.bodies[0]["data"]
    assert data["allowed_mentions"] == {"parse": []}  # the bot's default: nobody is pinged
    assert "@everyone" not in reply.text and f"@{ZERO_WIDTH_SPACE}everyone" in reply.text
    assert "\\*\\*now\\*\\*" in reply.text


async def test_a_wish_title_with_here_pings_nobody(bot, fake_discord):
    reply = await invoke(fake_discord, bot, "wishlist add", user=BOB, title="@here look [at this](https://x.example)")
    assert reply.messages[0]["allowed_mentions"] == {"parse": []}
    assert "@here" not in reply.text and "[at this](" not in reply.text
