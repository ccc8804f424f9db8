"""What people are told about a recording, word for word: a changed word in these notices is a changed promise
(how long the audio is kept, how to opt out, whom to ask), so each is checked whole. Fast enough for mutation
testing (`make mutate`)."""

from __future__ import annotations

import pytest

from bot.voice.consent import (
    RECORDING_MARKER,
    consent_notice,
    decrypt_warning,
    late_joiner_notice,
    plain_nickname,
    recording_nickname,
    stall_warning,
    stopped_notice,
)


def test_the_consent_notice_in_full():
    assert consent_notice(recorder="wgbot", retention_days=30, contact="chairs@example.org", meeting="Weekly") == (
        "🔴 REC **Recording started** — wgbot is recording **Weekly**, one audio track per speaker.\n"
        "• What happens to it: the audio is transcribed on our own server (no third-party service) and turned into "
        "the meeting minutes, which are published with action items and decisions.\n"
        "• How long: The audio is kept for 30 days after the minutes are published, then deleted.\n"
        "• Opting out: use `/record optout` and your voice is never written to disk (it is dropped on arrival, "
        "and anything already recorded of you in this meeting is deleted). You can also simply leave the voice "
        "channel.\n"
        "• Questions or deletion requests: chairs@example.org."
    )


@pytest.mark.parametrize(
    ("days", "kept"),
    [
        (0, "The audio is deleted after the minutes are published"),
        (1, "The audio is kept for 1 day after the minutes are published, then deleted"),
        (2, "The audio is kept for 2 days after the minutes are published, then deleted"),
    ],
)
def test_how_long_the_audio_is_kept(days, kept):
    text = consent_notice(recorder="b", retention_days=days, contact="c")
    assert f"• How long: {kept}.\n" in text


def test_a_resumed_recording_without_a_meeting_name_and_another_command():
    text = consent_notice(recorder="bot", retention_days=0, contact="x", optout_command="/optout", resumed=True)
    assert text.startswith("🔴 REC **Recording resumed** — bot is recording this call, one audio track per speaker.\n")
    assert "• Opting out: use `/optout` and" in text


def test_the_late_joiner_notice():
    assert late_joiner_notice("<@5>", recorder="wgbot") == (
        "🔴 REC <@5>, this call is being recorded by wgbot for the meeting minutes (see the notice above). "
        "Use `/record optout` if you do not want your voice recorded."
    )
    assert "Use `/x` if" in late_joiner_notice("<@5>", recorder="wgbot", optout_command="/x")


@pytest.mark.parametrize(
    ("seconds", "speakers", "said"),
    [
        (59.4, 1, "after 0 min 59 s, 1 speaker recorded."),
        (59.5, 2, "after 1 min 00 s, 2 speakers recorded."),
        (3599.0, 0, "after 59 min 59 s, 0 speakers recorded."),
        (3600.0, 3, "after 1 h 00 min, 3 speakers recorded."),
        (2 * 3600 + 5 * 60 + 7, 1, "after 2 h 05 min, 1 speaker recorded."),
    ],
)
def test_the_stopped_notice(seconds, speakers, said):
    assert stopped_notice(reason="the call ended", duration_seconds=seconds, speakers=speakers) == (
        f"⏹️ **Recording stopped** (the call ended) {said}"
    )


def test_the_decrypt_warning():
    assert decrypt_warning(failed=12, window_seconds=30.9, users=["Ann", "Bo"]) == (
        "⚠️ I could not decrypt 12 audio packets from Ann, Bo in the last 30 s, so their audio is missing from the "
        "recording. I am reconnecting to the call to get fresh encryption keys; if this message repeats, ask them to "
        "rejoin the voice channel."
    )
    assert "packets from some speakers in" in decrypt_warning(failed=1, window_seconds=5, users=[])


def test_the_stall_warning():
    assert stall_warning(seconds=20.7, users=["Ann"]) == (
        "⚠️ No audio has reached me for 20 s although Ann is unmuted, so anything said since is missing from the "
        "recording. I am reconnecting to the call; the gap will be noted in the minutes."
    )
    assert "although Ann, Bo are unmuted," in stall_warning(seconds=20, users=["Ann", "Bo"])
    assert "although people in the call are unmuted," in stall_warning(seconds=20, users=[])


def test_the_recording_nickname_within_discords_limit():
    assert RECORDING_MARKER == "🔴 REC"
    assert recording_nickname("wgbot") == "🔴 REC wgbot"
    long = "Working Group Coordination Bot Deluxe"
    assert recording_nickname(long) == ("🔴 REC " + long)[:32] and len(recording_nickname(long)) == 32
    assert recording_nickname("🔴 REC wgbot") == "🔴 REC wgbot"  # marked already (a restart)
    assert recording_nickname("🔴 REC" + "x" * 40) == ("🔴 REC" + "x" * 40)[:32]
    exactly = "x" * 26  # with the marker and a space: 32 characters
    assert recording_nickname(exactly) == "🔴 REC " + exactly


def test_the_plain_nickname_undoes_the_marker():
    assert plain_nickname("🔴 REC wgbot") == "wgbot"
    assert plain_nickname("🔴 REC   wgbot ") == "wgbot "
    assert plain_nickname("🔴 RECwgbot") == "wgbot"
    assert plain_nickname("🔴 REC") == "🔴 REC"  # nothing but the marker: left as it is
    assert plain_nickname("wgbot 🔴 REC") == "wgbot 🔴 REC"
    assert plain_nickname(recording_nickname("Ann")) == "Ann"
