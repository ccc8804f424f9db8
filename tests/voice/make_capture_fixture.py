"""Makes `tests/voice/fixtures/capture-stall.jsonl`: what `wgbot doctor --voice --capture` would have written in a
150-second call through the simulated voice server, by a bot that sends no keepalives (so the server stops
forwarding after 60 s). Three speakers; Carol's SPEAKING event arrives 2 s after her first packet.

    .venv/bin/python -m tests.voice.make_capture_fixture [OUT]
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from bot.voice.capture import CallAnalysis, CaptureRecorder
from tests.voice.voice_server import Line, run_call

FIXTURE = Path(__file__).parent / "fixtures" / "capture-stall.jsonl"
ALICE, BOB, CAROL = 101, 202, 303
NAMES = {ALICE: "Alice", BOB: "Bob", CAROL: "Carol"}
LINES = [
    Line(1.0, ALICE, "Good morning everyone, welcome to the weekly meeting.", "en-us+m3"),
    Line(8.0, BOB, "Thanks Alice, the new release shipped on Monday.", "en-gb-x-rp"),
    Line(20.0, CAROL, "Sorry I am late, the train was delayed.", "en-us"),
    Line(45.0, ALICE, "Let us review the open action items next week.", "en-us+m3"),
    Line(90.0, BOB, "I will write the summary and send it out.", "en-gb-x-rp"),  # after the cut-off: never arrives
    Line(120.0, CAROL, "Good morning everyone, welcome to the weekly meeting.", "en-us"),
]
DURATION = 150.0


def build_capture() -> str:
    out = io.StringIO()
    now = [0.0]
    recorder = CaptureRecorder(CallAnalysis(), out, clock=lambda: now[0], origin=0.0)
    recorder.header(
        channel="weekly-call",
        seconds=DURATION,
        mode="aead_xchacha20_poly1305_rtpsize",
        dave_protocol_version=1,
        keepalive=False,
        members=[{"id": str(u), "name": n, "bot": False, "muted": False} for u, n in NAMES.items()],
        made_by="tests/voice/make_capture_fixture.py (simulated voice server, no keepalive)",
    )
    result = run_call(
        LINES,
        duration=DURATION,
        keepalive=False,
        names=NAMES,
        capture=recorder,
        speaking_delay={CAROL: 2.0},
        on_tick=lambda t, receiver, connection: recorder.dave_state(
            connection.dave_protocol_version, connection.dave_session
        ),
        now=now,
    )
    recorder.end(result.receiver.snapshot())
    return out.getvalue()


def main() -> None:
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else FIXTURE
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(build_capture(), encoding="utf-8")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
