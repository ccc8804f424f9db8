"""Action items: filters, who may close or assign them."""

from __future__ import annotations

import pytest

from tests.tracker.group_clock import clock, group  # noqa: F401
from tracker import actions, members
from tracker.actions import ActionError
from tracker.models import ActionItem, ItemStatus


@pytest.fixture
def people_and_items(db, group):
    with db.session() as session:
        ada = members.get_or_create(session, 1, "Ada")
        bob = members.get_or_create(session, 2, "Bob")
        bob.github_login = "bobby"
        items = [
            ActionItem(owner_name="ada", owner_id=ada.id, task="Write the notes"),  # said by Ada's account
            ActionItem(owner_name="Robert", owner_id=bob.id, task="Book the room"),  # linked
            ActionItem(owner_name="bobby", task="Fix CI"),  # named by GitHub login, not linked
            ActionItem(owner_name="Ada", task="Old", status=ItemStatus.done),
            ActionItem(owner_name="100%_sure", task="Odd name"),
        ]
        session.add_all(items)
        session.flush()
        return ada, bob, {i.task: i.id for i in items}


def test_list_and_filter_by_owner(db, group, people_and_items):
    with db.session() as session:
        assert [i.task for i in actions.list_open(session, group)] == [
            "Write the notes",
            "Book the room",
            "Fix CI",
            "Odd name",
        ]
        assert [i.task for i in actions.list_open(session, group, "rob")] == ["Book the room"]
        assert [i.task for i in actions.list_open(session, group, "BOBB")] == ["Book the room", "Fix CI"]
        assert [i.task for i in actions.list_open(session, group, "0%_")] == ["Odd name"]  # LIKE wildcards are literal
        assert actions.owner_names(session, group, "b") == ["bobby"]


def test_mine_is_what_the_account_owns_not_what_its_names_match(db, group, people_and_items):
    ada, bob, _ = people_and_items
    with db.session() as session:
        assert [i.task for i in actions.mine(session, group, ada)] == ["Write the notes"]
        assert [i.task for i in actions.mine(session, group, bob)] == ["Book the room"]  # "bobby" is only a label


def test_done_by_the_owner_or_an_organizer(db, group, people_and_items):
    ada, bob, ids = people_and_items
    with db.session() as session:
        with pytest.raises(ActionError, match="belongs to Robert: only they or an organizer"):
            actions.mark_done(session, group, ids["Book the room"], ada, is_organizer=False)
        closed = actions.mark_done(session, group, ids["Write the notes"], ada, is_organizer=False)
        assert closed.status == ItemStatus.done and closed.closed_at is not None and closed.owner_id == ada.id
        assert actions.mark_done(session, group, ids["Book the room"], ada, is_organizer=True).status == ItemStatus.done
        with pytest.raises(ActionError, match="is already done"):
            actions.mark_done(session, group, ids["Old"], ada, is_organizer=True)
        with pytest.raises(ActionError, match="there is no action item #999"):
            actions.mark_done(session, group, 999, ada, is_organizer=True)


def test_assign_to_others_is_for_organizers(db, group, people_and_items):
    ada, bob, ids = people_and_items
    with db.session() as session:
        with pytest.raises(ActionError, match="only organizers can assign"):
            actions.assign(session, group, ids["Fix CI"], ada, bob, is_organizer=False)
        with pytest.raises(ActionError, match="is assigned to Robert"):
            actions.assign(session, group, ids["Book the room"], ada, ada, is_organizer=False)
        taken = actions.assign(session, group, ids["Fix CI"], ada, ada, is_organizer=False)
        assert taken.owner_id == ada.id and taken.owner_name == "Ada"
        moved = actions.assign(session, group, ids["Book the room"], ada, bob, is_organizer=True)
        assert moved.owner_id == ada.id


def test_renaming_yourself_after_a_member_does_not_let_you_close_their_items(db, group, people_and_items):
    ada, bob, ids = people_and_items
    with db.session() as session:
        mallory = members.get_or_create(session, 666, "Mallory")
        mallory = members.get_or_create(session, 666, "Ada")  # renamed on Discord to look like Ada
        with pytest.raises(ActionError, match="belongs to ada"):
            actions.mark_done(session, group, ids["Write the notes"], mallory, is_organizer=False)
        assert actions.mine(session, group, mallory) == []
        mallory = members.get_or_create(session, 666, "bobby")
        with pytest.raises(ActionError, match="not linked to anyone's account yet"):
            actions.mark_done(session, group, ids["Fix CI"], mallory, is_organizer=False)
