"""`/live`: only the call's participants get the live page's link, and only while the call is recorded."""

from __future__ import annotations

import aiohttp

from tests.bot.conftest import NEXT_MEETING
from tests.fakes.discord_rest import BOB, GUILD_ID, VOICE_CHANNEL_ID, invoke
from tracker.models import Meeting, MeetingState


def join_voice(bot, person) -> None:
    """The gateway's VOICE_STATE_UPDATE for `person` joining the call's channel."""
    guild = bot.get_guild(GUILD_ID)
    guild._update_voice_state(
        {
            "user_id": str(person.id),
            "channel_id": str(VOICE_CHANNEL_ID),
            "session_id": "s",
            "deaf": False,
            "mute": False,
            "self_deaf": False,
            "self_mute": False,
            "self_video": False,
            "suppress": False,
            "request_to_speak_timestamp": None,
        },
        VOICE_CHANNEL_ID,
    )


async def test_participants_of_a_recorded_call_get_a_working_live_link(bot, fake_discord, sqlite_db):
    outside = await invoke(fake_discord, bot, "live", user=BOB)
    assert outside.ephemeral and "Join the call's voice channel first" in outside.text
    join_voice(bot, BOB)
    idle = await invoke(fake_discord, bot, "live", user=BOB)
    assert idle.ephemeral and "Nothing is being recorded" in idle.text

    with sqlite_db.session() as session:  # what `/meeting start` leaves behind (tests/bot/test_recording.py)
        call = Meeting(group_id=bot.group_id, scheduled_start=NEXT_MEETING, state=MeetingState.recording)
        session.add(call)
        session.flush()
        meeting_id = call.id
    reply = await invoke(fake_discord, bot, "live", user=BOB)
    assert reply.ephemeral and "works for 4 hours" in reply.text
    link = reply.text.split(": ", 1)[1].split()[0]
    assert link.startswith(bot.web.site_url + f"live/{meeting_id}/?exp=")
    async with aiohttp.ClientSession() as http, http.get(link) as response:
        assert response.status == 200 and "Live: " in await response.text()
