"""A meeting published end to end through real PyGithub / httpx clients against the local fake services."""

from __future__ import annotations

import datetime as dt

from sqlmodel import select

from tests.publishing.conftest import (
    CHANNEL,
    MINUTES,
    REPO,
    TOPIC,
    add_meeting,
    make_publisher,
    make_settings,
    rows,
    store,
)
from tracker.models import ActionItem, Meeting, MeetingState, PublicationState, WishlistEntry
from tracker.publishing import texts


def _issue_by_title(github, title):
    return next(i for i in github.repo.issues if i["title"] == title)


def test_a_meeting_is_published_once_everywhere(db, github, forum, discord, settings, clock):
    meeting_id = add_meeting(db)
    store(db, meeting_id)
    report = make_publisher(db, settings, clock).drain()

    assert report.failed == [] and report.pending == 0
    assert all(r.state == PublicationState.done for r in rows(db))

    # labels: created through the labels API (our colours and descriptions), not on the fly by an issue
    labels = github.repo.labels
    for name in ("action-item", "wish-list", "needs-triage", "meeting:2024-03-07"):
        assert name in labels
    for name in ("action-item", "needs-triage", "meeting:2024-03-07"):
        assert not labels[name]["_created_by_issue"], name
    assert labels["meeting:2024-03-07"]["description"] == "Meeting of 2024-03-07"

    readme_url = f"{github.origin}/wg/meetings/blob/main/meetings/2024.03.07/README.md"

    # Alice has a linked, assignable login: assigned, no triage label
    alice = _issue_by_title(github, "Finish the RFC draft")
    assert alice["_assignees"] == ["alice"]
    assert sorted(alice["_labels"]) == ["action-item", "meeting:2024-03-07"]
    body = alice["body"]
    assert body.startswith("Finish the RFC draft\n")
    assert "Owner: Alice (@alice)" in body
    assert "Due: 2024-03-14" in body
    assert "at 00:01:15 (17:01 UTC)" in body
    assert "> Alice: I'll finish the RFC draft by next Thursday." in body
    assert f"([minutes]({readme_url}))" in body
    with db.session() as s:
        items = {a.owner_name: a for a in s.exec(select(ActionItem)).all()}
    assert texts.marker(f"m{meeting_id}-action-{items['Alice'].id}") in body
    assert items["Alice"].github_issue_number == alice["number"]
    assert items["Alice"].github_issue_url == alice["html_url"]

    # Bob has no login, Carol's login cannot be assigned: named in the body, labelled needs-triage
    bob = _issue_by_title(github, "Benchmark the new parser")
    carol = _issue_by_title(github, "Write the migration guide")
    assert bob["_assignees"] == [] and "needs-triage" in bob["_labels"]
    assert carol["_assignees"] == [] and "needs-triage" in carol["_labels"]
    assert "Owner: Bob (no GitHub account linked" in bob["body"] and "Due: not set" in bob["body"]
    assert "`carol-gh` cannot be assigned" in carol["body"] and "Due: 2024-03-21" in carol["body"]

    # wishes: the dark-mode one repeats the open wish-list issue #1 → a comment there; PDF export → a new issue
    assert len([i for i in github.repo.issues if "dark mode" in i["title"].lower()]) == 1
    [comment] = github.repo.comments
    assert comment["_issue"] == 1
    assert comment["body"].startswith("Raised again in the meeting of 2024-03-07")
    assert "> Dave: Can we please get dark mode on the dashboard?" in comment["body"]
    pdf = _issue_by_title(github, "Export the minutes as PDF")
    assert sorted(pdf["_labels"]) == ["meeting:2024-03-07", "wish-list"]
    with db.session() as s:
        wishes = {w.title: w for w in s.exec(select(WishlistEntry)).all()}
    assert wishes["Dark mode for the dashboard"].github_issue_number == 1
    assert wishes["Export the minutes as PDF"].github_issue_number == pdf["number"]
    assert len(github.repo.issues) == 1 + 3 + 1  # the old wish, three action items, one new wish

    # the archive: README with the summary, decisions, linked action items, wishes and links; the transcript
    readme = github.file_text("meetings/2024.03.07/README.md")
    assert readme.startswith("# Parsers WG call: 2024-03-07")
    assert MINUTES.long_summary in readme
    assert "- Ship the RFC draft on 2024-03-14" in readme
    assert f"- **Alice**: Finish the RFC draft, due 2024-03-14 ([#{alice['number']}]({alice['html_url']}))" in readme
    assert f"- Dark mode for the dashboard (raised again) ([#1]({github.issue(1)['html_url']}))" in readme
    assert "- <https://example.org/rfc-draft>" in readme
    transcript = github.file_text("meetings/2024.03.07/transcript.md")
    assert "**[00:05:12] Bob:** I can benchmark the new parser." in transcript

    # the forum: one reply in the topic, with the short summary, linked action items, the archive link, the marker
    [post] = forum.posts_in(TOPIC, forum.username)
    assert MINUTES.summary in post["raw"]
    assert f"[#{carol['number']}]({carol['html_url']})" in post["raw"]
    assert f"Full minutes and transcript: {readme_url}" in post["raw"]
    assert texts.marker(f"m{meeting_id}-forum") in post["raw"]

    # Discord: one message in the text channel pointing at both
    [message] = discord.channel(CHANNEL)
    assert message["content"].startswith("**Parsers WG call: 2024-03-07**")
    assert readme_url in message["content"] and f"/t/working-group-meetings/{TOPIC}/" in message["content"]

    # order: every issue before the archive, the archive before the forum, the forum before Discord
    issue_posts = github.requests_to("POST", r"/api/v3/repos/wg/meetings/issues(/\d+/comments)?")
    archive_puts = github.requests_to("PUT", r"/api/v3/repos/wg/meetings/contents/.*")
    forum_posts = forum.requests_to("POST", r"/posts\.json")
    discord_posts = discord.requests_to("POST", r"/api/v10/channels/\d+/messages")
    assert max(r.time for r in issue_posts) <= min(r.time for r in archive_puts)
    assert max(r.time for r in archive_puts) <= forum_posts[0].time <= discord_posts[0].time

    with db.session() as s:
        assert s.get(Meeting, meeting_id).state == MeetingState.published

    # a second drain finds nothing to do and writes nothing
    writes = len(github.writes()) + len(forum.requests) + len(discord.requests)
    again = make_publisher(db, settings, clock).drain()
    assert again.done == [] and len(github.writes()) + len(forum.requests) + len(discord.requests) == writes


