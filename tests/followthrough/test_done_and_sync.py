"""Two-way sync with GitHub: an item done here closes its issue with a comment, an assignment sets the assignee, a
wish added in Discord is filed (or "raised again"), and an open item reported done in a later call closes the right
issue and only that one — each through the outbox, exactly once."""

from __future__ import annotations

import datetime as dt

from sqlmodel import select

from tests.publishing.conftest import REPO, add_meeting, make_publisher, store
from tracker import followthrough
from tracker.models import ActionItem, ItemStatus, Meeting, Member, Publication, PublicationKind, WorkingGroup
from tracker.publishing import texts
from transcripts.minutes.chat_notes import ChatLine

NEXT_WEEK = dt.datetime(2024, 3, 14, 17, 0, tzinfo=dt.UTC)


def _published_meeting(db, settings, clock):
    meeting_id = add_meeting(db)
    store(db, meeting_id)
    make_publisher(db, settings, clock).drain()
    with db.session() as s:
        items = {i.task: i for i in s.exec(select(ActionItem).where(ActionItem.meeting_id == meeting_id)).all()}
        group = s.exec(select(WorkingGroup)).first()
    return meeting_id, items, group


def _comments_on(github, number: int) -> list[str]:
    return [c["body"] for c in github.repo.comments if c["issue_url"].endswith(f"/issues/{number}")]


def test_a_spoken_done_closes_the_right_issue_only_and_only_once(db, github, settings, clock):
    _, items, _ = _published_meeting(db, settings, clock)
    demo = items["Benchmark the new parser"]
    other = [i for t, i in items.items() if t != "Benchmark the new parser"]
    later = add_meeting(db, NEXT_WEEK)
    said = [
        ChatLine("Alice", 30.0, "Hi all, let's start with last week's items."),
        ChatLine("Bob", 95.0, "Last week's item, the benchmark of the new parser, is done: it is twice as fast."),
        ChatLine("Carol", 120.0, "The migration guide is not done yet, I need another week."),
    ]
    with db.session() as s:
        meeting = s.get(Meeting, later)
        reports = followthrough.find_done_reports(s, meeting, said)
        assert [(r.item_id, r.speaker) for r in reports] == [(demo.id, "Bob")]
        for item in followthrough.mark_reported_done(s, meeting, reports):
            followthrough.enqueue_issue_close(s, item)
    publisher = make_publisher(db, settings, clock)
    report = publisher.drain()
    assert len(report.done) == 1 and not report.failed
    closed = github.issue(demo.github_issue_number)
    assert closed["state"] == "closed" and closed["state_reason"] == "completed"
    [comment] = _comments_on(github, demo.github_issue_number)
    assert "the benchmark of the new parser, is done" in comment and "Bob" in comment and "2024-03-14 17:01" in comment
    assert all(github.issue(i.github_issue_number)["state"] == "open" for i in other)
    with db.session() as s:
        assert s.get(ActionItem, demo.id).status == ItemStatus.done
        assert {s.get(ActionItem, i.id).status for i in other} == {ItemStatus.open}
    # Published once: another drain, or the same report found again, sends nothing more.
    with db.session() as s:
        meeting = s.get(Meeting, later)
        assert followthrough.find_done_reports(s, meeting, said) == []  # no longer open
        followthrough.enqueue_issue_close(s, s.get(ActionItem, demo.id))
    assert make_publisher(db, settings, clock).drain().done == []
    assert len(_comments_on(github, demo.github_issue_number)) == 1


def test_a_retry_after_an_unknown_outcome_does_not_comment_twice(db, github, settings, clock):
    _, items, group = _published_meeting(db, settings, clock)
    item = items["Finish the RFC draft"]
    with db.session() as s:
        alice = s.exec(select(Member).where(Member.display_name == "Alice")).first()
        followthrough.mark_done(s, s.get(WorkingGroup, group.id), item.id, alice, is_organizer=False)
        row = s.exec(select(Publication).where(Publication.kind == PublicationKind.issue_update)).one()
        # An earlier attempt commented, then the connection dropped before the issue was closed.
        github.add_comment(
            item.github_issue_number, "Done\n\n" + texts.marker(row.idempotency_key), author="wgbot[bot]"
        )
        row.attempts = 1
        s.add(row)
    make_publisher(db, settings, clock).drain()
    assert github.issue(item.github_issue_number)["state"] == "closed"
    assert len(_comments_on(github, item.github_issue_number)) == 1


def test_actions_done_and_assign_reach_github(db, github, settings, clock):
    _, items, group = _published_meeting(db, settings, clock)
    task = items["Write the migration guide"]
    with db.session() as s:
        carol = s.exec(select(Member).where(Member.display_name == "Carol")).first()
        alice = s.exec(select(Member).where(Member.display_name == "Alice")).first()
        g = s.get(WorkingGroup, group.id)
        followthrough.assign(s, g, task.id, alice, carol, is_organizer=True)
    make_publisher(db, settings, clock).drain()
    assert github.issue(task.github_issue_number)["_assignees"] == ["alice"]
    with db.session() as s:
        g = s.get(WorkingGroup, group.id)
        alice = s.exec(select(Member).where(Member.display_name == "Alice")).first()
        followthrough.mark_done(s, g, task.id, alice, is_organizer=False)
    make_publisher(db, settings, clock).drain()
    issue = github.issue(task.github_issue_number)
    assert issue["state"] == "closed"
    [comment] = _comments_on(github, task.github_issue_number)
    assert "marked done in Discord by Alice" in comment


def test_a_wish_added_in_discord_is_filed_or_raised_again(db, github, settings, clock):
    _, _, group = _published_meeting(db, settings, clock)
    before = len(github.repo.issues)
    with db.session() as s:
        g = s.get(WorkingGroup, group.id)
        followthrough.add_wish(s, g, "Offline mode for the app", repo=REPO)
        followthrough.add_wish(s, g, "Dark mode on the dashboard please", repo=REPO)
    make_publisher(db, settings, clock).drain()
    titles = [i["title"] for i in github.repo.issues[before:]]
    assert len(titles) == 1 and "Offline mode for the app" in titles[0]
    dark = next(i for i in github.repo.issues if i["title"] == "Add dark mode to the dashboard")
    assert any("Dark mode on the dashboard please" in c for c in _comments_on(github, dark["number"]))


def test_a_done_note_typed_in_the_chat_reports_the_item_it_names(db, github, settings, clock):
    _, items, _ = _published_meeting(db, settings, clock)
    later = add_meeting(db, NEXT_WEEK)
    with db.session() as s:
        meeting = s.get(Meeting, later)
        typed = [ChatLine("Carol", 300.0, "the migration guide, finally")]
        vague = [ChatLine("Dave", 310.0, "the thing from last week")]
        [report] = followthrough.find_done_reports(s, meeting, [], typed + vague)
    assert report.item_id == items["Write the migration guide"].id and report.in_chat
    assert report.line == "#done the migration guide, finally"
