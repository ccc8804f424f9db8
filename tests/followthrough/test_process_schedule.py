"""`wgbot process` takes "by the next meeting" from the schedule in the configured database (a skipped week
counted), and the chat file's MeetBot notes into minutes.json exactly as typed."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

from tracker.db import Database
from tracker.models import Meeting, MeetingState, WorkingGroup
from transcripts.types import Segment, Transcript

WGBOT = [str(Path(sys.executable).with_name("wgbot"))]
THURSDAY = dt.date(2026, 12, 3)
SKIPPED = dt.datetime(2026, 12, 10, 17, 0, tzinfo=dt.UTC)


def _process(tmp_path: Path, data_dir: Path) -> dict:
    transcript = Transcript([Segment("Ada", 1.0, 4.0, "Welcome to the call."), Segment("Bob", 5.0, 8.0, "Hello.")])
    (tmp_path / "transcript.json").write_text(json.dumps(transcript.to_dict()))
    (tmp_path / "chat.txt").write_text(
        "[17:05] Ada: #action @Bob send the report by the next meeting\n[17:06] Ada: #agreed keep Thursdays\n"
    )
    env = {
        **os.environ,
        "WGBOT_DATA_DIR": str(data_dir),
        "WGBOT_LLM_MODEL": "smollm2-135m-q8_0",
        "WGBOT_THREADS": "1",
    }
    result = subprocess.run(
        [*WGBOT, "process", str(tmp_path / "transcript.json"), "--date", THURSDAY.isoformat(), "--chat",
         str(tmp_path / "chat.txt"), "--out", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=600, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads((tmp_path / "out" / "minutes.json").read_text())


def test_the_next_meeting_comes_from_the_database_schedule(tmp_path):
    data = tmp_path / "data"
    db = Database(f"sqlite:///{data / 'wgbot.db'}")
    db.upgrade()
    with db.session() as session:
        group = WorkingGroup(name="WG", series_start=dt.date(2026, 11, 5))
        session.add(group)
        session.flush()
        session.add(
            Meeting(group_id=group.id, occurrence_start=SKIPPED, scheduled_start=SKIPPED, state=MeetingState.cancelled)
        )
    db.dispose()
    minutes = _process(tmp_path, data)
    [typed] = [a for a in minutes["action_items"] if a["task"] == "send the report by the next meeting"]
    assert typed["owner"] == "Bob" and typed["due"] == "2026-12-17"  # the 10th is skipped
    assert "keep Thursdays" in minutes["decisions"]


def test_without_a_database_the_next_meeting_is_a_week_later(tmp_path):
    minutes = _process(tmp_path, tmp_path / "empty-data")
    [typed] = [a for a in minutes["action_items"] if a["task"] == "send the report by the next meeting"]
    assert typed["due"] == "2026-12-10"
