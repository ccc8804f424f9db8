"""Who counts as an organizer: the configured organizer role, or Discord's own "can manage this server's events".

The second half is what Discord's default permissions express for commands: a server admin, or anyone allowed to
manage events or the server, may run the organizer commands without also holding the role.
"""

from __future__ import annotations

import discord
from discord import app_commands

ORGANIZER_PERMISSIONS = ("administrator", "manage_guild", "manage_events")


class NotOrganizer(app_commands.CheckFailure):
    """Raised by `organizer_only`; the central error handler turns it into a polite ephemeral refusal."""

    def __init__(self, action: str, role_id: int | None) -> None:
        self.action = action
        self.role_id = role_id
        who = f"people with the <@&{role_id}> role" if role_id else "organizers"
        super().__init__(f"Only {who} (or anyone who can manage this server's events) can {action}.")


def is_organizer(interaction: discord.Interaction) -> bool:
    user = interaction.user
    if not isinstance(user, discord.Member):
        return False  # a DM: no guild, no roles
    role_id = getattr(interaction.client, "organizer_role_id", None)
    if role_id and user.get_role(role_id) is not None:
        return True
    permissions = interaction.permissions
    return any(getattr(permissions, name, False) for name in ORGANIZER_PERMISSIONS)


def organizer_only(action: str):
    """An app-command check: organizers only; `action` completes "Only organizers can ..."."""

    async def predicate(interaction: discord.Interaction) -> bool:
        if is_organizer(interaction):
            return True
        raise NotOrganizer(action, getattr(interaction.client, "organizer_role_id", None))

    return app_commands.check(predicate)
