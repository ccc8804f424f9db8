"""The per-meeting state machine: recorded → transcribed → summarized → published.

Each step reads what the previous one stored, does its work, and stores its result together with the new state
in one transaction, so a crash at any point leaves the meeting in its last finished state and running the
pipeline again resumes from there. The same code runs in `wgbot process --publish`, in the bot, in the local
process pool and in Procrastinate workers (tracker/tasks.py).
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import json
import logging
import multiprocessing
from collections.abc import Callable
from pathlib import Path

from sqlmodel import Session, col, select

from tracker import chat, followthrough, optout
from tracker.config import Settings
from tracker.db import Database
from tracker.models import (
    AgendaItem,
    Meeting,
    MeetingState,
    MinutesRecord,
    Publication,
    ReviewState,
    TranscriptSegment,
    WorkingGroup,
    saved_id,
    utcnow,
)
from tracker.recording_files import LIVE_TRANSCRIPT, MINUTES_CACHE

log = logging.getLogger(__name__)

Progress = Callable[[str], None]
NO_SPEECH_SUMMARY = "No speech was recorded in this meeting."


class PipelineError(RuntimeError):
    """A step failed; the meeting is marked failed with this message and can be resumed with `retry`."""


def _hints(settings: Settings, meeting: Meeting, session: Session, speakers: list[str]):
    from tracker.recordings import agenda_topics
    from transcripts.types import Hints

    # The live transcriber got the same title and agenda (bot/exts/recording.py): its read-ahead answers then match.
    return Hints(
        title=meeting.title,
        agenda=agenda_topics(session, saved_id(meeting)),
        speakers=speakers,
        group_name=settings.group.name,
        glossary=list(settings.group.glossary),
    )


def _meeting(session: Session, meeting_id: int) -> Meeting:
    meeting = session.get(Meeting, meeting_id)
    if meeting is None:
        raise PipelineError(f"meeting {meeting_id} does not exist")
    return meeting


def _set_state(session: Session, meeting: Meeting, state: MeetingState, reason: str | None = None) -> None:
    meeting.state = state
    meeting.state_reason = reason
    meeting.updated_at = utcnow()
    session.add(meeting)


def mark_recorded(db: Database, meeting_id: int, recording_dir: Path, ended_at: dt.datetime | None = None) -> None:
    """recording → recorded (also for a recording made elsewhere and handed to `wgbot process --publish`)."""
    with db.session() as session:
        meeting = _meeting(session, meeting_id)
        meeting.recording_dir = str(recording_dir)
        meeting.ended_at = meeting.ended_at or ended_at or utcnow()
        if meeting.state in (MeetingState.scheduled, MeetingState.recording):
            _set_state(session, meeting, MeetingState.recorded)


def resume_state(session: Session, meeting: Meeting) -> MeetingState:
    """The last finished step of a meeting, from what is stored: where a failed meeting resumes."""
    if session.exec(select(MinutesRecord.id).where(MinutesRecord.meeting_id == meeting.id)).first():
        return MeetingState.summarized
    if session.exec(select(TranscriptSegment.id).where(TranscriptSegment.meeting_id == meeting.id)).first():
        return MeetingState.transcribed
    return MeetingState.recorded if meeting.recording_dir else MeetingState.scheduled


def retry(db: Database, meeting_id: int) -> MeetingState:
    """Put a failed meeting back in its last finished state, so `run` continues from there."""
    with db.session() as session:
        meeting = _meeting(session, meeting_id)
        if meeting.state == MeetingState.failed:
            _set_state(session, meeting, resume_state(session, meeting))
        return meeting.state


# ---- the steps -----------------------------------------------------------------------------------------------


def transcribe_step(db: Database, settings: Settings, meeting_id: int, progress: Progress | None = None) -> int:
    """recorded → transcribed. Takes the live transcript when the call's live transcription completed."""
    from tracker.minutes_store import save_transcript
    from transcripts.llm import unload_llms
    from transcripts.recording import read_recording
    from transcripts.types import Transcript

    with db.session() as session:
        meeting = _meeting(session, meeting_id)
        folder = Path(meeting.recording_dir or "")
        recording = read_recording(folder)
        hints = _hints(settings, meeting, session, [t.speaker for t in recording.tracks])
    live = folder / LIVE_TRANSCRIPT
    opted_out = optout.load(folder) if folder.is_dir() else []
    if folder.is_dir() and live.exists():
        transcript = Transcript.from_dict(json.loads(live.read_text()))
        log.info("meeting %s: the live transcript is complete (%d segments)", meeting_id, len(transcript.segments))
        transcript, removed = optout.scrub_transcript(transcript, opted_out)
        if removed:
            # Someone opted out after the live worker had their lines: answers read ahead may quote them.
            (folder / MINUTES_CACHE).unlink(missing_ok=True)
            log.info("meeting %s: %d line(s) of people who opted out removed", meeting_id, removed)
    else:
        m = settings.models
        if progress:
            progress(f"transcribing {len(recording.tracks)} track(s)")
        # Whisper (in its own process) and the summary model are never held at once: together they need more memory
        # than a small host has. The summary model is loaded again for the minutes (seconds, against minutes here).
        unload_llms()
        transcript = transcribe_files(
            folder,
            hints=hints,
            engine=m.whisper_engine,
            model=m.whisper_model,
            language=m.language,
            compute_type=m.whisper_compute_type,
            threads=m.threads,
        )
        transcript, _ = optout.scrub_transcript(transcript, opted_out)  # their tracks are deleted; to be sure
    with db.session() as session:
        meeting = _meeting(session, meeting_id)
        if meeting.state != MeetingState.recorded:
            return 0  # another worker got here first
        save_transcript(session, meeting, transcript)
        _set_state(session, meeting, MeetingState.transcribed)
    # The same transcript files `wgbot process` writes (JSON, Markdown, WebVTT, SRT), in the data folder.
    followthrough.export_transcript(settings.storage.data_dir, meeting, transcript)
    return len(transcript.segments)


