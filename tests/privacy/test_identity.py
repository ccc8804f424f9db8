"""Items are owned by the Discord account whose track said the owner's name; a member who renames themselves after
someone else gains nothing."""

from __future__ import annotations

import datetime as dt
import json
import shutil

from sqlmodel import select

from tracker import actions, members, pipeline
from tracker.actions import ActionError
from tracker.config import load_settings
from tracker.minutes_store import Targets
from tracker.models import ActionItem, Meeting, MeetingState, Member, WorkingGroup
from transcripts.types import ActionItem as Action
from transcripts.types import Minutes

ALICE, MALLORY = 101, 666


def test_an_item_belongs_to_the_speakers_account_not_to_whoever_took_the_name(sqlite_db, short_recording, tmp_path):
    folder = tmp_path / "2026.12.03-m1"
    shutil.copytree(short_recording, folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    for track in manifest["tracks"]:
        track["user_id"] = str({"Alice": ALICE, "Bob": 202}[track["speaker"]])
    (folder / "manifest.json").write_text(json.dumps(manifest))

    settings = load_settings()
    with sqlite_db.session() as s:
        group = WorkingGroup(name="WG", series_start=dt.date(2026, 11, 1))
        s.add(group)
        s.flush()
        # Mallory renamed herself "Alice" on Discord before the minutes were written.
        mallory = members.get_or_create(s, MALLORY, "Alice")
        meeting = Meeting(
            group_id=group.id,
            scheduled_start=dt.datetime(2026, 12, 3, 17, tzinfo=dt.UTC),
            state=MeetingState.transcribed,
            recording_dir=str(folder),
        )
        s.add(meeting)
        s.flush()
        minutes = Minutes(summary="s", action_items=[Action(owner="Alice", task="Write the release notes", at=1.0)])
        pipeline.store_summary(s, meeting, minutes, Targets(), settings)
        item = s.exec(select(ActionItem)).one()
        alice = members.find(s, ALICE)
        assert alice is not None and item.owner_id == alice.id != mallory.id

        try:
            actions.mark_done(s, group, item.id, mallory, is_organizer=False)
            raise AssertionError("Mallory closed Alice's item")
        except ActionError as exc:
            assert "belongs to Alice" in str(exc)
        assert actions.mine(s, group, mallory) == [] and [i.id for i in actions.mine(s, group, alice)] == [item.id]
        assert actions.mark_done(s, group, item.id, alice, is_organizer=False).owner_id == alice.id
        assert s.exec(select(Member).where(Member.discord_id == MALLORY)).one().display_name == "Alice"


def test_a_claimed_github_login_counts_only_once_an_organizer_confirms_it(sqlite_db):
    from tracker.publishing.handlers import action_view

    with sqlite_db.session() as s:
        mallory = members.get_or_create(s, MALLORY, "Mallory")
        members.link_github(s, mallory, "alice-gh")  # Alice's login, typed by Mallory
        item = ActionItem(owner_name="Mallory", owner_id=mallory.id, task="Merge the release branch")
        s.add(item)
        s.flush()
        assert mallory.github_login is None and action_view(s, item).github_login is None  # not assigned to it
        members.confirm_github(s, mallory)
        assert action_view(s, item).github_login == "alice-gh"


async def test_only_organizers_confirm_a_github_login(bot, fake_discord, sqlite_db):
    from tests.fakes.discord_rest import ALICE, BOB, invoke

    noted = await invoke(fake_discord, bot, "link github", user=BOB, login="bob-gh")
    assert "noted" in noted.text and "confirms it" in noted.text
    refused = await invoke(fake_discord, bot, "link confirm", user=BOB, member=BOB.as_option)
    assert refused.ephemeral and "can confirm GitHub logins" in refused.text
    with sqlite_db.session() as s:
        assert members.find(s, BOB.id).github_login is None
    confirmed = await invoke(fake_discord, bot, "link confirm", user=ALICE, member=BOB.as_option)
    assert "confirmed" in confirmed.text and confirmed.messages[0]["allowed_mentions"] == {"parse": []}
    with sqlite_db.session() as s:
        assert members.find(s, BOB.id).github_login == "bob-gh"
