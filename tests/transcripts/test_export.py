"""Exports: JSON round trip, Markdown, and WebVTT/SRT checked against their grammars."""

from __future__ import annotations

import datetime as dt
import json
import re

from transcripts.export import from_json, to_json, to_markdown, to_srt, to_vtt, write_all
from transcripts.types import Segment, Transcript, Word

VTT_TIME = r"(\d{2,}):([0-5]\d):([0-5]\d)\.(\d{3})"
SRT_TIME = r"(\d{2,}):([0-5]\d):([0-5]\d),(\d{3})"


def _seconds(match, offset=0) -> float:
    h, m, s, ms = (int(match.group(offset + i)) for i in range(1, 5))
    return h * 3600 + m * 60 + s + ms / 1000


def parse_vtt(text: str) -> list[tuple[float, float, str, str]]:
    """A strict WebVTT reader (the subset we write): header, then cues of id, timing line, `<v Name>text</v>`."""
    assert text.startswith("WEBVTT\n\n")
    cues = []
    for block in text[len("WEBVTT\n\n") :].strip("\n").split("\n\n") if text.strip() != "WEBVTT" else []:
        ident, timing, payload, *rest = block.split("\n")
        assert not rest and ident.isdigit()
        m = re.fullmatch(VTT_TIME + " --> " + VTT_TIME, timing)
        assert m, timing
        start, end = _seconds(m), _seconds(m, 4)
        assert end > start
        v = re.fullmatch(r"<v ([^>]+)>(.*)</v>", payload)
        assert v and "-->" not in payload and "<" not in v.group(2)
        text_ = v.group(2).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
        cues.append((start, end, v.group(1), text_))
    return cues


def parse_srt(text: str) -> list[tuple[float, float, str]]:
    cues = []
    for i, block in enumerate(text.strip("\n").split("\n\n"), 1) if text.strip() else []:
        ident, timing, payload, *rest = block.split("\n")
        assert not rest and ident == str(i)
        m = re.fullmatch(SRT_TIME + " --> " + SRT_TIME, timing)
        assert m and _seconds(m, 4) > _seconds(m)
        cues.append((_seconds(m), _seconds(m, 4), payload))
    return cues


def _transcript() -> Transcript:
    return Transcript(
        segments=[
            Segment(
                "Alice",
                1.0,
                3.5,
                "Welcome. Is the <HNSW> index & the SIMD kernel ready?",
                "alice.ogg",
                [Word(1.0, 1.6, "Welcome.", 0.9)],
            ),
            Segment("Bob", 3.2, 4.0, "Yes --> almost.", "bob.ogg"),  # overlaps Alice: both kept
            Segment("Alice", 3725.25, 3727.0, "Good, see you next_week *all*.", "alice.ogg"),
        ],
        started_at=dt.datetime(2026, 11, 26, 17, 0, tzinfo=dt.UTC),
        duration=3728.0,
        warnings=["carol.ogg: no speech found"],
    )


def test_json_round_trip_and_shape():
    t = _transcript()
    data = json.loads(to_json(t))
    assert data["segments"][0] == {
        "speaker": "Alice",
        "start": 1.0,
        "end": 3.5,
        "text": "Welcome. Is the <HNSW> index & the SIMD kernel ready?",
    }
    assert data["speakers"] == ["Alice", "Bob"] and data["warnings"] == ["carol.ogg: no speech found"]
    back = from_json(to_json(t, with_words=True))
    assert [(s.speaker, s.start, s.end, s.text) for s in back.segments] == [
        (s.speaker, s.start, s.end, s.text) for s in t.segments
    ]
    assert back.segments[0].words == t.segments[0].words and back.started_at == t.started_at
    assert "words" not in json.loads(to_json(t))["segments"][0]


def test_vtt_and_srt_parse_and_carry_speakers_and_times():
    t = _transcript()
    vtt = parse_vtt(to_vtt(t))
    assert [(a, b, who) for a, b, who, _ in vtt] == [(1.0, 3.5, "Alice"), (3.2, 4.0, "Bob"), (3725.25, 3727.0, "Alice")]
    assert vtt[0][3] == t.segments[0].text and vtt[1][3] == "Yes --> almost."
    srt = parse_srt(to_srt(t))
    assert srt[2] == (3725.25, 3727.0, "Alice: Good, see you next_week *all*.")
    assert to_vtt(Transcript([])) == "WEBVTT\n\n" and parse_srt(to_srt(Transcript([]))) == []


def test_markdown_groups_turns_with_timestamps():
    md = to_markdown(_transcript(), title="Weekly meeting")
    assert md.startswith("# Weekly meeting\n\n_2026-11-26 17:00 UTC · 1:02:08 long · speakers: Alice, Bob_\n")
    assert "**Alice** [00:01]: Welcome. Is the <HNSW> index & the SIMD kernel ready?" in md
    assert "**Bob** [00:03]: Yes --> almost." in md
    assert "**Alice** [1:02:05]: Good, see you next\\_week \\*all\\*." in md
    assert md.rstrip().endswith("- carol.ogg: no speech found")


def test_write_all_real_transcript(tmp_path, tiny_transcript):
    transcript, _ = tiny_transcript
    paths = write_all(transcript, tmp_path / "out", title="Weekly meeting")
    assert {p.name for p in paths.values()} == {"transcript.json", "transcript.md", "transcript.vtt", "transcript.srt"}
    vtt = parse_vtt(paths["vtt"].read_text())
    assert [(round(a, 3), who) for a, _, who, _ in vtt] == [(round(s.start, 3), s.speaker) for s in transcript.segments]
    assert len(parse_srt(paths["srt"].read_text())) == len(transcript.segments)
    assert from_json(paths["json"].read_text()).speakers == transcript.speakers
