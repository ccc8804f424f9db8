"""`wgbot forget MEMBER --yes` after a meeting was published everywhere: the person's audio and lines go, and every
published text that showed their words is edited through the outbox, exactly once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import select

from tests.publishing.conftest import FakeClock, add_meeting, make_publisher, make_settings, store
from tracker import forget as forgetting
from tracker.models import (
    ActionItem,
    Meeting,
    Member,
    MinutesRecord,
    PublicationState,
    SearchDoc,
    TranscriptSegment,
)
from tracker.publishing import status

WGBOT = str(Path(sys.executable).with_name("wgbot"))
ALICE_ID = 101
HER_WORDS = "RFC draft by next Thursday"  # only Alice says this (tests/publishing/conftest.py TRANSCRIPT)


@pytest.fixture
def published(sqlite_db, github, forum, discord, tmp_path):
    settings = make_settings(github, forum, discord)
    meeting_id = add_meeting(sqlite_db)
    folder = tmp_path / "recordings" / "2024.03.07-m1"
    folder.mkdir(parents=True)
    for name in ("alice-101.ogg", "bob-202.ogg"):
        (folder / name).write_bytes(b"OggS audio")
    (folder / "manifest.json").write_text(
        json.dumps(
            {
                "meeting": folder.name,
                "started_at": "2024-03-07T17:00:00+00:00",
                "tracks": [
                    {"file": "alice-101.ogg", "speaker": "Alice", "user_id": "101", "offset": 0},
                    {"file": "bob-202.ogg", "speaker": "Bob", "user_id": "202", "offset": 0},
                ],
            }
        )
    )
    with sqlite_db.session() as s:
        alice = s.exec(select(Member).where(Member.display_name == "Alice")).one()
        alice.discord_id = ALICE_ID
        s.get(Meeting, meeting_id).recording_dir = str(folder)
    store(sqlite_db, meeting_id)
    report = make_publisher(sqlite_db, settings, FakeClock()).drain()
    assert report.failed == [] and report.pending == 0
    assert HER_WORDS in github.file_text("meetings/2024.03.07/transcript.md")
    return settings, meeting_id, folder


def _writes(*fakes) -> int:
    return sum(1 for fake in fakes for r in fake.requests if r.method != "GET")


def test_forget_removes_a_person_everywhere_and_edits_what_was_published_once(
    published, sqlite_db, github, forum, discord, tmp_path
):
    settings, meeting_id, folder = published
    env = {**os.environ, "WGBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'wgbot.db'}", "WGBOT_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [WGBOT, "forget", f"<@{ALICE_ID}>", "--yes"], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "edit: archive" in result.stdout and "cannot change: repository history" in result.stdout

    with sqlite_db.session() as s:
        speakers = set(s.exec(select(TranscriptSegment.speaker)).all())
        item = s.exec(select(ActionItem).where(ActionItem.task == "Finish the RFC draft")).one()
        record = s.exec(select(MinutesRecord)).one()
        indexed = " ".join(d.text for d in s.exec(select(SearchDoc)).all())
    assert "Alice" not in speakers and "Bob" in speakers
    assert item.owner_name == "" and item.owner_id is None and not item.excerpt  # the item stays, unassigned
    assert "Alice" not in record.long_summary and "a participant" in record.long_summary
    assert HER_WORDS not in indexed
    assert not (folder / "alice-101.ogg").exists() and (folder / "bob-202.ogg").exists()
    assert "alice" not in (folder / "manifest.json").read_text().lower()

    before = _writes(github, forum, discord)
    make_publisher(sqlite_db, settings, FakeClock()).drain()
    edits = _writes(github, forum, discord) - before
    assert HER_WORDS not in github.file_text("meetings/2024.03.07/transcript.md")
    assert "Alice" not in github.file_text("meetings/2024.03.07/README.md")
    issue = next(i for i in github.repo.issues if i["title"] == "Finish the RFC draft")
    assert "Owner: unassigned" in issue["body"] and HER_WORDS not in issue["body"]
    assert "Alice" not in forum.posts_in(77, username=forum.username)[0]["raw"]
    assert "Alice" not in discord.channel(123456789)[0]["content"]
    assert all(r.state == PublicationState.done for r in status(sqlite_db, include_done=True))

    # Exactly once: forgetting again finds nothing, and publishing again writes nothing.
    again = subprocess.run([WGBOT, "forget", str(ALICE_ID), "--yes"], env=env, capture_output=True, text=True)
    assert again.returncode == 0 and "edit:" not in again.stdout
    make_publisher(sqlite_db, settings, FakeClock()).drain()
    assert _writes(github, forum, discord) - before == edits


def test_forget_asks_first_and_names_who_it_cannot_find(published, sqlite_db, tmp_path):
    env = {**os.environ, "WGBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'wgbot.db'}", "WGBOT_DATA_DIR": str(tmp_path)}
    declined = subprocess.run([WGBOT, "forget", "Alice"], env=env, input="n\n", capture_output=True, text=True)
    assert declined.returncode == 1 and "Forget Alice" in declined.stdout and "nothing was changed" in declined.stderr
    with sqlite_db.session() as s:
        assert s.exec(select(TranscriptSegment).where(TranscriptSegment.speaker == "Alice")).first() is not None
    unknown = subprocess.run([WGBOT, "forget", "Zed", "--yes"], env=env, capture_output=True, text=True)
    assert unknown.returncode == 1 and "nobody is called 'Zed'" in unknown.stderr and "Traceback" not in unknown.stderr


def test_a_speaker_name_resolves_to_their_account(published, sqlite_db):
    with sqlite_db.session() as s:
        person = forgetting.resolve(s, "alice")
        assert person.speakers == frozenset({"Alice"}) and person.discord_id == ALICE_ID
        with pytest.raises(forgetting.ForgetError):
            forgetting.resolve(s, "  ")
