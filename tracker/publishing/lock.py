"""One publisher at a time per database, across processes (the bot's background publisher and `wgbot publish`).

Two publishers draining the same row could both decide "not created yet" and both create it. The lock is held by
the operating system (SQLite: `flock` on a file beside the database) or the database server (PostgreSQL: a session
advisory lock), so a publisher killed with SIGKILL releases it at once and the next one resumes without waiting.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Connection, make_url

from tracker.db import Database

log = logging.getLogger(__name__)

ADVISORY_KEY = 0x7767626F74_01  # "wgbot" + 1: the publisher's PostgreSQL advisory lock id
_memory_locks: dict[str, threading.Lock] = {}


class PublisherBusy(RuntimeError):
    """Another publisher holds the lock."""


class PublisherLock:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._fd: int | None = None
        self._connection: Connection | None = None
        self._thread_lock: threading.Lock | None = None

    def acquire(self, timeout: float = 0.0, poll: float = 0.1) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            if self._try():
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(min(poll, max(0.0, deadline - time.monotonic())))

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
        if self._connection is not None:
            try:
                self._connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_KEY})
                self._connection.commit()
            finally:
                self._connection.close()
                self._connection = None
        if self._thread_lock is not None:
            self._thread_lock.release()
            self._thread_lock = None

    def __enter__(self) -> PublisherLock:
        if not self.acquire():
            raise PublisherBusy("another publisher is running")
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def _try(self) -> bool:
        if self.db.is_sqlite:
            database = make_url(self.db.url).database
            if not database or database == ":memory:":
                lock = _memory_locks.setdefault(self.db.url, threading.Lock())
                if lock.acquire(blocking=False):
                    self._thread_lock = lock
                    return True
                return False
            path = Path(database).with_name(Path(database).name + ".publisher.lock")
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return False
            self._fd = fd
            return True
        connection = self.db.engine.connect()
        got = connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_KEY}).scalar()
        connection.commit()
        if got:
            self._connection = connection
            return True
        connection.close()
        return False
