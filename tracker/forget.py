"""Forgetting a person (`/forget-me`, `wgbot forget MEMBER`): their audio and transcript lines go from every meeting,
the search index and every page wgbot serves; what was already published is edited through the outbox, once.

Who: a Discord user id, a mention (`<@123>`) or a speaker name as the transcripts show it (`resolve`). Their speaker
labels are those of the tracks their account recorded (the manifests know the account) and of the lines the tracker
tied to their member.

What changes (`forget`), in one transaction, then on disk:
- transcript lines and call-chat messages of theirs: deleted; the search index is rebuilt for those meetings and their own texts dropped;
- action items they owned: stay, unassigned, without their words (excerpts lose their lines); wishes lose their lines;
- the minutes' prose (written by the model from the whole call): their name is replaced by "a participant" — what
  they said may still be paraphrased there, and the report says so;
- recording folders: their tracks deleted and dropped from the manifest, their lines removed from the live transcript,
  the minutes' answer cache deleted, and `opted_out.json` notes them so no later step brings them back;
- published texts that showed any of it (archive README and transcript, issues, forum post, Discord minutes) are
  queued to be re-rendered in place through the outbox: each edit is a done row set pending again, done once.

What cannot be changed is listed in the report: the repository's history (earlier commits of the archive), the edit
histories GitHub and Discourse keep, a "raised again" comment on someone else's issue, and anything people copied.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import ColumnElement
from sqlmodel import Session, col, func, or_, select

from tracker import members, optout, search
from tracker.db import Database
from tracker.live import scrub_files
from tracker.models import (
    ActionItem,
    ChatMessage,
    Meeting,
    MeetingState,
    Member,
    MinutesRecord,
    Publication,
    PublicationKind,
    PublicationState,
    TranscriptSegment,
    WishlistEntry,
    saved_id,
    utcnow,
)
from tracker.publishing.outbox import owned, republish
from transcripts.errors import UserError
from transcripts.recording import MANIFEST_NAME

log = logging.getLogger(__name__)

REPLACEMENT = "a participant"
FORGOTTEN_NAME = "(forgotten member)"
_MENTION = re.compile(r"<@!?(\d+)>|(\d+)")


class ForgetError(UserError, ValueError):
    """A forget request that cannot be honoured; the message is fit to show the user."""


@dataclass(frozen=True)
class Person:
    discord_id: int | None
    member_id: int | None
    speakers: frozenset[str]

    @property
    def label(self) -> str:
        names = ", ".join(sorted(self.speakers)) or "no speaker name"
        return f"{names} (Discord {self.discord_id})" if self.discord_id else names


@dataclass
class Published:
    meeting_id: int | None
    kind: str
    where: str
    note: str = ""


@dataclass
class ForgetReport:
    person: Person
    meetings: list[int] = field(default_factory=list)
    lines: int = 0
    chat_messages: int = 0
    audio_files: list[str] = field(default_factory=list)
    items_unassigned: int = 0
    search_texts: int = 0
    edits: list[Published] = field(default_factory=list)  # queued in the outbox
    unchanged: list[Published] = field(default_factory=list)  # published, and wgbot cannot change it
    notes: list[str] = field(default_factory=list)

    def lines_of_text(self) -> list[str]:
        out = [
            f"{self.person.label}: {self.lines} transcript line(s) and {self.chat_messages} chat message(s) in "
            f"{len(self.meetings)} meeting(s), "
            f"{len(self.audio_files)} audio file(s), {self.items_unassigned} action item(s) unassigned, "
            f"{self.search_texts} search text(s)."
        ]
        out += [f"edit: {p.kind} of meeting {p.meeting_id}: {p.where}" for p in self.edits]
        out += [f"cannot change: {p.kind} of meeting {p.meeting_id}: {p.where} ({p.note})" for p in self.unchanged]
        out += self.notes
        return out


# ---- who -------------------------------------------------------------------------------------------------------


def _manifest_tracks(folder: Path) -> list[dict]:
    try:
        return list(json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8")).get("tracks", []))
    except (OSError, ValueError, AttributeError):
        return []


def _folders(session: Session) -> list[tuple[int, Path]]:
    rows = session.exec(select(Meeting.id, Meeting.recording_dir).where(col(Meeting.recording_dir).is_not(None)))
    return [(mid, Path(d)) for mid, d in rows if mid is not None and d and Path(d).is_dir()]


def resolve(session: Session, spec: str) -> Person:
    """The person `spec` names: a Discord user id, a mention, or a speaker name from the transcripts."""
    spec = (spec or "").strip()
    if not spec:
        raise ForgetError("say who: a Discord user id, a mention, or a speaker name as the transcripts show it")
    match = _MENTION.fullmatch(spec)
    speakers: set[str] = set()
    if match:
        discord_id = int(match.group(1) or match.group(2))
        member = members.find(session, discord_id)
        for _, folder in _folders(session):
            speakers |= {t["speaker"] for t in _manifest_tracks(folder) if str(t.get("user_id")) == str(discord_id)}
        if member is not None:
            speakers |= set(
                session.exec(select(TranscriptSegment.speaker).where(TranscriptSegment.member_id == member.id)).all()
            )
        if member is None and not speakers:
            raise ForgetError(f"no member with Discord id {discord_id} and no recording of them")
        return Person(discord_id, member.id if member else None, frozenset(speakers))
    speakers = set(
        session.exec(
            select(TranscriptSegment.speaker).where(func.lower(TranscriptSegment.speaker) == spec.casefold())
        ).all()
    )
    for _, folder in _folders(session):
        speakers |= {
            t["speaker"] for t in _manifest_tracks(folder) if str(t.get("speaker", "")).casefold() == spec.casefold()
        }
    if not speakers:
        raise ForgetError(f"nobody is called {spec!r} in any transcript or recording")
    ids = {
        i
        for i in session.exec(
            select(TranscriptSegment.member_id).where(col(TranscriptSegment.speaker).in_(speakers))
        ).all()
        if i is not None
    }
    member = session.get(Member, ids.pop()) if len(ids) == 1 else None
    return Person(member.discord_id if member else None, member.id if member else None, frozenset(speakers))


# ---- what ------------------------------------------------------------------------------------------------------


def _theirs_line(person: Person, line: str) -> bool:
    who = line.split(":", 1)[0].strip().casefold()
    return ":" in line and who in {s.casefold() for s in person.speakers}


def _without_their_lines(person: Person, text: str | None) -> str | None:
    if not text:
        return text
    kept = [line for line in text.splitlines() if not _theirs_line(person, line)]
    return "\n".join(kept) or None


def _replace_names(person: Person, text: str) -> str:
    for name in sorted(person.speakers, key=len, reverse=True):
        text = re.sub(rf"(?<!\w){re.escape(name)}(?!\w)", REPLACEMENT, text, flags=re.IGNORECASE)
    return text


def _segments(session: Session, person: Person) -> list[TranscriptSegment]:
    conditions: list[ColumnElement[bool]] = (
        [col(TranscriptSegment.speaker).in_(person.speakers)] if person.speakers else []
    )
    if person.member_id is not None:
        conditions.append(col(TranscriptSegment.member_id) == person.member_id)
    if not conditions:
        return []
    return list(session.exec(select(TranscriptSegment).where(or_(*conditions))))


def _items(session: Session, person: Person) -> list[ActionItem]:
    names = [s.casefold() for s in person.speakers]
    conditions: list[ColumnElement[bool]] = [func.lower(ActionItem.owner_name).in_(names)] if names else []
    if person.member_id is not None:
        conditions.append(col(ActionItem.owner_id) == person.member_id)
    excerpts = [col(ActionItem.excerpt).contains(f"{s}:") for s in person.speakers]
    return list(session.exec(select(ActionItem).where(or_(*conditions, *excerpts)))) if conditions or excerpts else []


def _scrub_db(session: Session, person: Person, report: ForgetReport) -> set[int]:
    """Everything of theirs in the database; returns the meetings whose published texts changed."""
    changed: set[int] = set()
    for segment in _segments(session, person):
        changed.add(segment.meeting_id)
        session.delete(segment)
        report.lines += 1
    chat = []
    if person.discord_id is not None:
        chat.append(ChatMessage.author_discord_id == person.discord_id)
    if person.member_id is not None:
        chat.append(ChatMessage.member_id == person.member_id)
    for message in session.exec(select(ChatMessage).where(or_(*chat))) if chat else []:
        changed.add(message.meeting_id)
        session.delete(message)
        report.chat_messages += 1
    changed_items: list[tuple[PublicationKind, int]] = []
    for item in _items(session, person):
        owner = item.owner_id == person.member_id and person.member_id is not None
        owner = owner or item.owner_name.casefold() in {s.casefold() for s in person.speakers}
        excerpt = _without_their_lines(person, item.excerpt)
        if owner:
            item.owner_name, item.owner_id = optout.UNASSIGNED, None
            report.items_unassigned += 1
        if owner or excerpt != item.excerpt:
            item.excerpt = excerpt
            item.updated_at = utcnow()
            session.add(item)
            changed_items.append((PublicationKind.action_issue, saved_id(item)))
            if item.meeting_id is not None:
                changed.add(item.meeting_id)
    for wish in session.exec(select(WishlistEntry).where(col(WishlistEntry.excerpt).is_not(None))):
        excerpt = _without_their_lines(person, wish.excerpt)
        if excerpt != wish.excerpt:
            wish.excerpt = excerpt
            session.add(wish)
            changed_items.append((PublicationKind.wish_issue, saved_id(wish)))
            if wish.meeting_id is not None:
                changed.add(wish.meeting_id)
    if person.member_id is not None:
        for wish in session.exec(select(WishlistEntry).where(WishlistEntry.added_by_id == person.member_id)):
            wish.added_by_id = None
            session.add(wish)
    for record in session.exec(select(MinutesRecord).where(col(MinutesRecord.meeting_id).in_(changed or {-1}))):
        texts = [record.summary, record.long_summary, *record.decisions, *record.next_topics, *record.notes]
        replaced = [_replace_names(person, t) for t in texts]
        if replaced != texts:
            n_dec, n_next = len(record.decisions), len(record.next_topics)
            record.summary, record.long_summary = replaced[0], replaced[1]
            record.decisions = replaced[2 : 2 + n_dec]
            record.next_topics = replaced[2 + n_dec : 2 + n_dec + n_next]
            record.notes = replaced[2 + n_dec + n_next :]
            session.add(record)
    if person.member_id is not None:
        member = session.get(Member, person.member_id)
        if member is not None:
            member.display_name, member.github_login = FORGOTTEN_NAME, None
            member.updated_at = utcnow()
            session.add(member)
    session.flush()
    report.search_texts += search.forget_person(session, member_id=person.member_id, discord_id=person.discord_id)
    for name in person.speakers:
        report.search_texts += search.forget_person(session, name=name)
    for meeting_id in sorted(changed):
        search.index_meeting(session, meeting_id)
    report.meetings = sorted(changed)
    _queue_edits(session, changed, changed_items, report)
    return changed


def _queue_edits(
    session: Session, meetings: set[int], items: list[tuple[PublicationKind, int]], report: ForgetReport
) -> None:
    """Published texts that showed their words are re-rendered in place: each done row set pending once."""
    item_rows = {(kind, subject) for kind, subject in items}
    rows = session.exec(
        select(Publication).where(
            Publication.state == PublicationState.done,
            or_(
                col(Publication.meeting_id).in_(meetings or {-1}),
                col(Publication.subject_id).in_([s for _, s in items] or [-1]),
            ),
        )
    ).all()
    to_edit = []
    for row in rows:
        if not owned(row):
            continue  # the agenda and reminder messages: the bot's own announcements, not the minutes
        where = row.external_url or row.external_id or row.target
        if row.kind in (PublicationKind.action_issue, PublicationKind.wish_issue):
            if (row.kind, row.subject_id) not in item_rows:
                continue  # nothing of theirs in it
            if row.kind == PublicationKind.wish_issue and (row.external_id or "").startswith("comment:"):
                report.unchanged.append(
                    Published(row.meeting_id, "wish-list comment", where, "a comment on an issue wgbot does not own")
                )
                continue
        to_edit.append(row)
        report.edits.append(Published(row.meeting_id, row.kind.value, where))
    republish(session, to_edit)
    if any(p.kind == PublicationKind.archive.value for p in report.edits):
        report.unchanged.append(
            Published(None, "repository history", "earlier commits of the archive", "needs a history rewrite")
        )
    if report.edits:
        report.notes.append(
            "GitHub and Discourse keep an edit history of issues and posts that their readers can open; Discord does "
            "not. Copies people made, quotes and replies are not wgbot's to change."
        )
    if report.meetings:
        report.notes.append(
            f"The minutes' summaries were written from the whole call: their name is replaced by {REPLACEMENT!r}, "
            "but what they said may still be paraphrased there."
        )


def _remove_from_folder(folder: Path, person: Person, *, dry_run: bool = False) -> list[str]:
    """Their tracks deleted and dropped from the manifest, their lines gone from the live transcript, the answer
    cache deleted, and `opted_out.json` noting them; returns the audio files (that were) there."""
    tracks = _manifest_tracks(folder)
    theirs = [
        t
        for t in tracks
        if (person.discord_id is not None and str(t.get("user_id")) == str(person.discord_id))
        or t.get("speaker") in person.speakers
    ]
    files = [f for t in theirs for f in ([t["file"]] if isinstance(t["file"], str) else t["file"])]
    present = [str(folder / f) for f in files if (folder / f).exists()]
    if dry_run:
        return present
    if theirs or any((folder / n).exists() for n in ("transcript.live.jsonl", "transcript.live.json")):
        optout.record(
            folder,
            person.discord_id if person.discord_id is not None else f"speaker:{sorted(person.speakers)}",
            speakers=person.speakers | {t["speaker"] for t in theirs},
            tracks=files,
        )
        scrub_files(folder, {Path(f).stem for f in files}, set(person.speakers))
    if theirs:
        for name in files:
            (folder / name).unlink(missing_ok=True)
        data = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
        data["tracks"] = [t for t in tracks if t not in theirs]
        optout.write_private(folder / MANIFEST_NAME, json.dumps(data, indent=2) + "\n")
    return present


def _scrub_folders(session: Session, person: Person, report: ForgetReport, dry_run: bool) -> None:
    for _meeting_id, folder in _folders(session):
        report.audio_files += _remove_from_folder(folder, person, dry_run=dry_run)


def opt_out_of_unfinished(session: Session, discord_id: int) -> list[int]:
    """`/record optout` after a call whose minutes are not written yet: the person goes from that meeting before
    anything of it is stored or published — their tracks now, their lines at the pipeline's next step (which reads
    `opted_out.json`). Returns the meetings concerned."""
    unfinished = (MeetingState.recorded, MeetingState.transcribed)
    meetings = session.exec(
        select(Meeting).where(col(Meeting.state).in_(unfinished), col(Meeting.recording_dir).is_not(None))
    ).all()
    touched = []
    for meeting in meetings:
        if meeting.recording_dir is None:  # not selected
            continue
        folder = Path(meeting.recording_dir)
        speakers = {t["speaker"] for t in _manifest_tracks(folder) if str(t.get("user_id")) == str(discord_id)}
        if speakers:
            _remove_from_folder(folder, Person(discord_id, None, frozenset(speakers)))
            touched.append(saved_id(meeting))
            log.info("meeting %s: a participant opted out after the call; removed before the minutes", meeting.id)
    return touched


def preview(db: Database, person: Person) -> ForgetReport:
    """What `forget` would do, without doing it (for the confirmation): the same work, rolled back."""
    report = ForgetReport(person)
    with Session(db.engine, expire_on_commit=False) as session:
        try:
            _scrub_db(session, person, report)
            _scrub_folders(session, person, report, dry_run=True)
        finally:
            session.rollback()
    return report


def forget(db: Database, person: Person) -> ForgetReport:
    """Remove the person everywhere (see the module's docstring). Running it again changes nothing more."""
    report = ForgetReport(person)
    with db.session() as session:
        _scrub_db(session, person, report)
        _scrub_folders(session, person, report, dry_run=False)
    log.info(
        "forgot a person: %d line(s) in %d meeting(s), %d audio file(s), %d published text(s) to edit",
        report.lines,
        len(report.meetings),
        len(report.audio_files),
        len(report.edits),
    )
    return report
