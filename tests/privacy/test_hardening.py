"""Smaller findings: model downloads (https, SHA-256, size), the database URL with an `@` in its password, secrets in
tracebacks, private file modes, the bounded live queue."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import ssl
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.bot.conftest import job_times, timers_cog
from tests.fakes.https_files import serve_https
from tracker.config import load_settings
from tracker.live import LiveOptions, LiveTranscription
from tracker.logs import _RedactSecrets, register_secret
from transcripts.model_files import ModelFileError, download

WGBOT = str(Path(sys.executable).with_name("wgbot"))
BODY = b"GGUF" + bytes(range(256)) * 64


@pytest.fixture(scope="module")
def https_server(tmp_path_factory):
    """/model.gguf, and a redirect from /to-http.gguf to plain http."""
    redirects = {"/to-http.gguf": "http://127.0.0.1:9/model.gguf"}
    with serve_https({"/model.gguf": BODY}, tmp_path_factory.mktemp("tls"), redirects) as (origin, cert):
        yield origin, ssl.create_default_context(cafile=str(cert))


def test_a_model_url_is_downloaded_only_over_https_with_its_checksum_and_within_the_limit(https_server, tmp_path):
    origin, ca = https_server
    good = hashlib.sha256(BODY).hexdigest()
    with pytest.raises(ModelFileError, match="https only"):
        download(f"http://127.0.0.1:9/model.gguf#sha256={good}", tmp_path)
    with pytest.raises(ModelFileError, match="needs its SHA-256"):
        download(f"{origin}/model.gguf", tmp_path, verify=ca)
    with pytest.raises(ModelFileError, match="not the expected"):
        download(f"{origin}/model.gguf#sha256={'0' * 64}", tmp_path, verify=ca)
    with pytest.raises(ModelFileError, match="limit"):
        download(f"{origin}/model.gguf#sha256={good}", tmp_path, verify=ca, max_bytes=1000)
    with pytest.raises(ModelFileError, match="away from https"):
        download(f"{origin}/to-http.gguf#sha256={good}", tmp_path, verify=ca)
    assert not list(tmp_path.iterdir())  # nothing kept from the refused attempts
    path = download(f"{origin}/model.gguf#sha256={good}", tmp_path, verify=ca)
    assert path.read_bytes() == BODY


def test_a_database_password_with_an_unescaped_at_is_never_shown(tmp_path):
    password = "s3cret@pa:ss/word"
    url = f"postgresql://wg:{password}@127.0.0.1:1/wg"  # nothing listens on port 1: the connection fails
    settings = load_settings(storage={"database_url": url})
    from sqlalchemy.engine import make_url

    parsed = make_url(settings.storage.url)
    assert parsed.host == "127.0.0.1" and parsed.password == password and parsed.username == "wg"
    env = {**os.environ, "WGBOT_DATABASE_URL": url, "WGBOT_DATA_DIR": str(tmp_path)}
    result = subprocess.run([WGBOT, "db", "upgrade"], env=env, capture_output=True, text=True, timeout=120)
    shown = result.stdout + result.stderr + "".join(p.read_text() for p in tmp_path.rglob("*.log"))
    assert result.returncode != 0 and "127.0.0.1" in shown
    for fragment in ("s3cret", "pa:ss", "ss/word", "word@"):
        assert fragment not in shown


def test_a_secret_in_a_traceback_is_masked():
    register_secret("tok_0123456789abcdef")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(_RedactSecrets())
    log = logging.getLogger("tests.privacy.traceback")
    log.addHandler(handler)
    try:
        try:
            raise RuntimeError("request to https://x.example/?token=tok_0123456789abcdef failed")
        except RuntimeError:
            log.exception("publishing failed")
    finally:
        log.removeHandler(handler)
    text = stream.getvalue()
    assert "Traceback" in text and "RuntimeError" in text and "tok_0123456789abcdef" not in text and "***" in text


def test_the_database_and_logs_are_private_to_wgbots_user(tmp_path):
    data = tmp_path / "data"
    env = {**os.environ, "WGBOT_DATA_DIR": str(data)}
    env.pop("WGBOT_DATABASE_URL", None)
    subprocess.run([WGBOT, "db", "upgrade"], env=env, check=True, capture_output=True, timeout=120)
    database = data / "wgbot.db"
    assert database.stat().st_mode & 0o777 == 0o600
    assert data.stat().st_mode & 0o777 == 0o700
    for path in data.rglob("*"):
        assert path.stat().st_mode & 0o077 == 0, path


def test_the_live_queue_is_bounded_by_audio_and_falls_back_to_the_files(tmp_path, caplog):
    live = LiveTranscription(tmp_path, LiveOptions(model="tiny.en", threads=1), max_queued_seconds=10)
    second = np.zeros(16_000, dtype=np.float32)
    with caplog.at_level(logging.WARNING):
        for i in range(9):
            live.submit(1, "Alice", tmp_path / "alice-1.ogg", float(i), second)
        assert live.lost == 0 and live.submitted == 9
        live.submit(1, "Alice", tmp_path / "alice-1.ogg", 9.0, np.zeros(32_000, dtype=np.float32))
    assert live.lost == 1 and live.submitted == 9
    assert "transcribed from its files" in caplog.text
    assert live.finish() is False  # the pipeline transcribes the recording's files


class _Planted:
    """What someone with write access to the database could store as a job: unpickling it runs code."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


async def test_a_pickled_job_planted_in_the_database_is_never_loaded(clock, bot_factory, sqlite_db, tmp_path):
    import pickle
    import time

    import sqlalchemy as sa

    planted = tmp_path / "code-ran"
    with sqlite_db.engine.begin() as connection:
        connection.execute(
            sa.text("CREATE TABLE apscheduler_jobs (id VARCHAR(191) PRIMARY KEY, next_run_time FLOAT, job_state BLOB)")
        )
        connection.execute(
            sa.text("INSERT INTO apscheduler_jobs VALUES ('wg:refresh', :t, :state)"),
            {"t": time.time() - 60, "state": pickle.dumps(_Planted(planted))},
        )
    bot = await bot_factory(sqlite_db)
    await timers_cog(bot).replan()
    assert job_times(bot)  # the bot's own timers, plain rows of its own table
    assert not planted.exists()
