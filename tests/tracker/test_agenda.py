"""The next meeting's agenda and the day-before digest."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.tracker.group_clock import NEXT_MEETING, clock, group  # noqa: F401
from tracker import agenda, members, schedule
from tracker.agenda import AgendaError
from tracker.models import ActionItem, ItemStatus, WishlistEntry

UTC = dt.UTC


def test_topics_go_to_the_next_meeting_in_order(db, group):
    with db.session() as session:
        ada = members.get_or_create(session, 1, "Ada")
        first, occ = agenda.add_item(session, group, "  Release\n plan ", "Ada", added_by=ada)
        agenda.add_item(session, group, "Budget")
        view = agenda.list_items(session, group)
    assert occ.start == NEXT_MEETING and first.topic == "Release plan" and first.presenter == "Ada"
    assert [i.topic for i in view.items] == ["Release plan", "Budget"] and view.occurrence.start == NEXT_MEETING


def test_during_a_meeting_topics_go_to_the_following_one(db, group, clock):
    clock.move_to(NEXT_MEETING + dt.timedelta(minutes=10))
    with db.session() as session:
        _, occ = agenda.add_item(session, group, "Follow-up")
    assert occ.start == NEXT_MEETING + dt.timedelta(days=7)


def test_a_skipped_meeting_gets_no_topics(db, group):
    with db.session() as session:
        schedule.skip(session, group, NEXT_MEETING.date())
        _, occ = agenda.add_item(session, group, "Anything")
    assert occ.start == NEXT_MEETING + dt.timedelta(days=7)


@pytest.mark.parametrize(("topic", "message"), [("   ", "the topic is empty"), ("x" * 201, "too long (201 characters")])
def test_bad_topics_are_refused(db, group, topic, message):
    with db.session() as session, pytest.raises(AgendaError, match=message.replace("(", r"\(")):
        agenda.add_item(session, group, topic)


def test_remove_is_for_whoever_added_it_or_an_organizer(db, group):
    with db.session() as session:
        ada = members.get_or_create(session, 1, "Ada")
        bob = members.get_or_create(session, 2, "Bob")
        item, _ = agenda.add_item(session, group, "Release plan", added_by=ada)
        with pytest.raises(AgendaError, match="added by someone else"):
            agenda.remove_item(session, group, item.id, bob, is_organizer=False)
        agenda.remove_item(session, group, item.id, bob, is_organizer=True)
        with pytest.raises(AgendaError, match=f"there is no agenda item #{item.id}"):
            agenda.remove_item(session, group, item.id, ada, is_organizer=False)


def test_the_digest_has_topics_open_actions_and_recent_wishes(db, group, clock):
    with db.session() as session:
        agenda.add_item(session, group, "Release plan")
        session.add_all(
            [
                ActionItem(owner_name="Ada", task="old but open", created_at=dt.datetime(2026, 10, 1, tzinfo=UTC)),
                ActionItem(owner_name="Bob", task="finished", status=ItemStatus.done),
                WishlistEntry(title="recent wish", created_at=dt.datetime(2026, 11, 20, tzinfo=UTC)),
                WishlistEntry(title="ancient wish", created_at=dt.datetime(2026, 9, 1, tzinfo=UTC)),
            ]
        )
        session.flush()
        occ = schedule.next_occurrence(session, group)
        digest = agenda.digest(session, group, occ)
    assert [i.topic for i in digest.items] == ["Release plan"]
    assert [a.task for a in digest.open_actions] == ["old but open"]
    assert [w.title for w in digest.recent_wishes] == ["recent wish"]
    assert digest.meeting_id == digest.items[0].meeting_id
