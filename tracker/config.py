"""wgbot's settings: environment variables `WGBOT_*`, secrets from `*_FILE` paths, and an optional `wgbot.toml`.

Precedence, highest first: environment variable, `<VAR>_FILE` (secrets only), the section of `wgbot.toml`
(path in `WGBOT_CONFIG`, default `./wgbot.toml`), the default. Each section is its own settings class so its
environment names stay the documented flat ones (`WGBOT_GITHUB_TOKEN`, `WGBOT_DATABASE_URL`, ...).
A missing or invalid setting raises `ConfigError` with one line that names it.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tomllib
import urllib.parse
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from transcripts import runtime
from transcripts.errors import UserError


class ConfigError(UserError, ValueError):
    """One line naming the setting that is missing or wrong."""


def config_file() -> Path | None:
    path = Path(os.environ.get("WGBOT_CONFIG", "wgbot.toml")).expanduser()
    return path if path.is_file() else None


@lru_cache(maxsize=8)
def _read_toml(path: Path, mtime_ns: int) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None


def _toml_data() -> dict[str, Any]:
    path = config_file()
    return _read_toml(path, path.stat().st_mtime_ns) if path else {}


class _SectionSource(PydanticBaseSettingsSource):
    """A source of a `Section`'s settings (which knows its wgbot.toml table and secret fields)."""

    def __init__(self, settings_cls: type[Section]) -> None:
        super().__init__(settings_cls)
        self.section_cls = settings_cls


class _TomlSection(_SectionSource):
    """The `[section]` table of wgbot.toml."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ returns the whole table

    def __call__(self) -> dict[str, Any]:
        table = _toml_data().get(self.section_cls.toml_section, {})
        return {k: v for k, v in table.items() if k in self.section_cls.model_fields}


class _SecretFiles(_SectionSource):
    """`WGBOT_GITHUB_TOKEN_FILE=/run/secrets/gh` (or `token_file = ...` in wgbot.toml) for every secret field."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        cls = self.section_cls
        table = _toml_data().get(cls.toml_section, {})
        values: dict[str, Any] = {}
        for name in cls.secret_fields:
            env_name = cls.env_name(name) + "_FILE"
            path = os.environ.get(env_name) or table.get(f"{name}_file")
            if not path:
                continue
            try:
                values[name] = Path(path).expanduser().read_text().strip()
            except OSError as exc:
                raise ConfigError(f"{env_name}: cannot read {path} ({exc.strerror})") from None
        return values


