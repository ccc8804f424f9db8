"""The wish list: entries added by hand, no duplicates, newest first."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.tracker.group_clock import clock, group  # noqa: F401
from tracker import members, wishlist
from tracker.models import ItemStatus, WishlistEntry
from tracker.wishlist import WishlistError


def test_add_and_list_newest_first(db, group, clock):
    with db.session() as session:
        ada = members.get_or_create(session, 1, "Ada")
        first = wishlist.add_entry(session, group, " Dark   mode ", "for the docs", added_by=ada)
        clock.shift(dt.timedelta(minutes=1))
        wishlist.add_entry(session, group, "Offline builds")
        session.add(WishlistEntry(title="Shipped one", status=ItemStatus.done))
        session.flush()
        listed = wishlist.list_entries(session, group)
    assert first.title == "Dark mode" and first.details == "for the docs" and first.added_by_id == ada.id
    assert [e.title for e in listed] == ["Offline builds", "Dark mode"]


@pytest.mark.parametrize(
    ("title", "details", "message"),
    [
        ("ab", None, "too short"),
        ("x" * 201, None, "too long"),
        ("Fine title", "d" * 2001, "details are too long"),
    ],
)
def test_bad_entries_are_refused(db, group, title, details, message):
    with db.session() as session, pytest.raises(WishlistError, match=message):
        wishlist.add_entry(session, group, title, details)


def test_an_open_duplicate_is_refused_naming_the_entry(db, group):
    with db.session() as session:
        entry = wishlist.add_entry(session, group, "Dark mode")
        with pytest.raises(WishlistError, match=rf"“Dark mode” is already on the wish list \(#{entry.id}\)"):
            wishlist.add_entry(session, group, "DARK MODE")
