"""Minutes and their outbox rows are stored together, once."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import select

from tests.publishing.conftest import MINUTES, REPO, TRANSCRIPT, add_meeting, rows, store
from tracker import minutes_store
from tracker.minutes_store import MeetingNotFound, Targets, store_minutes
from tracker.models import (
    ActionItem,
    Link,
    Meeting,
    MeetingState,
    Member,
    MinutesRecord,
    PublicationState,
    TranscriptSegment,
    WishlistEntry,
)
from transcripts.types import ActionItem as NewAction


def _counts(db) -> dict[str, int]:
    with db.session() as s:
        return {
            model.__name__: len(s.exec(select(model)).all())
            for model in (TranscriptSegment, MinutesRecord, ActionItem, WishlistEntry, Link)
        }


def test_everything_is_stored_with_one_row_per_outward_effect(db):
    meeting_id = add_meeting(db)
    result = store(db, meeting_id)
    assert result.changed
    assert _counts(db) == {"TranscriptSegment": 5, "MinutesRecord": 1, "ActionItem": 3, "WishlistEntry": 2, "Link": 1}
    keys = [r.idempotency_key for r in rows(db)]
    assert len(keys) == 3 + 2 + 3
    assert {k.split("-", 1)[1].rsplit("-", 1)[0] for k in keys if "-action-" in k or "-wish-" in k} == {
        "action",
        "wish",
    }
    assert {f"m{meeting_id}-archive", f"m{meeting_id}-forum", f"m{meeting_id}-discord-minutes"} <= set(keys)
    assert all(r.state == PublicationState.pending and r.attempts == 0 for r in rows(db))
    with db.session() as s:
        owners = {a.owner_name: a.owner_id for a in s.exec(select(ActionItem)).all()}
        members = {m.display_name: m.id for m in s.exec(select(Member)).all()}
        assert owners == {"Alice": members["Alice"], "Bob": members["Bob"], "Carol": members["Carol"]}
        assert s.get(Meeting, meeting_id).state == MeetingState.summarized
        segment = s.exec(select(TranscriptSegment).where(TranscriptSegment.speaker == "Alice")).one()
        assert segment.member_id == members["Alice"]


def test_storing_the_same_minutes_again_changes_nothing(db):
    meeting_id = add_meeting(db)
    store(db, meeting_id)
    before = [(r.id, r.idempotency_key, r.updated_at) for r in rows(db)]
    again = store(db, meeting_id)
    assert not again.changed
    assert [(r.id, r.idempotency_key, r.updated_at) for r in rows(db)] == before
    assert _counts(db)["ActionItem"] == 3


def test_new_minutes_add_new_items_drop_unsent_ones_and_keep_sent_ones(sqlite_db):
    db = sqlite_db
    meeting_id = add_meeting(db)
    store(db, meeting_id)
    with db.session() as s:  # pretend Carol's issue was already created
        ids = {a.owner_name: a.id for a in s.exec(select(ActionItem)).all()}
        carol_row = s.merge(
            next(r for r in rows(db) if r.kind.value == "action_issue" and r.subject_id == ids["Carol"])
        )
        carol_row.state, carol_row.external_id, carol_row.attempts = PublicationState.done, "17", 1

    changed = MINUTES.model_copy(
        update={
            "action_items": [
                MINUTES.action_items[0],
                NewAction(owner="Dave", task="Book the room for the sprint", at=1300.0),
            ]
        }
    )
    result = store(db, meeting_id, changed)
    assert result.changed
    with db.session() as s:
        owners = sorted(a.owner_name for a in s.exec(select(ActionItem)).all())
    assert owners == ["Alice", "Carol", "Dave"]  # Bob's never went out: dropped; Carol's has an issue: kept
    keys = {r.idempotency_key for r in rows(db)}
    with db.session() as s:
        dave = s.exec(select(ActionItem).where(ActionItem.owner_name == "Dave")).one()
    assert f"m{meeting_id}-action-{ids['Bob']}" not in keys and f"m{meeting_id}-action-{dave.id}" in keys
    assert f"m{meeting_id}-action-{ids['Carol']}" in keys


def test_a_failure_stores_nothing(db, monkeypatch):
    meeting_id = add_meeting(db)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(minutes_store, "_enqueue_meeting_rows", broken)
    with pytest.raises(RuntimeError):
        store(db, meeting_id)
    assert _counts(db) == {"TranscriptSegment": 0, "MinutesRecord": 0, "ActionItem": 0, "WishlistEntry": 0, "Link": 0}
    assert rows(db) == []


def test_an_unknown_meeting_is_a_clear_error(sqlite_db):
    with pytest.raises(MeetingNotFound, match="meeting 99 does not exist"):
        store_minutes(sqlite_db, 99, MINUTES, TRANSCRIPT, targets=Targets(github_repo=REPO))


def test_targets_come_from_the_group_then_the_settings(sqlite_db):
    from tracker.config import load_settings
    from tracker.models import WorkingGroup

    settings = load_settings(
        github={"repo": "org/default"},
        forum={"url": "https://forum.example.org", "topic_id": 5},
        discord={"text_channel_id": 42},
    )
    group = WorkingGroup(name="x", series_start=dt.date(2024, 1, 1), github_repo="org/own")
    assert Targets.resolve(group, settings) == Targets("org/own", 5, 42)
    assert Targets.resolve(None, load_settings(forum={"topic_id": 5})) == Targets(None, None, None)