def transcribe_files(folder: Path, **options):
    """`transcripts.transcribe.transcribe_recording(folder, **options)` in a process of its own. All the memory
    transcription takes (the model, CTranslate2's and ONNX Runtime's pools, a heap left in pieces) goes with that
    process: the pipeline's, long-lived in the bot, never grows by it, and the summary model loads into a process
    that holds nothing of Whisper's."""
    from transcripts import runtime
    from transcripts.transcribe import transcribe_recording

    context = multiprocessing.get_context("spawn")  # no fork of the bot's threads and event loop
    with concurrent.futures.ProcessPoolExecutor(
        1, mp_context=context, initializer=runtime.use, initargs=(runtime.current(),)
    ) as pool:
        return pool.submit(transcribe_recording, folder, **options).result()


def load_transcript(session: Session, meeting_id: int):
    from transcripts.types import Segment, Transcript

    rows = session.exec(
        select(TranscriptSegment)
        .where(TranscriptSegment.meeting_id == meeting_id)
        .order_by(col(TranscriptSegment.start), col(TranscriptSegment.id))
    ).all()
    return Transcript(
        segments=[Segment(r.speaker, r.start, r.end, r.text, r.track) for r in rows],
        duration=max((r.end for r in rows), default=0.0),
    )


def summarize_step(db: Database, settings: Settings, meeting_id: int, progress: Progress | None = None) -> int:
    """transcribed → summarized: minutes and, in the same transaction, the outbox rows that publish them — or, when
    the group reviews items first, no rows and the meeting held for review (tracker/review.py)."""
    from tracker.minutes_store import Targets
    from transcripts.answer_cache import AnswerCache
    from transcripts.minutes import make_minutes
    from transcripts.minutes.chat_notes import ChatLine, merge_into, parse_chat
    from transcripts.types import Minutes

    with db.session() as session:
        meeting = _meeting(session, meeting_id)
        opted_out = optout.load(meeting.recording_dir) if meeting.recording_dir else []
        if opted_out:  # someone opted out after their lines were stored: they go before the minutes are written
            for row in session.exec(select(TranscriptSegment).where(TranscriptSegment.meeting_id == meeting_id)):
                if optout.is_theirs(opted_out, speaker=row.speaker, track=row.track):
                    session.delete(row)
            chat.forget_in_meeting(session, meeting_id, [e.user_id for e in opted_out])  # and what they typed
            session.flush()
        transcript = load_transcript(session, meeting_id)
        hints = _hints(settings, meeting, session, transcript.speakers)
        day = meeting.scheduled_start.date()
        group = session.get(WorkingGroup, meeting.group_id)
        targets = Targets.resolve(group, settings)
        folder = Path(meeting.recording_dir) if meeting.recording_dir else None
        # The call's chat, and the real next meeting for "by the next meeting" (skips and reschedules counted).
        chat_lines = chat.chat_lines(session, meeting_id)
        next_day = followthrough.next_meeting_date(session, meeting)
        names = list(dict.fromkeys(transcript.speakers + followthrough.member_names(session)))
    notes = parse_chat(chat_lines, meeting_date=day, next_meeting=next_day, names=names, transcript=transcript.segments)
    if transcript.segments:
        if progress:
            progress("writing the minutes")
        cache = AnswerCache(folder / MINUTES_CACHE) if folder and folder.is_dir() else None
        minutes = make_minutes(
            transcript,
            meeting_date=day,
            hints=hints,
            llm=settings.models.llm_model,
            cache=cache,
            chat_text="\n".join(line.text for line in chat_lines) or None,
            next_meeting=next_day,
        )
        minutes = merge_into(minutes, notes)
        minutes = optout.scrub_minutes(minutes, opted_out)
    else:
        # Nothing to file and nothing to archive: a short note in the channel says so.
        minutes = Minutes(summary=NO_SPEECH_SUMMARY, notes=["No speech was recorded."])
        targets = Targets(discord_channel_id=targets.discord_channel_id)
    # What the recorder could not hear (its receive watchdog's gaps) is said in the minutes, not left as silence.
    minutes.notes = [*minutes.notes, *(f"Recording: {note}." for note in _gap_notes(folder))]
    with db.session() as session:
        meeting = _meeting(session, meeting_id)
        if meeting.state != MeetingState.transcribed:
            return 0
        # Open items of earlier meetings reported done in this one: listed, marked done, their issues closed.
        spoken = [ChatLine(seg.speaker, seg.start, seg.text) for seg in transcript.segments]
        reports = followthrough.find_done_reports(session, meeting, spoken, notes.done)
        minutes = followthrough.with_done_section(session, minutes, reports)
        stored = store_summary(session, meeting, minutes, targets, settings)
        for item in followthrough.mark_reported_done(session, meeting, reports):
            if meeting.review_state != ReviewState.pending:  # held for review: closed once the organizers decide
                followthrough.enqueue_issue_close(session, item)
        _set_state(session, meeting, MeetingState.summarized)
    return len(stored.publication_keys)