class Section(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", validate_default=True)
    toml_section: ClassVar[str] = ""
    secret_fields: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def settings_customise_sources(
        cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings
    ):
        return (init_settings, env_settings, _SecretFiles(settings_cls), _TomlSection(settings_cls))

    @classmethod
    def env_name(cls, field_name: str) -> str:
        return (cls.model_config.get("env_prefix", "") + field_name).upper()

    def require(self, *names: str, purpose: str = "") -> None:
        """Fail with one line if any of `names` is unset (settings that only some commands need)."""
        for name in names:
            value = getattr(self, name)
            if value is None or value == "" or (isinstance(value, SecretStr) and not value.get_secret_value()):
                hint = f" (needed {purpose})" if purpose else ""
                also = f" or {self.env_name(name)}_FILE" if name in self.secret_fields else ""
                raise ConfigError(
                    f"{self.env_name(name)} is not set{hint}: set it{also}, or `{name}` under [{self.toml_section}] in wgbot.toml"
                )


class DiscordSettings(Section):
    model_config = SettingsConfigDict(env_prefix="WGBOT_DISCORD_")
    toml_section: ClassVar[str] = "discord"
    secret_fields: ClassVar[tuple[str, ...]] = ("token",)

    token: SecretStr | None = None
    guild_id: int | None = None
    text_channel_id: int | None = None  # agenda, reminders, recording notice, minutes
    voice_channel_id: int | None = None  # the call
    organizer_role_id: int | None = None  # may skip/reschedule/start/stop and edit others' items
    api_base: str | None = None  # override Discord's REST base URL (tests, proxies)
    # Keep the call's chat with the meeting: needs the privileged Message Content intent enabled in the portal.
    capture_chat: bool = True


class ScheduleSettings(Section):
    model_config = SettingsConfigDict(env_prefix="WGBOT_SCHEDULE_")
    toml_section: ClassVar[str] = "schedule"

    weekday: Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] = "thursday"
    time: dt.time = dt.time(17, 0)  # UTC
    duration_minutes: int = Field(60, ge=5, le=24 * 60)
    title: str = "Working group call"
    reminder_minutes: int = Field(60, ge=0, le=7 * 24 * 60)
    agenda_hours: int = Field(24, ge=0, le=7 * 24)
    event_days: int = Field(7, ge=0, le=60)  # create the Discord scheduled event this far ahead

    @field_validator("weekday", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @property
    def weekday_index(self) -> int:
        return ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"].index(self.weekday)


def quote_userinfo(url: str) -> str:
    """`url` with its user and password percent-encoded, the password taken up to the *last* `@` before the host:
    `postgresql://wg:p@ss/w@db/wg` is user `wg`, password `p@ss/w`, host `db` — not host `ss/w@db`, which would
    show part of the password wherever the URL is shown with its password hidden. Already encoded parts stay."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, hostpart = rest.rpartition("@")
    if not sep or not at or scheme.startswith("sqlite"):
        return url
    user, colon, password = userinfo.partition(":")
    quoted = urllib.parse.quote(urllib.parse.unquote(user), safe="")
    if colon:
        quoted += ":" + urllib.parse.quote(urllib.parse.unquote(password), safe="")
    return f"{scheme}://{quoted}@{hostpart}"


class StorageSettings(Section):
    model_config = SettingsConfigDict(env_prefix="WGBOT_")
    toml_section: ClassVar[str] = "storage"
    secret_fields: ClassVar[tuple[str, ...]] = ("database_url",)

    data_dir: Path = Path("data")
    database_url: SecretStr | None = None  # default: SQLite in data_dir

    @property
    def url(self) -> str:
        if self.database_url and self.database_url.get_secret_value():
            return self.database_url.get_secret_value()
        return f"sqlite:///{(self.data_dir / 'wgbot.db').resolve()}"

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: SecretStr | None) -> SecretStr | None:
        if value and not re.match(r"^(sqlite|postgresql)(\+\w+)?://", value.get_secret_value()):
            raise ValueError("must start with sqlite:// or postgresql://")
        return SecretStr(quote_userinfo(value.get_secret_value())) if value else value


class ModelSettings(Section):
    model_config = SettingsConfigDict(env_prefix="WGBOT_")
    toml_section: ClassVar[str] = "models"

    whisper_engine: Literal["faster-whisper", "openai-whisper"] = "faster-whisper"
    whisper_model: str = "base"  # tiny.en, base (bundled), small and larger (downloaded), or a CTranslate2 folder
    whisper_compute_type: str = "int8"
    language: str | None = "en"  # None or "auto": detect
    llm_model: str = "qwen2.5-coder-1.5b-q8_0"  # a bundled name, a .gguf path, or an https URL
    threads: int | None = Field(None, ge=1)  # default: the machine's cores
    model_dir: Path | None = None  # model cache (default ~/.cache/wgbot/models)
    llm_extra_buffers: Literal["auto", "on", "off"] = "auto"  # llama.cpp's repacked weights (AMX): see the README

    @field_validator("llm_extra_buffers", mode="before")
    @classmethod
    def _on_off(cls, value: Any) -> Any:
        words = {"1": "on", "true": "on", "yes": "on", "0": "off", "false": "off", "no": "off"}
        return words.get(str(value).lower(), str(value).lower()) if value is not None else value

    @field_validator("language")
    @classmethod
    def _auto(cls, value: str | None) -> str | None:
        return None if value in (None, "", "auto") else value


class GroupSettings(Section):
    model_config = SettingsConfigDict(env_prefix="WGBOT_GROUP_")
    toml_section: ClassVar[str] = "group"

    name: str = "Working group"
    glossary: list[str] = Field(default_factory=list)  # names and jargon Whisper should spell right
    review_mode: bool = False  # organizers approve action items before they are filed
    review_timeout_hours: float = Field(24.0, gt=0, le=14 * 24)  # then `review_default` applies
    review_default: Literal["file", "drop"] = "file"  # file the items as they are, or file none of them


class GithubSettings(Section):
    model_config = SettingsConfigDict(env_prefix="WGBOT_GITHUB_")
    toml_section: ClassVar[str] = "github"
    secret_fields: ClassVar[tuple[str, ...]] = ("token",)

    token: SecretStr | None = None
    repo: str | None = None
    api_url: str = "https://api.github.com"
    archive_dir: str = "meetings"  # meetings/YYYY.MM.DD/README.md and transcript.md
    branch: str | None = None  # default: the repository's default branch

    @field_validator("repo")
    @classmethod
    def _owner_name(cls, value: str | None) -> str | None:
        if value and not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", value):
            raise ValueError("must look like owner/name")
        return value


class PublishSettings(Section):
    """The outbox publisher (tracker/publishing/): retries, pacing, timeouts."""

    model_config = SettingsConfigDict(env_prefix="WGBOT_PUBLISH_")
    toml_section: ClassVar[str] = "publish"

    max_attempts: int = Field(10, ge=1, le=100)  # then the row is `failed` (see `wgbot publish --status`)
    backoff_seconds: float = Field(30.0, ge=0)  # first retry delay; doubles each attempt, with jitter
    max_backoff_seconds: float = Field(3600.0, ge=0)
    timeout_seconds: int = Field(15, ge=1, le=600)  # per HTTP request (an int: PyGithub requires one)
    write_interval_seconds: float = Field(1.0, ge=0)  # at most one GitHub write per this many seconds
    poll_seconds: float = Field(30.0, gt=0)  # how often the bot's background publisher looks for due rows
    sync_minutes: int = Field(60, ge=1)  # how often the bot pulls issue state back from GitHub


class ForumSettings(Section):
    model_config = SettingsConfigDict(env_prefix="WGBOT_FORUM_")
    toml_section: ClassVar[str] = "forum"
    secret_fields: ClassVar[tuple[str, ...]] = ("api_key",)

    url: str | None = None
    api_key: SecretStr | None = None
    api_username: str | None = None
    topic_id: int | None = None

    @field_validator("url")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/") if value else value


class RecordingSettings(Section):
    model_config = SettingsConfigDict(env_prefix="WGBOT_RECORDING_")
    toml_section: ClassVar[str] = "recording"

    empty_timeout_seconds: int = Field(300, ge=10)  # leave when no human has been in the channel this long
    max_length_seconds: int = Field(4 * 3600, ge=60)
    retention_days: int = Field(30, ge=0)  # raw audio deleted this long after the minutes are published
    contact: str = "the organizers"  # named in the recording notice
    live_transcription: bool = True  # transcribe during the call (a worker process), so minutes come soon after


class CalendarSettings(Section):
    model_config = SettingsConfigDict(env_prefix="WGBOT_CALENDAR_")
    toml_section: ClassVar[str] = "calendar"

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    public_url: str | None = None  # how people reach the feed, e.g. https://wg.example.org/calendar.ics


class WebSettings(Section):
    """The web home (bot/web/), served by the same server as the calendar feed (`[calendar] host` and `port`)."""

    model_config = SettingsConfigDict(env_prefix="WGBOT_WEB_")
    toml_section: ClassVar[str] = "web"
    secret_fields: ClassVar[tuple[str, ...]] = ("secret",)

    public_url: str | None = None  # how people reach the web home, e.g. https://wg.example.org/ (links in calendars)
    secret: SecretStr | None = None  # signs the live page's links (default: a random key kept in the data folder)
    live_link_hours: float = Field(4.0, gt=0, le=48)  # how long a live page link works
    # The static site in the GitHub repository ([github] repo): committed by the bot after each published meeting
    # when publish_site is on, and by `wgbot site --publish`; site_branch "gh-pages" with site_dir "" for Pages.
    publish_site: bool = False
    site_branch: str | None = None  # default: the repository's default branch
    site_dir: str = "site"  # the folder in that branch ("" for its root)

    @field_validator("public_url")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/") + "/" if value else value


SECTIONS: dict[str, type[Section]] = {
    "discord": DiscordSettings,
    "schedule": ScheduleSettings,
    "storage": StorageSettings,
    "models": ModelSettings,
    "group": GroupSettings,
    "github": GithubSettings,
    "forum": ForumSettings,
    "recording": RecordingSettings,
    "calendar": CalendarSettings,
    "publish": PublishSettings,
    "web": WebSettings,
}


class Settings:
    """All sections, read once at start."""

    discord: DiscordSettings
    schedule: ScheduleSettings
    storage: StorageSettings
    models: ModelSettings
    group: GroupSettings
    github: GithubSettings
    forum: ForumSettings
    recording: RecordingSettings
    calendar: CalendarSettings
    publish: PublishSettings
    web: WebSettings

    def __init__(self, **overrides: dict[str, Any]) -> None:
        for name, cls in SECTIONS.items():
            setattr(self, name, _load_section(cls, overrides.get(name, {})))


def _load_section(cls: type[Section], overrides: dict[str, Any]) -> Section:
    try:
        return cls(**overrides)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else "?"
        value = error.get("input")
        shown = "" if field in cls.secret_fields or isinstance(value, dict) else f" (got {value!r})"
        raise ConfigError(f"{cls.env_name(field)}: {error['msg'].lower()}{shown}") from None


def load_settings(**overrides: dict[str, Any]) -> Settings:
    """Read every section now; raises ConfigError naming the first bad setting. The speech and language options
    are applied to `transcripts` (it takes them from here, never from the environment)."""
    settings = Settings(**overrides)
    runtime.configure(model_dir=settings.models.model_dir, llm_extra_buffers=settings.models.llm_extra_buffers)
    return settings