def test_changed_minutes_update_everything_in_place(db, github, forum, discord, settings, clock):
    meeting_id = add_meeting(db)
    store(db, meeting_id)
    make_publisher(db, settings, clock).drain()
    issues_before = len(github.repo.issues)
    commits_before = len(github.repo.commits)

    changed = MINUTES.model_copy(deep=True)
    changed.summary = "Updated: the RFC draft ships next week."
    changed.action_items[1] = changed.action_items[1].model_copy(update={"due": dt.date(2024, 3, 28)})
    result = store(db, meeting_id, changed)
    assert result.changed
    report = make_publisher(db, settings, clock).drain()
    assert report.failed == [] and report.pending == 0

    assert len(github.repo.issues) == issues_before  # edited, not re-created
    bob = _issue_by_title(github, "Benchmark the new parser")
    assert "Due: 2024-03-28" in bob["body"]
    assert github.requests_to("PATCH", rf"/api/v3/repos/wg/meetings/issues/{bob['number']}")
    readme = github.file_text("meetings/2024.03.07/README.md")
    assert "due 2024-03-28" in readme
    assert len(github.repo.commits) == commits_before + 1  # the README again; the unchanged transcript is left alone
    assert [c["path"] for c in github.repo.commits].count("meetings/2024.03.07/transcript.md") == 1

    [post] = forum.posts_in(TOPIC, forum.username)
    assert "Updated: the RFC draft ships next week." in post["raw"] and post["version"] == 2
    assert len(forum.requests_to("POST", r"/posts\.json")) == 1
    [message] = discord.channel(CHANNEL)
    assert "Updated: the RFC draft" in message["content"] and message["edited_timestamp"]


def test_a_second_meeting_on_the_same_day_gets_its_own_folder(sqlite_db, github, clock):
    settings = make_settings(github, None, None)
    first = add_meeting(sqlite_db)
    second = add_meeting(sqlite_db, dt.datetime(2024, 3, 7, 19, 0, tzinfo=dt.UTC))
    store(sqlite_db, first, forum=False, discord=False)
    store(sqlite_db, second, forum=False, discord=False)
    make_publisher(sqlite_db, settings, clock).drain()
    assert github.file_text("meetings/2024.03.07/README.md")
    assert github.file_text("meetings/2024.03.07-2/README.md")


def test_github_writes_are_at_least_a_second_apart_by_default(sqlite_db, github, clock):
    settings = make_settings(github, None, None, write_interval_seconds=1.0)
    meeting_id = add_meeting(sqlite_db)
    for name in ("action-item", "needs-triage", "meeting:2024-03-07"):  # labels exist: only the 3 writes below
        github._label(github.repo, name)
    one = MINUTES.model_copy(update={"action_items": MINUTES.action_items[1:2], "wishes": []})
    store(sqlite_db, meeting_id, one, forum=False, discord=False)
    make_publisher(sqlite_db, settings, clock).drain()
    times = [r.time for r in github.writes()]
    assert len(times) == 3  # the issue, the transcript, the README
    assert all(b - a >= 0.95 for a, b in zip(times, times[1:])), times


def test_rows_wait_for_the_rows_they_link_to(sqlite_db, github, forum, discord, settings, clock):
    meeting_id = add_meeting(sqlite_db)
    store(sqlite_db, meeting_id)
    github.fault("POST", r"/api/v3/repos/wg/meetings/issues", status=500, times=1)  # the first issue fails once
    report = make_publisher(sqlite_db, settings, clock).drain()  # no waiting: the failed row is due later
    states = {r.kind.value: r.state for r in rows(sqlite_db)}
    assert report.pending == 4  # the failed issue, the archive, the forum post, the Discord message
    assert states["archive"] == states["forum_post"] == states["discord_message"] == PublicationState.pending
    assert not github.repo.files and not forum.posts_in(TOPIC, forum.username) and not discord.channel(CHANNEL)

    report = make_publisher(sqlite_db, settings, clock).drain(max_wait=60)
    assert report.pending == 0 and report.failed == []
    assert len(github.repo.issues) == 5 and len(forum.posts_in(TOPIC, forum.username)) == 1


def test_targets_left_out_get_no_rows(sqlite_db, github, clock):
    meeting_id = add_meeting(sqlite_db)
    store(sqlite_db, meeting_id, forum=False, discord=False)
    assert {r.kind.value for r in rows(sqlite_db)} == {"action_issue", "wish_issue", "archive"}
    assert all(r.target == REPO for r in rows(sqlite_db))