def _gap_notes(folder: Path | None) -> list[str]:
    from transcripts.errors import RecordingError
    from transcripts.recording import read_recording

    if folder is None or not folder.is_dir():
        return []
    try:
        return read_recording(folder).gap_notes
    except RecordingError:
        return []


def store_summary(session: Session, meeting: Meeting, minutes, targets, settings: Settings):
    """The minutes and their outbox rows (inside the caller's transaction). When the group reviews items first and
    there are items, no rows are created and the meeting is held for review instead (tracker/review.py)."""
    from tracker import review
    from tracker.minutes_store import Targets, save_minutes

    held = review.needs_review(
        session.get(WorkingGroup, meeting.group_id), len(minutes.action_items), len(minutes.wishes)
    )
    stored = save_minutes(
        session, meeting, minutes, targets=Targets() if held else targets, model=settings.models.llm_model
    )
    _link_speakers(session, meeting)
    if held:
        review.hold(session, meeting, settings)
    return stored


def _link_speakers(session: Session, meeting: Meeting) -> None:
    """Items are owned by the Discord account whose track said the owner's name, not by display names (which anyone
    can take). Only a recording made by the bot knows the accounts; a folder without them keeps what the names
    gave (`wgbot process --publish`: the organizer's own recording)."""
    from tracker import members
    from transcripts.recording import RecordingError, read_recording

    folder = Path(meeting.recording_dir) if meeting.recording_dir else None
    if folder is None or not folder.is_dir():
        return
    try:
        tracks = read_recording(folder).tracks
    except RecordingError:
        return
    speakers = {t.speaker: t.user_id for t in tracks if t.user_id}
    if speakers:
        members.link_speakers(session, saved_id(meeting), speakers)


def publish_step(db: Database, settings: Settings, meeting_id: int, progress: Progress | None = None) -> MeetingState:
    """summarized → published: drain the outbox (the publisher marks the meeting published when its rows are done).
    A meeting held for review waits, untouched, until an organizer approves or its deadline passes."""
    from tracker import review
    from tracker.publishing.lock import PublisherBusy
    from tracker.publishing.outbox import Publisher, owned

    with db.session() as session:
        review.expire_due(session, utcnow(), settings)
        meeting = _meeting(session, meeting_id)
        if meeting.review_state == ReviewState.pending:
            log.info("meeting %s: waiting for the organizers' review (until %s)", meeting_id, meeting.review_deadline)
            return meeting.state
    if progress:
        progress("publishing")
    try:
        # Due rows are attempted now; retries are left to the background publisher or `wgbot publish`.
        Publisher(db, settings).drain(lock_timeout=60)
    except PublisherBusy:
        log.info("meeting %s: another publisher is draining; it will publish this meeting", meeting_id)
    with db.session() as session:
        meeting = _meeting(session, meeting_id)
        rows = session.exec(select(Publication).where(Publication.meeting_id == meeting_id)).all()
        nothing_to_publish = not any(owned(row) for row in rows)  # the agenda/reminder records are not ours
        if meeting.state == MeetingState.summarized and nothing_to_publish:
            _set_state(session, meeting, MeetingState.published)  # no destination configured
        return meeting.state


