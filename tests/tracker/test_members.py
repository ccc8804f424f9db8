"""Members: created on first sight, GitHub logins checked and unique, the recording opt-out."""

from __future__ import annotations

import pytest

from tracker import members
from tracker.members import MemberError


def test_get_or_create_keeps_one_row_and_follows_the_display_name(db):
    with db.session() as session:
        first = members.get_or_create(session, 42, "Ada")
        again = members.get_or_create(session, 42, "Ada L.")
        assert first.id == again.id and again.display_name == "Ada L."
        assert members.find(session, 43) is None


@pytest.mark.parametrize(
    ("given", "login"),
    [
        ("octocat", "octocat"),
        ("@octo-cat", "octo-cat"),
        ("https://github.com/Octo-Cat/", "Octo-Cat"),
        ("github.com/a1", "a1"),
    ],
)
def test_github_logins_are_normalized(given, login):
    assert members.normalize_github_login(given) == login


@pytest.mark.parametrize("bad", ["", "-octo", "octo-", "octo--cat", "octo cat", "a" * 40, "https://gitlab.com/x"])
def test_bad_github_logins_are_refused_with_the_rule(bad):
    with pytest.raises(MemberError, match="is not a GitHub login"):
        members.normalize_github_login(bad)


def test_a_login_belongs_to_one_member(db):
    with db.session() as session:
        ada = members.get_or_create(session, 1, "Ada")
        bob = members.get_or_create(session, 2, "Bob")
        members.link_github(session, ada, "ada-l")
        members.link_github(session, bob, "ADA-L")  # a claim does not block another claim...
        members.confirm_github(session, ada)
        with pytest.raises(MemberError, match="already linked to Ada"):  # ...a confirmed login does
            members.link_github(session, bob, "ADA-L")
        with pytest.raises(MemberError, match="already linked to Ada"):
            members.confirm_github(session, bob)
        relinked = members.link_github(session, ada, "ada-l")  # relinking your own is fine
        assert relinked.github_login == "ada-l" and relinked.github_login_pending is None


def test_recording_opt_out_and_back_in(db):
    with db.session() as session:
        ada = members.get_or_create(session, 1, "Ada")
        assert not members.is_opted_out(session, 1)
        members.set_recording_opt_out(session, ada, True)
    with db.session() as session:
        assert members.is_opted_out(session, 1)
        assert not members.is_opted_out(session, 999)  # strangers are not opted out (they get the notice)
        members.set_recording_opt_out(session, members.find(session, 1), False)
        assert not members.is_opted_out(session, 1)
