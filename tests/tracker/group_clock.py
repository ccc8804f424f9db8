"""Fixtures for the tracker service-module tests: the clock on Monday 2026-11-30 12:00 UTC (time-machine, so the
models' timestamps follow it too) and the working group, meeting on Thursdays at 17:00 UTC since November."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from tracker import schedule
from tracker.config import load_settings
from tracker.models import WorkingGroup

UTC = dt.UTC
NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
NEXT_MEETING = dt.datetime(2026, 12, 3, 17, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def group(db, clock) -> WorkingGroup:
    with db.session() as session:
        g = schedule.ensure_group(session, load_settings())
        g.series_start = dt.date(2026, 11, 1)
        session.add(g)
    return g
