"""Database engine and sessions: SQLite (WAL, in the data folder) by default, PostgreSQL by URL."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import event, inspect
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
# Tables other libraries keep in the same database (Procrastinate's queue; APScheduler's job store, left by versions
# before the timers were rows of our own): not ours to
# migrate, and not a difference between the models and the schema.
FOREIGN_TABLE_PREFIXES = ("apscheduler_jobs", "procrastinate_")
# The full-text index lives outside the models: SQLite's FTS5 table (and its shadow tables) and PostgreSQL's GIN
# tsvector column and its index, made by the migration (tracker/search.py).
FULL_TEXT_OBJECTS = ("search_fts", "search_doc_tsv", "search_tsv")


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic's filter: leave the foreign tables out of autogenerate comparisons."""
    if reflected and compare_to is None and name and name.startswith(FULL_TEXT_OBJECTS):
        return False
    return not (type_ == "table" and reflected and compare_to is None and name.startswith(FOREIGN_TABLE_PREFIXES))


def normalize_url(url: str) -> str:
    """`postgresql://` means psycopg 3 here (the driver wgbot installs), not psycopg2."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str) -> Engine:
    url = normalize_url(url)
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        # The bot, the publisher and worker processes share the file: wait for locks instead of failing at once.
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints; WAL keeps it consistent
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def alembic_config(engine: Engine | None) -> Config:
    """Alembic's configuration; `engine` is the one migrations run on (None: only the scripts are read)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` (idempotent)."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config(None)).get_current_head()
    if head is None:
        raise RuntimeError(f"no Alembic migrations in {MIGRATIONS}")
    return head


def is_migrated(engine: Engine) -> bool:
    return "alembic_version" in inspect(engine).get_table_names() and current_revision(engine) == head_revision()


class Database:
    """One engine per process; `with db.session() as s:` commits on success, rolls back on error."""

    def __init__(self, url: str) -> None:
        self.url = normalize_url(url)
        self.engine = make_engine(self.url)

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    def upgrade(self) -> None:
        upgrade(self.engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        self.engine.dispose()
