"""The Alembic migrations create the schema on SQLite and PostgreSQL, and agree with tracker/models.py."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from tracker import db as dbmod
from tracker.db import include_object

TABLES = {
    "working_group",
    "meeting",
    "member",
    "agenda_item",
    "transcript_segment",
    "minutes",
    "action_item",
    "wishlist_entry",
    "link",
    "publication",
}


def test_migrations_create_every_table_and_match_the_models(db):
    assert set(inspect(db.engine).get_table_names()) >= TABLES
    assert dbmod.is_migrated(db.engine)
    with db.engine.connect() as connection:
        opts = {"compare_type": True, "include_object": include_object}
        diff = compare_metadata(MigrationContext.configure(connection, opts=opts), SQLModel.metadata)
    assert diff == [], f"tracker/models.py and the migrations disagree; add a migration for: {diff}"


def test_tables_of_the_scheduler_and_the_task_queue_are_not_a_difference(sqlite_db):
    with sqlite_db.engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE apscheduler_jobs (id VARCHAR(191) PRIMARY KEY)")
        opts = {"compare_type": True, "include_object": include_object}
        assert compare_metadata(MigrationContext.configure(connection, opts=opts), SQLModel.metadata) == []


def test_upgrade_is_idempotent_and_downgrade_removes_everything(tmp_path):
    database = dbmod.Database(f"sqlite:///{tmp_path / 'x.db'}")
    database.upgrade()
    database.upgrade()
    assert dbmod.current_revision(database.engine) == dbmod.head_revision()
    command.downgrade(dbmod.alembic_config(database.engine), "base")
    assert not TABLES & set(inspect(database.engine).get_table_names())


def test_sqlite_runs_in_wal_mode(sqlite_db):
    with sqlite_db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
