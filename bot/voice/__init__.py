"""Voice recording: per-speaker, crash-safe capture of a Discord call, with DAVE end-to-end decryption.

    receiver.py          UDP packet -> RTP -> transport decryption -> DAVE decryption -> Opus frame (per user)
    writer.py            frames placed on the meeting clock, appended to one Ogg/Opus file per speaker
    ogg_writer.py        the Ogg pages themselves; manifest.py the recording folder and its manifest.json
    recorder.py          MeetingRecorder: join, consent notice, watchdog (empty channel, max length, reconnects)
    watchdog.py          the receive watchdog: audio expected but none arriving -> warn, reconnect, note the gap
    voice_client.py      the discord.py VoiceClient subclass that feeds the receiver; keepalive.py its UDP keepalive
    live_check.py        `wgbot doctor --voice`; capture.py what it records and replays (no audio content)
    consent.py, retention.py, testing.py (simulated senders and MLS gateway for tests and bench)

Modules import discord.py only where they talk to Discord (voice_client, recorder via it, live_check), so the
packet path and the writer can run in a plain process (the crash drills do).
"""
