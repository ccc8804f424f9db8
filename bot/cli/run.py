"""`wgbot run`: the Discord bot, with its meeting timers, calendar feed, recording and background publisher."""

from __future__ import annotations

import logging

import typer

from bot.cli.common import database, fail, settings
from tracker.config import ConfigError

log = logging.getLogger(__name__)


def register(app: typer.Typer) -> None:
    @app.command("run")
    def run_cmd() -> None:
        """Run the Discord bot until interrupted."""
        loaded = settings()
        try:
            loaded.discord.require("token", "guild_id", purpose="to run the bot")
        except ConfigError as exc:
            fail(str(exc))
        db = database(loaded)
        # Imported here: discord.py and the scheduler load only for the command that needs them.
        import discord

        from bot.app import run_bot

        try:
            run_bot(loaded, db)
        except discord.LoginFailure:
            fail("Discord refused the bot token (WGBOT_DISCORD_TOKEN): check it in the developer portal")
        except discord.PrivilegedIntentsRequired:
            fail("Discord refused a privileged intent the bot asked for; enable it in the developer portal")
        except discord.Forbidden as exc:  # e.g. the command sync: the bot was invited without applications.commands
            fail(
                f"Discord refused the bot in guild {loaded.discord.guild_id} ({exc.text}): invite it with the "
                "bot and applications.commands scopes"
            )
        except discord.HTTPException as exc:
            fail(f"Discord answered {exc.status} at start: {exc.text}")
        except OSError as exc:  # no route to Discord (or to the configured API base)
            fail(f"cannot reach Discord: {exc}")
        except RuntimeError as exc:  # the calendar feed's port is taken, the guild is not reachable, ...
            fail(str(exc).splitlines()[0])
        finally:
            db.dispose()
