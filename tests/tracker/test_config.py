"""Settings: environment, *_FILE secrets, wgbot.toml, and one-line errors that name the setting."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from tracker.config import ConfigError, load_settings
from tracker.logs import configure_logging, register_settings_secrets


def test_defaults_are_the_working_groups_cadence_and_sqlite(tmp_path, monkeypatch):
    monkeypatch.setenv("WGBOT_DATA_DIR", str(tmp_path))
    settings = load_settings()
    assert settings.schedule.weekday == "thursday" and settings.schedule.weekday_index == 3
    assert settings.schedule.time == dt.time(17, 0) and settings.schedule.duration_minutes == 60
    assert settings.storage.url == f"sqlite:///{tmp_path.resolve() / 'wgbot.db'}"
    assert settings.github.api_url == "https://api.github.com"
    assert settings.models.whisper_engine == "faster-whisper" and settings.models.whisper_compute_type == "int8"


def test_environment_uses_the_documented_flat_names(monkeypatch):
    monkeypatch.setenv("WGBOT_DATABASE_URL", "postgresql://wg@db/wgbot")
    monkeypatch.setenv("WGBOT_GITHUB_TOKEN", "ghp_example")
    monkeypatch.setenv("WGBOT_GITHUB_REPO", "wg/meetings")
    monkeypatch.setenv("WGBOT_FORUM_URL", "https://forum.example.org/")
    monkeypatch.setenv("WGBOT_FORUM_API_KEY", "k" * 12)
    monkeypatch.setenv("WGBOT_FORUM_API_USERNAME", "wgbot")
    monkeypatch.setenv("WGBOT_FORUM_TOPIC_ID", "42")
    monkeypatch.setenv("WGBOT_SCHEDULE_WEEKDAY", "Tuesday")
    monkeypatch.setenv("WGBOT_SCHEDULE_TIME", "09:30")
    s = load_settings()
    assert s.storage.url == "postgresql://wg@db/wgbot"
    assert s.github.token.get_secret_value() == "ghp_example" and s.github.repo == "wg/meetings"
    assert s.forum.url == "https://forum.example.org" and s.forum.topic_id == 42
    assert s.schedule.weekday_index == 1 and s.schedule.time == dt.time(9, 30)


def test_secrets_come_from_files(tmp_path, monkeypatch):
    token = tmp_path / "discord-token"
    token.write_text("discord-secret-value\n")
    monkeypatch.setenv("WGBOT_DISCORD_TOKEN_FILE", str(token))
    assert load_settings().discord.token.get_secret_value() == "discord-secret-value"


def test_environment_beats_file_beats_toml(tmp_path, monkeypatch):
    config = tmp_path / "wgbot.toml"
    (tmp_path / "key").write_text("from-file")
    config.write_text(
        '[forum]\nurl = "https://toml.example.org"\napi_key = "from-toml"\ntopic_id = 7\n'
        '[schedule]\nweekday = "friday"\nduration_minutes = 45\n'
        '[group]\nglossary = ["Jeshli", "SIMD", "HNSW"]\n'
    )
    monkeypatch.setenv("WGBOT_CONFIG", str(config))
    s = load_settings()
    assert s.forum.url == "https://toml.example.org" and s.forum.api_key.get_secret_value() == "from-toml"
    assert s.schedule.weekday == "friday" and s.schedule.duration_minutes == 45
    assert s.group.glossary == ["Jeshli", "SIMD", "HNSW"]
    monkeypatch.setenv("WGBOT_FORUM_API_KEY_FILE", str(tmp_path / "key"))
    assert load_settings().forum.api_key.get_secret_value() == "from-file"
    monkeypatch.setenv("WGBOT_FORUM_API_KEY", "from-env")
    assert load_settings().forum.api_key.get_secret_value() == "from-env"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("WGBOT_SCHEDULE_TIME", "25:00", "WGBOT_SCHEDULE_TIME: "),
        ("WGBOT_SCHEDULE_WEEKDAY", "someday", "WGBOT_SCHEDULE_WEEKDAY: "),
        ("WGBOT_SCHEDULE_DURATION_MINUTES", "0", "WGBOT_SCHEDULE_DURATION_MINUTES: "),
        ("WGBOT_GITHUB_REPO", "not a repo", "WGBOT_GITHUB_REPO: value error, must look like owner/name"),
        ("WGBOT_FORUM_TOPIC_ID", "abc", "WGBOT_FORUM_TOPIC_ID: "),
        (
            "WGBOT_DATABASE_URL",
            "mysql://x",
            "WGBOT_DATABASE_URL: value error, must start with sqlite:// or postgresql://",
        ),
        ("WGBOT_DISCORD_GUILD_ID", "guild", "WGBOT_DISCORD_GUILD_ID: "),
    ],
)
def test_an_invalid_setting_is_one_line_naming_it(monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    text = str(info.value)
    assert text.startswith(message) and "\n" not in text


def test_the_value_of_an_invalid_secret_is_not_shown(monkeypatch):
    monkeypatch.setenv("WGBOT_DATABASE_URL", "mysql://user:hunter2-password@db/x")
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert "hunter2" not in str(info.value)


def test_an_unreadable_secret_file_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv("WGBOT_GITHUB_TOKEN_FILE", str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match=r"^WGBOT_GITHUB_TOKEN_FILE: cannot read .*missing"):
        load_settings()


def test_broken_toml_is_one_line(monkeypatch, tmp_path):
    config = tmp_path / "wgbot.toml"
    config.write_text("[discord\n")
    monkeypatch.setenv("WGBOT_CONFIG", str(config))
    with pytest.raises(ConfigError, match="wgbot.toml: not valid TOML"):
        load_settings()


def test_require_names_the_missing_setting_and_its_file_variant():
    settings = load_settings()
    with pytest.raises(ConfigError) as info:
        settings.discord.require("token", "guild_id", purpose="by `wgbot run`")
    assert str(info.value).startswith(
        "WGBOT_DISCORD_TOKEN is not set (needed by `wgbot run`): set it or WGBOT_DISCORD_TOKEN_FILE"
    )


def test_secrets_never_reach_a_log_line(monkeypatch, caplog):
    monkeypatch.setenv("WGBOT_GITHUB_TOKEN", "ghp_supersecrettoken123")
    monkeypatch.setenv("WGBOT_DATABASE_URL", "postgresql://wg:db-password-42@db/wgbot")
    configure_logging()
    settings = load_settings()
    register_settings_secrets(settings)
    log = logging.getLogger("wgbot.test")
    handler = logging.getLogger().handlers[0]
    records = []
    handler.emit = records.append  # capture after the handler's filters ran
    log.warning("calling GitHub with %s and %s", "ghp_supersecrettoken123", settings.storage.url)
    assert records and "ghp_supersecrettoken123" not in records[0].getMessage()
    assert "db-password-42" not in records[0].getMessage() and "***" in records[0].getMessage()
    assert "ghp_supersecrettoken123" not in repr(settings.github)


def test_a_one_shot_command_keeps_info_lines_off_the_console_and_in_the_log_file(tmp_path, capfd):
    from tracker.logs import log_to_file

    configure_logging(verbose=False)  # what `wgbot process` gets
    path = log_to_file(tmp_path / "logs")
    log = logging.getLogger("transcripts.minutes.grounding")
    log.info("kept the action item on line 12")
    log.warning("the forum answered 503")
    console = " ".join(capfd.readouterr().err.split())  # unwrapped
    assert "kept the action item" not in console and "the forum answered 503" in console
    logged = path.read_text()
    assert "kept the action item on line 12" in logged and "503" in logged

    configure_logging(verbose=True)  # -v: everything on the console too
    log.info("kept the wish on line 30")
    assert "kept the wish on line 30" in " ".join(capfd.readouterr().err.split())


def test_services_log_info_lines_to_the_console(capfd):
    configure_logging(verbose=False, console_level=logging.INFO)  # `wgbot run`, `wgbot worker`
    logging.getLogger("bot.app").info("synced 12 commands")
    assert "synced 12 commands" in " ".join(capfd.readouterr().err.split())
