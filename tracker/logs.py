"""The one place logging is configured. Secrets known to the settings are masked in every log line."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from rich.console import Console
from rich.logging import RichHandler

_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Mask `value` wherever it would appear in a log line (tokens, API keys, database passwords)."""
    if value and len(value) >= 6:
        _secrets.add(value)


def _redact(text: str) -> str:
    for secret in _secrets:
        text = text.replace(secret, "***")
    return text


class _RedactSecrets(logging.Filter):
    """Masks the message, and the traceback too: an exception's text often quotes a URL, a header or a DSN."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _secrets:
            message = record.getMessage()
            redacted = _redact(message)
            if redacted != message:
                record.msg, record.args = redacted, None
            if record.exc_info and not record.exc_text:
                record.exc_text = _FORMATTER.formatException(record.exc_info)
            if record.exc_text:
                record.exc_text = _redact(record.exc_text)
            if record.stack_info:
                record.stack_info = _redact(record.stack_info)
        return True


_FORMATTER = logging.Formatter()


LOG_FILE_BYTES = 5 * 1024 * 1024
LOG_FILES_KEPT = 3


def configure_logging(verbose: bool = False, *, console_level: int = logging.WARNING) -> None:
    """The console shows `console_level` and above (a one-shot command: warnings only, beside its own progress and
    result; the bot and workers: INFO), everything with `verbose`; `log_to_file` keeps the rest."""
    # Logs go to stderr: stdout carries data (`wgbot ics > wg.ics`).
    handler = RichHandler(console=Console(stderr=True), show_path=False, rich_tracebacks=False, markup=False)
    handler.addFilter(_RedactSecrets())
    handler.setLevel(logging.DEBUG if verbose else console_level)
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO, format="%(name)s: %(message)s", handlers=[handler], force=True
    )
    for noisy in (
        "httpx",
        "httpcore",
        "urllib3",
        "discord.gateway",
        "discord.http",
        "faster_whisper",
        "alembic",
    ):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose else logging.WARNING)


def log_to_file(folder: Path) -> Path | None:
    """Every INFO line (DEBUG with -v) also goes to `folder/wgbot.log`, rotated; None when the folder is not
    writable (the console still works)."""
    path = Path(folder) / "wgbot.log"
    root = logging.getLogger()
    if any(getattr(h, "baseFilename", None) == str(path.resolve()) for h in root.handlers):
        return path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=LOG_FILE_BYTES, backupCount=LOG_FILES_KEPT, encoding="utf-8"
        )
    except OSError:
        return None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_RedactSecrets())
    root.addHandler(handler)
    return path


def register_settings_secrets(settings) -> None:
    from pydantic import SecretStr

    for section in vars(settings).values():
        for name in getattr(section, "secret_fields", ()):
            value = getattr(section, name)
            if isinstance(value, SecretStr):
                register_secret(value.get_secret_value())
                if name == "database_url":  # the password inside the URL too
                    from sqlalchemy.engine import make_url

                    register_secret(make_url(value.get_secret_value()).password)
