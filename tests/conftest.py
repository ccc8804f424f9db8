"""Fixtures shared by the whole suite: databases (SQLite and a real PostgreSQL), settings isolation."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlmodel import SQLModel

from tracker.db import Database
from transcripts import runtime

POSTGRES_URL = os.environ.get("WGBOT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch, tmp_path_factory):
    """No test reads the developer's wgbot.toml or WGBOT_* environment, or writes into ./data."""
    # Kept: where the models are, and whether llama.cpp may repack weights (`WGBOT_LLM_EXTRA_BUFFERS=off make test`
    # runs the suite without its AMX kernels, as on a CPU without AMX).
    kept = ("WGBOT_MODEL_DIR", "WGBOT_TEST_POSTGRES_URL", "WGBOT_LLM_EXTRA_BUFFERS")
    for name in list(os.environ):
        if name.startswith("WGBOT_") and name not in kept:
            monkeypatch.delenv(name)
    monkeypatch.setenv("WGBOT_CONFIG", str(tmp_path_factory.getbasetemp() / "no-such-wgbot.toml"))
    monkeypatch.setenv("WGBOT_DATA_DIR", str(tmp_path_factory.mktemp("data")))
    # Every test starts with the model folder the set-up used, whatever settings an earlier test loaded.
    runtime.configure(
        model_dir=os.environ.get("WGBOT_MODEL_DIR") or None,
        llm_extra_buffers=os.environ.get("WGBOT_LLM_EXTRA_BUFFERS", "auto"),  # type: ignore[arg-type]
    )


@pytest.fixture(autouse=True)
def _isolated_logging() -> Iterator[None]:
    """A command run in a test configures logging (root level, handlers, quiet libraries); the next test starts
    with logging as it was, so what it captures does not depend on the order the tests ran in."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    loggers = {
        name: logger.level
        for name, logger in logging.root.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    yield
    root.setLevel(level)
    root.handlers[:] = handlers
    for name, saved in loggers.items():
        logging.getLogger(name).setLevel(saved)


def _postgres_admin() -> Database | None:
    try:
        admin = Database(POSTGRES_URL)
        with admin.engine.connect() as connection:
            connection.execute(text("select 1"))
        return admin
    except Exception:
        return None


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh database on the PostgreSQL server for this test run, dropped afterwards."""
    admin = _postgres_admin()
    if admin is None:
        pytest.skip(f"no PostgreSQL answers at {POSTGRES_URL} (set WGBOT_TEST_POSTGRES_URL); PostgreSQL tests skipped")
    name = f"wgbot_test_{uuid.uuid4().hex[:10]}"
    autocommit = admin.engine.execution_options(isolation_level="AUTOCOMMIT")
    with autocommit.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin.engine.url.set(database=name).render_as_string(hide_password=False)
    yield url
    with autocommit.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def _migrated_postgres(postgres_url) -> Iterator[Database]:
    db = Database(postgres_url)
    db.upgrade()
    yield db
    db.dispose()


def _empty_postgres(db: Database) -> Database:
    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with db.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    return db


@pytest.fixture
def sqlite_db(tmp_path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'wgbot.db'}")
    db.upgrade()
    yield db
    db.dispose()


@pytest.fixture
def postgres_db(_migrated_postgres) -> Database:
    return _empty_postgres(_migrated_postgres)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request) -> Database:
    """The tracker database, migrated and empty: each test using it runs on SQLite and on PostgreSQL."""
    return request.getfixturevalue(f"{request.param}_db")


@pytest.fixture(scope="session")
def synthesized_meeting(tmp_path_factory):
    """The demo meeting (`transcripts.synthesize.DEMO_SCRIPT`: four espeak-ng voices, twelve lines, about 70 s) as
    one Ogg/Opus track per speaker plus manifest.json, with its ground truth (`SynthesizedMeeting.lines`).
    Built once per test run; treat the folder as read-only (copy it to change it). Hints: `demo_hints()`."""
    from transcripts.synthesize import demo_script, synthesize_meeting

    return synthesize_meeting(demo_script(), tmp_path_factory.mktemp("synthesized-meeting"), noise=0.003)
