"""Liveness for a container's healthcheck: a running bot or worker writes a heartbeat file in the data folder while it
is working (the bot: while connected to the gateway), and `wgbot health` checks that it is recent.

A file, not a port: the worker serves no HTTP, and a check that reads a file needs no credentials."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

ROLES = ("bot", "worker")


def heartbeat_path(data_dir: Path, role: str) -> Path:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r} (one of {', '.join(ROLES)})")
    return Path(data_dir) / "health" / f"{role}.json"


def beat(data_dir: Path, role: str, *, now: float | None = None) -> None:
    """Record that `role` is alive and working now (written atomically: a reader never sees half a file)."""
    path = heartbeat_path(data_dir, role)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"at": time.time() if now is None else now, "pid": os.getpid()}))
    os.replace(tmp, path)


def problem(data_dir: Path, role: str, *, max_age: float, now: float | None = None) -> str | None:
    """None when `role` beat within `max_age` seconds, else what is wrong, in one line."""
    path = heartbeat_path(data_dir, role)
    try:
        at = float(json.loads(path.read_text())["at"])
    except FileNotFoundError:
        return f"no heartbeat from the {role} yet ({path})"
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return f"unreadable heartbeat {path}: {exc}"
    age = (time.time() if now is None else now) - at
    if age > max_age:
        return f"the {role}'s last heartbeat is {age:.0f} s old (more than {max_age:.0f} s)"
    return None
