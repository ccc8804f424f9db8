"""The one app-command error handler: log with context, answer the user in plain words, ephemerally.

Errors the user can fix (a bad date, an unknown item, a refusal) are answered with their message and logged at
INFO; anything unexpected is logged with its traceback, the command, its options and who ran it, and the user gets
an apology with a short reference to find that log entry.
"""

from __future__ import annotations

import logging
import secrets

import discord
from discord import app_commands

from bot.checks import NotOrganizer
from transcripts.errors import UserError

log = logging.getLogger(__name__)


class CommandProblem(UserError, app_commands.AppCommandError):
    """A bot-level problem the user can act on (bad input, a channel that is not configured); shown as is."""


def sentence(message: str) -> str:
    message = message.strip()
    if not message:
        return message
    message = message[0].upper() + message[1:]
    return message if message[-1] in ".!?)”" else message + "."


def _context(interaction: discord.Interaction) -> str:
    command = interaction.command.qualified_name if interaction.command else "?"
    options = {k: v for k, v in vars(interaction.namespace).items()} if interaction.namespace else {}
    shown = ", ".join(f"{k}={str(v)[:80]!r}" for k, v in options.items())
    return (
        f"/{command} ({shown}) by user {interaction.user.id if interaction.user else '?'} "
        f"in guild {interaction.guild_id} channel {interaction.channel_id}"
    )


def explain(interaction: discord.Interaction, error: Exception) -> str:
    """The words for the user; logs as a side effect, at the level the error deserves."""
    original = error.original if isinstance(error, app_commands.CommandInvokeError) else error
    if isinstance(original, NotOrganizer):
        log.info("refused %s: not an organizer", _context(interaction))
        return f"🚫 {original}"
    if isinstance(original, UserError):
        log.info("%s: %s", _context(interaction), original)
        return f"❌ {sentence(str(original))}"
    if isinstance(original, app_commands.TransformerError):
        log.info("%s: bad value %r", _context(interaction), original.value)
        return f"❌ “{original.value}” is not a valid {original.type.name} here."
    if isinstance(original, app_commands.NoPrivateMessage):
        return "❌ This command works in the working group's server only."
    if isinstance(original, app_commands.CommandOnCooldown):
        return f"⏳ Slow down: try again in {original.retry_after:.0f} s."
    if isinstance(original, app_commands.CheckFailure):
        log.info("check failed for %s: %s", _context(interaction), original)
        return "🚫 You cannot use this command here."
    if isinstance(original, app_commands.CommandSignatureMismatch | app_commands.CommandNotFound):
        log.warning("%s: %s (the command list is being updated)", _context(interaction), original)
        return "❌ This command has just changed; try again in a minute."
    if isinstance(original, discord.Forbidden):
        log.warning("%s: Discord refused: %s", _context(interaction), original.text)
        return "❌ Discord did not let me do that: I am missing a permission. Please tell an organizer."
    reference = secrets.token_hex(3)
    log.error("unexpected error [ref %s] in %s", reference, _context(interaction), exc_info=original)
    return f"⚠️ Something went wrong on my side. An organizer can find the details in the bot's log (ref `{reference}`)."


async def reply_ephemeral(interaction: discord.Interaction, content: str) -> None:
    try:
        if interaction.response.type is discord.InteractionResponseType.deferred_channel_message:
            # The first follow-up would replace the public "thinking…" message and stay public: remove that
            # message, so the error goes to the user alone.
            await interaction.delete_original_response()
            await interaction.followup.send(content, ephemeral=True)
        elif interaction.response.is_done():
            await interaction.followup.send(content, ephemeral=True)
        else:
            await interaction.response.send_message(content, ephemeral=True)
    except discord.HTTPException as exc:  # the interaction expired, or Discord is down: nothing more to do
        log.warning("could not tell the user about an error: %s", exc)


async def on_app_command_error(interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
    await reply_ephemeral(interaction, explain(interaction, error))


class WgCommandTree(app_commands.CommandTree):
    """The bot's command tree: every error of every command goes through `on_app_command_error`."""

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        await on_app_command_error(interaction, error)
