"""`wgbot process PATH --date YYYY-MM-DD`: a recording (or a transcript.json) in, transcript and minutes out.

Writes into --out: transcript.json/.md/.vtt/.srt, minutes.json, minutes.md (short, for the forum) and
minutes-long.md (the archive version), and prints a short report. Exit codes: 0 done, 1 bad input or a model that
cannot be loaded (one line on stderr), 2 wrong usage.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from bot.cli.common import console, err_console, fail, settings

log = logging.getLogger(__name__)


def _read_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        fail(f"{what} {path}: no such file")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{what} {path}: cannot be read ({getattr(exc, 'strerror', None) or exc})")


def _date(option: str, value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        fail(f"{option} {value!r} is not a date (YYYY-MM-DD)", code=2)


def _agenda(path: Path | None) -> list[str]:
    """One agenda item per non-empty line; Markdown bullets and numbers are stripped."""
    if path is None:
        return []
    items = []
    for line in _read_text(path, "agenda file").splitlines():
        item = line.strip().lstrip("-*+•").strip()
        item = item.split(".", 1)[1].strip() if item[:1].isdigit() and "." in item[:4] else item
        if item and not item.startswith("#"):
            items.append(item)
    return items


def _load_transcript_json(path: Path):
    from transcripts.types import Transcript

    try:
        return Transcript.from_dict(json.loads(_read_text(path, "transcript")))
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        fail(f"{path}: not a transcript.json ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})")


def process(
    path: Annotated[
        Path,
        typer.Argument(
            help="a recording folder (tracks + manifest.json), one audio file, or a transcript.json to summarize again"
        ),
    ],
    date: Annotated[str, typer.Option("--date", help="the meeting's date, YYYY-MM-DD (due dates count from it)")],
    title: Annotated[
        str | None, typer.Option("--title", help="the meeting's title (default: from manifest.json)")
    ] = None,
    agenda: Annotated[
        Path | None,
        typer.Option(
            "--agenda", help="text file, one agenda item per line (default: agenda.md in the recording folder)"
        ),
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="output folder (default: ./minutes-DATE)")] = None,
    chat: Annotated[
        Path | None,
        typer.Option(
            "--chat",
            help="the call's text chat ('[17:01] Name: text' lines), for its links and #action/#agreed/… notes "
            "(default: chat.txt in the recording folder)",
        ),
    ] = None,
    next_meeting: Annotated[
        str | None,
        typer.Option(
            "--next-meeting",
            help="YYYY-MM-DD, for 'by the next meeting' (default: the next scheduled one when the database knows "
            "the schedule, else a week later)",
        ),
    ] = None,
    engine: Annotated[
        str | None, typer.Option("--engine", help="faster-whisper or openai-whisper (default: WGBOT_WHISPER_ENGINE)")
    ] = None,
    whisper_model: Annotated[
        str | None,
        typer.Option("--whisper-model", help="tiny.en, base, ... or a folder (default: WGBOT_WHISPER_MODEL)"),
    ] = None,
    llm_model: Annotated[
        str | None,
        typer.Option("--llm-model", help="a bundled name, a .gguf path or an https URL (default: WGBOT_LLM_MODEL)"),
    ] = None,
    publish: Annotated[
        bool,
        typer.Option(
            "--publish",
            help="also store the meeting in the tracker and publish it "
            "(GitHub issues, archive, forum, Discord), resuming a "
            "re-run where the last one stopped",
        ),
    ] = False,
) -> None:
    """Transcribe a meeting and write its minutes (summary, decisions, action items, wishes, links)."""
    started = time.perf_counter()
    meeting_date = _date("--date", date)
    following = _date("--next-meeting", next_meeting) if next_meeting else None
    if following is not None and following <= meeting_date:
        fail(f"--next-meeting {following} is not after --date {meeting_date}", code=2)
    if not path.exists():
        fail(f"{path}: no such file or folder")
    loaded = settings()
    models = loaded.models
    if following is None:  # "by the next meeting": the real one, when the database knows the schedule
        following = _scheduled_next_meeting(loaded, meeting_date)
    engine = engine or models.whisper_engine
    if engine not in ("faster-whisper", "openai-whisper"):
        fail(f"--engine {engine!r}: use faster-whisper or openai-whisper", code=2)
    whisper_model = whisper_model or models.whisper_model
    llm_model = llm_model or models.llm_model
    # A recording folder may carry its agenda and text chat (agenda.md, chat.txt), as the bundled sample does.
    if path.is_dir():
        agenda = agenda or (path / "agenda.md" if (path / "agenda.md").is_file() else None)
        chat = chat or (path / "chat.txt" if (path / "chat.txt").is_file() else None)
    items = _agenda(agenda)
    chat_text = _read_text(chat, "chat file") if chat else None
    out = out or Path(f"minutes-{meeting_date.isoformat()}")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        fail(f"--out {out}: cannot create the folder ({exc.strerror})")

    if publish:
        _process_and_publish(loaded, path, meeting_date, title, items, out, engine, whisper_model, llm_model)
        return

    from transcripts.errors import TranscriptionError
    from transcripts.export import write_all
    from transcripts.llm import LLMError, load_llm
    from transcripts.minutes import make_minutes
    from transcripts.minutes.chat_notes import chat_file_lines, merge_into, parse_chat
    from transcripts.model_files import ModelFileError, llm_model_path
    from transcripts.render import to_json, to_markdown_long, to_markdown_short
    from transcripts.types import Hints

    # Everything that can be checked cheaply is checked before the long work starts.
    recording = None
    transcript = None
    try:
        if path.is_file() and path.suffix.lower() == ".json":
            transcript = _load_transcript_json(path)
        else:
            from transcripts.recording import read_recording

            recording = read_recording(path)
            title = title or recording.meeting
        llm_model_path(llm_model)
    except (TranscriptionError, ModelFileError) as exc:
        fail(str(exc))
    hints = Hints(title=title, agenda=items, glossary=list(loaded.group.glossary))
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )
    try:
        with progress:
            if transcript is None:
                transcript = _transcribe(recording, hints, engine, whisper_model, models, progress)
            files = write_all(transcript, out, title=title)

            task = progress.add_task("minutes: loading the model", total=None)
            llm = load_llm(llm_model, threads=models.threads)
            llm.load_weights()

            def on_minutes(what: str, done: int, total: int) -> None:
                progress.update(task, description=f"minutes: {what}", completed=done, total=total)

            minutes = make_minutes(
                transcript,
                meeting_date=meeting_date,
                hints=hints,
                llm=llm,
                chat_text=chat_text,
                next_meeting=following,
                progress=on_minutes,
            )
    except (TranscriptionError, ModelFileError, LLMError) as exc:
        fail(str(exc))
    if chat_text:  # MeetBot-style notes (#action, #agreed, …) and links with who posted them, as typed
        notes = parse_chat(
            chat_file_lines(chat_text),
            meeting_date=meeting_date,
            next_meeting=following,
            names=transcript.speakers,
            transcript=transcript.segments,
        )
        minutes = merge_into(minutes, notes)
    (out / "minutes.json").write_text(to_json(minutes), encoding="utf-8")
    (out / "minutes.md").write_text(to_markdown_short(minutes, title=title, date=meeting_date), encoding="utf-8")
    (out / "minutes-long.md").write_text(to_markdown_long(minutes, title=title, date=meeting_date), encoding="utf-8")
    _report(minutes, transcript, out, time.perf_counter() - started, llm.name, len(files))


def _scheduled_next_meeting(loaded, day: dt.date) -> dt.date | None:
    """The group's next meeting after `day` (skips and reschedules counted) from the configured database, if there
    is one that knows the schedule; None otherwise (the minutes then take a week later)."""
    from sqlalchemy.engine import make_url
    from sqlmodel import col, select

    from tracker import followthrough
    from tracker.db import Database
    from tracker.models import WorkingGroup

    url = loaded.storage.url
    if url.startswith("sqlite") and not Path(make_url(url).database or "").is_file():
        return None
    db = Database(url)
    try:
        with db.session() as session:
            group = session.exec(select(WorkingGroup).order_by(col(WorkingGroup.id))).first()
            return followthrough.next_meeting_on(session, group, day) if group else None
    except Exception as exc:  # unreachable or not set up: the minutes do without it
        log.info("no schedule from the database (%s): the next meeting is taken to be a week later", exc)
        return None
    finally:
        db.dispose()


def _process_and_publish(
    loaded,
    path: Path,
    day: dt.date,
    title: str | None,
    agenda: list[str],
    out: Path,
    engine: str,
    whisper_model: str,
    llm_model: str,
) -> None:
    """`--publish`: the meeting pipeline itself (tracker/pipeline.py), as the bot runs it: every step stored as it
    finishes, so a re-run after a crash resumes from the last finished step and publishes nothing twice."""
    from bot.cli.common import database
    from tracker import pipeline
    from tracker.models import Meeting, MeetingState
    from transcripts.export import write_all
    from transcripts.render import to_json, to_markdown_long, to_markdown_short

    loaded.models.whisper_engine, loaded.models.whisper_model, loaded.models.llm_model = (
        engine,
        whisper_model,
        llm_model,
    )
    db = database(loaded)
    started = time.perf_counter()
    try:
        meeting_id = pipeline.meeting_for_recording(db, loaded, path, day, title, agenda)
        pipeline.retry(db, meeting_id)
        with console.status("processing") as status:
            state = pipeline.run(db, loaded, meeting_id, progress=lambda what: status.update(what))
    except pipeline.PipelineError as exc:
        fail(f"meeting {meeting_id}: {exc} (run the same command again to resume)")
    with db.session() as session:
        transcript = pipeline.load_transcript(session, meeting_id)
        minutes = pipeline.load_minutes(session, meeting_id)
        meeting = session.get(Meeting, meeting_id)
    if meeting is None:
        fail(f"meeting {meeting_id} is no longer in the database")
    files = write_all(transcript, out, title=meeting.title)
    (out / "minutes.json").write_text(to_json(minutes), encoding="utf-8")
    (out / "minutes.md").write_text(to_markdown_short(minutes, title=meeting.title, date=day), encoding="utf-8")
    (out / "minutes-long.md").write_text(to_markdown_long(minutes, title=meeting.title, date=day), encoding="utf-8")
    _report(minutes, transcript, out, time.perf_counter() - started, llm_model, len(files))
    if state != MeetingState.published:
        err_console.print(
            f"meeting {meeting_id} is {state.value}: what could not be published yet is retried by "
            "`wgbot publish` (see `wgbot publish --status`)"
        )
    else:
        console.print(f"meeting {meeting_id} published")


def _transcribe(recording, hints, engine: str, whisper_model: str, models, progress: Progress):
    from transcripts.transcribe import transcribe_recording

    task = progress.add_task("transcribing", total=None)
    tracks: dict[str, tuple[float, float]] = {}

    def on_track(event) -> None:
        tracks[event.track] = (event.done, event.total or event.done)
        done = sum(d for d, _ in tracks.values())
        total = sum(t for _, t in tracks.values()) or None
        progress.update(task, description=f"transcribing {event.speaker}", completed=done, total=total)

    transcript = transcribe_recording(
        recording,
        hints=hints,
        engine=engine,
        model=whisper_model,
        language=models.language,
        compute_type=models.whisper_compute_type,
        threads=models.threads,
        progress=on_track,
    )
    progress.update(task, description="transcribed")
    return transcript


def _report(minutes, transcript, out: Path, seconds: float, model: str, transcript_files: int) -> None:
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_row("speakers", ", ".join(transcript.speakers) or "-")
    table.add_row("segments", str(len(transcript.segments)))
    table.add_row("decisions", str(len(minutes.decisions)))
    table.add_row("action items", str(len(minutes.action_items)))
    table.add_row("wishes", str(len(minutes.wishes)))
    table.add_row("links", str(len(minutes.links)))
    table.add_row("model", model)
    table.add_row("time", f"{seconds:.0f} s")
    console.print(table)
    for item in minutes.action_items:
        due = f" (due {item.due})" if item.due else ""
        console.print(f"  [ ] {item.owner}: {item.task}{due}", highlight=False)
    for note in minutes.notes + list(transcript.warnings):
        console.print(f"[yellow]note:[/] {note}", highlight=False)
    console.print(
        f"minutes written to {out}/ (minutes.md, minutes-long.md, minutes.json and "
        f"{transcript_files} transcript files)",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    app.command("process")(process)
