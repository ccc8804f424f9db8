"""`wgbot process` through the real CLI: the bundled sample meeting (synthesized speech, four Ogg/Opus tracks) is
transcribed by Whisper base and summarized by the default Qwen 1.5B Q8_0, as `make demo` does; and bad input gives a
one-line error and the documented exit code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import transcripts.sample as sample
from bot.cli import app

runner = CliRunner()

if "process" not in {command.name for command in app.registered_commands}:
    # Until bot/cli/__init__.py lists the module (the lead registers commands there).
    from bot.cli import process as _process

    _process.register(app)


def run(*args: str):
    return runner.invoke(app, ["process", *args])


def one_line_error(result) -> str:
    text = result.stderr.strip() if result.stderr_bytes is not None else result.output.strip()
    assert text.count("\n") == 0, text
    assert text.startswith("error:")
    return text


@pytest.fixture(scope="module")
def processed(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sample-minutes")
    result = run(
        str(sample.FOLDER),
        "--date",
        sample.DATE.isoformat(),
        "--title",
        sample.TITLE,
        "--agenda",
        str(sample.FOLDER / "agenda.md"),
        "--chat",
        str(sample.FOLDER / "chat.txt"),
        "--out",
        str(out),
        "--whisper-model",
        "base",
        "--llm-model",
        "qwen2.5-coder-1.5b-q8_0",
    )
    assert result.exit_code == 0, result.output
    assert f"minutes written to {out}/" in result.stdout.replace("\n", " ")
    return out


def test_every_file_is_written(processed):
    for name in (
        "transcript.json",
        "transcript.md",
        "transcript.vtt",
        "transcript.srt",
        "minutes.json",
        "minutes.md",
        "minutes-long.md",
    ):
        assert (processed / name).stat().st_size > 0, name
    transcript = json.loads((processed / "transcript.json").read_text())
    assert {s["speaker"] for s in transcript["segments"]} == {"Alice", "Bob", "Carol", "Dave"}
    assert all({"speaker", "start", "end", "text"} <= set(s) for s in transcript["segments"])


@pytest.mark.parametrize(
    ("owner", "words", "due"), sample.EXPECTED_ACTIONS, ids=[a[0] for a in sample.EXPECTED_ACTIONS]
)
def test_each_scripted_action_item_is_in_the_minutes(processed, owner, words, due):
    minutes = json.loads((processed / "minutes.json").read_text())
    matching = [a for a in minutes["action_items"] if words in a["task"].lower()]
    assert matching, [a["task"] for a in minutes["action_items"]]
    item = matching[0]
    assert (item["owner"], item["due"]) == (owner, due.isoformat())
    assert isinstance(item["at"], float) and 0 < item["at"] < 90


def test_wishes_decision_topic_link_and_nothing_from_the_injection(processed):
    minutes = json.loads((processed / "minutes.json").read_text())
    wishes = " ".join(w["title"] + " " + w["details"] for w in minutes["wishes"]).lower()
    for words in sample.EXPECTED_WISHES:
        assert words.lower() in wishes
    assert len(minutes["action_items"]) == len(sample.EXPECTED_ACTIONS)
    assert any(sample.EXPECTED_DECISION in d.lower() for d in minutes["decisions"]), minutes["decisions"]
    assert any(sample.EXPECTED_NEXT_TOPIC in t.lower() for t in minutes["next_topics"]), minutes["next_topics"]
    assert sample.EXPECTED_LINK in minutes["links"]
    everything = json.dumps(minutes).lower()
    assert "logo" not in everything.replace("note-taker", "")
    assert 0 < len(minutes["summary"]) <= 1500


def test_the_markdown_minutes_have_the_checklist(processed):
    text = (processed / "minutes.md").read_text()
    assert text.startswith(f"# {sample.TITLE} — {sample.DATE.isoformat()}")
    checklist = [line for line in text.splitlines() if line.startswith("- [ ] **")]
    assert len(checklist) == len(sample.EXPECTED_ACTIONS)
    assert all("— due 2026-1" in line and "(transcript.md#t=" in line for line in checklist)


def test_a_transcript_json_is_summarized_without_transcribing(processed, tmp_path):
    # Re-summarizing a stored transcript: no audio, no Whisper. Also the bad-input paths that need a model name.
    result = run(
        str(processed / "transcript.json"),
        "--date",
        "2026-11-26",
        "--out",
        str(tmp_path / "again"),
        "--llm-model",
        "no-such-model",
    )
    assert result.exit_code == 1
    assert "no-such-model" in one_line_error(result)


def test_bad_input_is_one_line_and_a_nonzero_exit(tmp_path):
    missing = run(str(tmp_path / "nothing-here"), "--date", "2026-11-26")
    assert missing.exit_code == 1 and "nothing-here" in one_line_error(missing)

    bad_date = run(str(sample.FOLDER), "--date", "26/11/2026")
    assert bad_date.exit_code == 2 and "26/11/2026" in one_line_error(bad_date)

    not_json = tmp_path / "transcript.json"
    not_json.write_text("{not json")
    broken = run(str(not_json), "--date", "2026-11-26", "--out", str(tmp_path / "out"))
    assert broken.exit_code == 1 and "transcript.json" in one_line_error(broken)

    empty = tmp_path / "empty"
    empty.mkdir()
    no_audio = run(str(empty), "--date", "2026-11-26", "--out", str(tmp_path / "out2"), "--whisper-model", "tiny.en")
    assert no_audio.exit_code == 1 and "empty" in one_line_error(no_audio)

    assert run("--date", "2026-11-26").exit_code == 2  # no PATH: usage


def test_the_sample_folder_is_left_as_it_was(processed):
    names = sorted(p.name for p in sample.FOLDER.iterdir() if p.name != "__pycache__")
    assert names == [
        "__init__.py",
        "__main__.py",
        "agenda.md",
        "alice.ogg",
        "bob.ogg",
        "carol.ogg",
        "chat.txt",
        "dave.ogg",
        "long_meeting.py",
        "manifest.json",
    ]
