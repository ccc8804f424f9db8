"""The outside services a drain needs, built from the settings on first use (a meeting without forum rows never
needs forum credentials) and closed when the drain ends."""

from __future__ import annotations

from tracker.config import Settings
from tracker.publishing.discord_rest import DiscordRest
from tracker.publishing.errors import PermanentError
from tracker.publishing.forum import DiscourseClient
from tracker.publishing.github import GithubClient


def _secret(value) -> str | None:
    return value.get_secret_value() if value is not None else None


def _forum_setting(value: str | None, name: str) -> str:
    if not value:
        raise PermanentError(f"{name} is not set (needed to post to the forum)")
    return value


class Clients:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._github: GithubClient | None = None
        self._forum: DiscourseClient | None = None
        self._discord: DiscordRest | None = None

    @property
    def github(self) -> GithubClient:
        if self._github is None:
            gh = self.settings.github
            token = _secret(gh.token)
            if not token:
                raise PermanentError("WGBOT_GITHUB_TOKEN is not set (needed to publish to GitHub)")
            publish = self.settings.publish
            self._github = GithubClient(
                token,
                gh.api_url,
                timeout=publish.timeout_seconds,
                write_interval=publish.write_interval_seconds,
                request_interval=min(0.25, publish.write_interval_seconds),
            )
        return self._github

    @property
    def forum(self) -> DiscourseClient:
        if self._forum is None:
            forum = self.settings.forum
            self._forum = DiscourseClient(
                _forum_setting(forum.url, "WGBOT_FORUM_URL"),
                _forum_setting(_secret(forum.api_key), "WGBOT_FORUM_API_KEY"),
                _forum_setting(forum.api_username, "WGBOT_FORUM_API_USERNAME"),
                timeout=float(self.settings.publish.timeout_seconds),
            )
        return self._forum

    @property
    def discord(self) -> DiscordRest:
        if self._discord is None:
            discord = self.settings.discord
            token = _secret(discord.token)
            if not token:
                raise PermanentError("WGBOT_DISCORD_TOKEN is not set (needed to post the minutes in Discord)")
            self._discord = DiscordRest(
                token, discord.api_base, guild_id=discord.guild_id, timeout=float(self.settings.publish.timeout_seconds)
            )
        return self._discord

    @property
    def branch(self) -> str | None:
        return self.settings.github.branch

    @property
    def archive_dir(self) -> str:
        return self.settings.github.archive_dir.strip("/")

    def close(self) -> None:
        for client in (self._github, self._forum, self._discord):
            if client is not None:
                client.close()
        self._github = self._forum = self._discord = None
