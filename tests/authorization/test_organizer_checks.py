"""Who counts as an organizer (bot/checks.py): the configured role, or Discord's own administrator / manage-server /
manage-events permissions — and nobody in a DM. The refusal names the role. Fast enough for mutation testing
(`make mutate`)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import discord
import pytest
from discord import app_commands

from bot.checks import ORGANIZER_PERMISSIONS, NotOrganizer, is_organizer, organizer_only

ROLE = 5150


class Member(discord.Member):
    """A guild member holding the given role ids (discord.py's Member needs a live guild and state to build)."""

    def __init__(self, roles=()):  # no super().__init__: the parts is_organizer reads are below
        self.role_ids = set(roles)

    def get_role(self, role_id, /):
        return SimpleNamespace(id=role_id) if role_id in self.role_ids else None


def interaction(user, *, role_id=ROLE, **permissions):
    client = SimpleNamespace(organizer_role_id=role_id) if role_id != "missing" else SimpleNamespace()
    return SimpleNamespace(user=user, client=client, permissions=discord.Permissions(**permissions))


def test_the_organizer_role_makes_an_organizer():
    assert is_organizer(interaction(Member([ROLE])))
    assert not is_organizer(interaction(Member([ROLE + 1])))
    assert not is_organizer(interaction(Member()))


@pytest.mark.parametrize("permission", ["administrator", "manage_guild", "manage_events"])
def test_each_server_management_permission_makes_an_organizer(permission):
    assert is_organizer(interaction(Member(), **{permission: True}))
    assert is_organizer(interaction(Member(), role_id=None, **{permission: True}))


@pytest.mark.parametrize("permission", ["manage_messages", "manage_channels", "kick_members", "moderate_members"])
def test_other_permissions_do_not(permission):
    assert not is_organizer(interaction(Member(), **{permission: True}))


def test_without_a_configured_role_only_permissions_count():
    assert not is_organizer(interaction(Member([ROLE]), role_id=None))
    assert not is_organizer(interaction(Member([0]), role_id=0))
    assert not is_organizer(interaction(Member([ROLE]), role_id="missing"))


def test_nobody_is_an_organizer_in_a_dm():
    dm_user = SimpleNamespace(get_role=lambda role_id: object())  # a discord.User: not a guild member
    assert not is_organizer(interaction(dm_user, administrator=True))


def test_the_permissions_checked_are_the_management_ones():
    assert ORGANIZER_PERMISSIONS == ("administrator", "manage_guild", "manage_events")


def test_the_refusal_names_the_role_or_organizers():
    refusal = NotOrganizer("skip a meeting", ROLE)
    assert isinstance(refusal, app_commands.CheckFailure)
    assert (refusal.action, refusal.role_id) == ("skip a meeting", ROLE)
    assert str(refusal) == (
        f"Only people with the <@&{ROLE}> role (or anyone who can manage this server's events) can skip a meeting."
    )
    plain = NotOrganizer("stop a recording", None)
    assert plain.role_id is None
    assert str(plain) == "Only organizers (or anyone who can manage this server's events) can stop a recording."


def _predicate(action: str):
    @organizer_only(action)
    async def command(interaction):  # pragma: no cover - only its checks are used
        return None

    [check] = command.__discord_app_commands_checks__
    return check


def test_organizer_only_lets_organizers_through_and_refuses_others():
    check = _predicate("start a recording")
    assert asyncio.run(check(interaction(Member([ROLE])))) is True
    assert asyncio.run(check(interaction(Member(), manage_events=True))) is True
    with pytest.raises(NotOrganizer) as refused:
        asyncio.run(check(interaction(Member())))
    assert (refused.value.action, refused.value.role_id) == ("start a recording", ROLE)
    with pytest.raises(NotOrganizer) as refused:
        asyncio.run(check(interaction(Member(), role_id="missing")))
    assert refused.value.role_id is None
    assert "can start a recording." in str(refused.value)