STEPS = {
    MeetingState.recorded: transcribe_step,
    MeetingState.transcribed: summarize_step,
    MeetingState.summarized: publish_step,
}


def run(
    db: Database,
    settings: Settings,
    meeting_id: int,
    *,
    publish: bool = True,
    progress: Progress | None = None,
) -> MeetingState:
    """Advance the meeting as far as it goes. Raises PipelineError (after marking the meeting failed) on a failure."""
    while True:
        with db.session() as session:
            meeting = session.get(Meeting, meeting_id)
            if meeting is None:
                raise PipelineError(f"meeting {meeting_id} does not exist")
            state = meeting.state
        if state not in STEPS or (state == MeetingState.summarized and not publish):
            return state
        step = STEPS[state]
        try:
            step(db, settings, meeting_id, progress)
        except Exception as exc:
            reason = f"{step.__name__.removesuffix('_step')} failed: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
            log.exception("meeting %s: %s", meeting_id, reason)
            with db.session() as session:
                _set_state(session, _meeting(session, meeting_id), MeetingState.failed, reason)
            raise PipelineError(reason) from exc
        with db.session() as session:
            if _meeting(session, meeting_id).state == state:
                return state  # the step could not finish now (e.g. publishing waits for a retry)


def load_minutes(session: Session, meeting_id: int):
    """The stored minutes of a meeting as `transcripts.types.Minutes` (items as they are now: edits included)."""
    from tracker.models import ActionItem, ItemStatus, Link, WishlistEntry
    from transcripts.types import ActionItem as Action
    from transcripts.types import Minutes, Wish

    record = session.exec(select(MinutesRecord).where(MinutesRecord.meeting_id == meeting_id)).first()
    if record is None:
        return None
    actions = session.exec(
        select(ActionItem)
        .where(ActionItem.meeting_id == meeting_id, ActionItem.status != ItemStatus.dropped)
        .order_by(col(ActionItem.id))
    )
    wishes = session.exec(
        select(WishlistEntry)
        .where(WishlistEntry.meeting_id == meeting_id, WishlistEntry.status != ItemStatus.dropped)
        .order_by(col(WishlistEntry.id))
    )
    links = session.exec(select(Link.url).where(Link.meeting_id == meeting_id).order_by(col(Link.id)))
    return Minutes(
        summary=record.summary,
        long_summary=record.long_summary,
        decisions=list(record.decisions),
        action_items=[
            Action(owner=a.owner_name, task=a.task, due=a.due, at=a.at or 0.0, excerpt=a.excerpt or "") for a in actions
        ],
        wishes=[Wish(title=w.title, details=w.details, at=w.at or 0.0, excerpt=w.excerpt or "") for w in wishes],
        links=list(links),
        next_topics=list(record.next_topics),
        notes=list(record.notes),
    )


def meeting_for_recording(
    db: Database, settings: Settings, folder: Path, day: dt.date, title: str | None, agenda: list[str]
) -> int:
    """The meeting a recording handed to `wgbot process --publish` belongs to: the one already made for this folder
    (a re-run resumes it), else the series occurrence on `day`, else a new ad-hoc meeting on that day."""
    from tracker import schedule

    folder = folder.resolve()
    with db.session() as session:
        group = schedule.ensure_group(session, settings)
        meeting = session.exec(select(Meeting).where(Meeting.recording_dir == str(folder))).first()
        if meeting is None:
            try:
                occurrence = schedule.occurrence_on(session, group, day)
                meeting = schedule.meeting_for(session, group, occurrence)
                if meeting.recording_dir and Path(meeting.recording_dir) != folder:
                    meeting = None  # that occurrence already has its own recording: this one is another meeting
            except schedule.ScheduleError:
                meeting = None
        if meeting is None:
            start = dt.datetime.combine(day, group.start_time, tzinfo=dt.UTC)
            meeting = Meeting(
                group_id=saved_id(group),
                scheduled_start=start,
                duration_minutes=group.duration_minutes,
                title=group.title,
            )
            session.add(meeting)
            session.flush()
        if title:
            meeting.title = title
        known = set(session.exec(select(AgendaItem.topic).where(AgendaItem.meeting_id == meeting.id)).all())
        for topic in agenda:
            if topic not in known:
                session.add(AgendaItem(meeting_id=saved_id(meeting), topic=topic))
        session.add(meeting)
        meeting_id = saved_id(meeting)
    mark_recorded(db, meeting_id, folder)
    return meeting_id
