"""Issue state flowing back from GitHub: closed → done (or dropped), reopened → open; the newer side wins."""

from __future__ import annotations

import datetime as dt

from sqlmodel import select

from tests.publishing.conftest import MINUTES, add_meeting, make_publisher, make_settings, store
from tracker.models import ActionItem, ItemStatus, WishlistEntry, utcnow
from tracker.publishing import sync_issue_states


def _items(db) -> dict[str, ActionItem]:
    with db.session() as s:
        return {a.owner_name: a for a in s.exec(select(ActionItem)).all()}


def test_closing_and_reopening_issues_flows_back(db, github, clock):
    settings = make_settings(github, None, None)
    meeting_id = add_meeting(db)
    store(db, meeting_id, forum=False, discord=False)
    make_publisher(db, settings, clock).drain()
    items = _items(db)
    alice, bob = (items[n].github_issue_number for n in ("Alice", "Bob"))

    github.set_state(alice, "closed", "completed")
    github.set_state(bob, "closed", "not_planned")
    report = sync_issue_states(db, settings)
    assert sorted(report.closed) == sorted(
        [f"action {items['Alice'].id} (#{alice})", f"action {items['Bob'].id} (#{bob})"]
    )
    items = _items(db)
    assert items["Alice"].status == ItemStatus.done and items["Alice"].closed_at is not None
    assert items["Bob"].status == ItemStatus.dropped
    assert items["Carol"].status == ItemStatus.open

    github.set_state(alice, "open")
    report = sync_issue_states(db, settings)
    assert report.reopened == [f"action {items['Alice'].id} (#{alice})"] and report.closed == []
    items = _items(db)
    assert items["Alice"].status == ItemStatus.open and items["Alice"].closed_at is None

    # nothing changed: nothing to do
    again = sync_issue_states(db, settings)
    assert again.closed == again.reopened == [] and again.checked >= 3


def test_a_removed_label_does_not_hide_the_issue(sqlite_db, github, clock):
    settings = make_settings(github, None, None)
    store(sqlite_db, add_meeting(sqlite_db), forum=False, discord=False)
    make_publisher(sqlite_db, settings, clock).drain()
    number = _items(sqlite_db)["Alice"].github_issue_number
    issue = github.issue(number)
    issue["_labels"] = [n for n in issue["_labels"] if n != "action-item"]
    github.set_state(number, "closed")
    sync_issue_states(sqlite_db, settings)
    assert _items(sqlite_db)["Alice"].status == ItemStatus.done


def test_a_local_change_newer_than_the_issue_wins(sqlite_db, github, clock):
    settings = make_settings(github, None, None)
    store(sqlite_db, add_meeting(sqlite_db), forum=False, discord=False)
    make_publisher(sqlite_db, settings, clock).drain()
    with sqlite_db.session() as s:  # marked done in Discord after the issue last changed
        alice = s.exec(select(ActionItem).where(ActionItem.owner_name == "Alice")).one()
        alice.status = ItemStatus.done
        alice.updated_at = utcnow() + dt.timedelta(seconds=5)
        s.add(alice)
    report = sync_issue_states(sqlite_db, settings)
    assert report.reopened == [] and _items(sqlite_db)["Alice"].status == ItemStatus.done


def test_wish_list_issues_flow_back_too(sqlite_db, github, clock):
    settings = make_settings(github, None, None)
    store(sqlite_db, add_meeting(sqlite_db), MINUTES, forum=False, discord=False)
    make_publisher(sqlite_db, settings, clock).drain()
    with sqlite_db.session() as s:
        pdf = s.exec(select(WishlistEntry).where(WishlistEntry.title == "Export the minutes as PDF")).one()
    github.set_state(pdf.github_issue_number, "closed")
    sync_issue_states(sqlite_db, settings)
    with sqlite_db.session() as s:
        assert s.get(WishlistEntry, pdf.id).status == ItemStatus.done
