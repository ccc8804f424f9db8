"""What publishing one outbox row means, per kind. Each handler works in three steps so that no database
transaction stays open during an HTTP call:

- `prepare(session, row)`: read everything the step needs into plain data (a job);
- `perform(job, maybe_created)`: talk to the outside world; when an earlier attempt may already have created the
  thing (`maybe_created`), find it by its marker first;
- `record(session, row, job, outcome)`: write back what was created (issue numbers and URLs on the items).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from sqlmodel import Session, col, select

from tracker.models import (
    ActionItem,
    ItemStatus,
    Link,
    Meeting,
    Member,
    MinutesRecord,
    Publication,
    PublicationKind,
    TranscriptSegment,
    WishlistEntry,
    as_utc,
    saved_id,
)
from tracker.publishing import texts
from tracker.publishing.clients import Clients
from tracker.publishing.dedup import best_match
from tracker.publishing.errors import NotReady, PermanentError
from tracker.publishing.escape import markdown as _md

log = logging.getLogger(__name__)

MARKER_SEARCH_MARGIN = dt.timedelta(minutes=10)  # clock skew between us and the server


@dataclass(slots=True)
class Outcome:
    external_id: str
    external_url: str | None
    changed: bool = True  # something outside changed: rows that embed this one's links must be re-rendered
    extra: dict = field(default_factory=dict)


# ---- reading a meeting into plain data ---------------------------------------------------------------------------


def meeting_day(meeting: Meeting) -> dt.date:
    """The meeting's date (UTC) from its scheduled start: stable, so its archive folder never moves."""
    return as_utc(meeting.scheduled_start).date()


def archive_folder(session: Session, meeting: Meeting, archive_dir: str) -> str:
    """`meetings/2024.03.07`; a second meeting of the group on the same day gets `-2`, and so on (ordered by id).

    Fixed at the first publish: once the meeting's archive is written, its folder is the one recorded on the archive
    row, and no other meeting is given it — a meeting moved onto that day later takes the next free suffix."""
    published = session.exec(
        select(Publication.external_id).where(
            Publication.meeting_id == meeting.id,
            Publication.kind == PublicationKind.archive,
            col(Publication.external_id).is_not(None),
        )
    ).first()
    if published:
        return published
    day = meeting_day(meeting)
    start = dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)
    same_day = session.exec(
        select(Meeting.id).where(
            Meeting.group_id == meeting.group_id,
            Meeting.scheduled_start >= start,
            Meeting.scheduled_start < start + dt.timedelta(days=1),
            col(Meeting.id) < meeting.id,
        )
    ).all()
    taken = set(
        session.exec(
            select(Publication.external_id).where(
                Publication.kind == PublicationKind.archive,
                Publication.meeting_id != meeting.id,
                col(Publication.external_id).is_not(None),
            )
        ).all()
    )
    n = len(same_day) + 1
    while True:
        folder = day.strftime("%Y.%m.%d") + (f"-{n}" if n > 1 else "")
        path = f"{archive_dir}/{folder}" if archive_dir else folder
        if path not in taken:
            return path
        n += 1


def meeting_view(meeting: Meeting) -> texts.MeetingView:
    started = as_utc(meeting.started_at or meeting.scheduled_start)
    return texts.MeetingView(id=saved_id(meeting), title=meeting.title, date=meeting_day(meeting), started_at=started)


def action_view(session: Session, item: ActionItem) -> texts.ActionView:
    login = None
    if item.owner_id is not None:
        member = session.get(Member, item.owner_id)
        login = member.github_login if member else None
    return texts.ActionView(
        id=saved_id(item),
        task=item.task,
        owner=item.owner_name,
        due=item.due,
        at=item.at,
        excerpt=item.excerpt,
        github_login=login,
        issue_url=item.github_issue_url,
        issue_number=item.github_issue_number,
    )


def wish_view(session: Session, wish: WishlistEntry) -> texts.WishView:
    row = session.exec(
        select(Publication).where(Publication.kind == PublicationKind.wish_issue, Publication.subject_id == wish.id)
    ).first()
    again = bool(row and row.external_id and row.external_id.startswith("comment:"))
    return texts.WishView(
        id=saved_id(wish),
        title=wish.title,
        details=wish.details,
        at=wish.at,
        excerpt=wish.excerpt,
        issue_url=wish.github_issue_url,
        issue_number=wish.github_issue_number,
        raised_again=again,
    )


def minutes_view(session: Session, meeting: Meeting) -> texts.MinutesView:
    record = session.exec(select(MinutesRecord).where(MinutesRecord.meeting_id == meeting.id)).first()
    if record is None:
        raise NotReady(f"meeting {meeting.id} has no minutes yet")
    actions = session.exec(
        select(ActionItem).where(ActionItem.meeting_id == meeting.id).order_by(col(ActionItem.id))
    ).all()
    wishes = session.exec(
        select(WishlistEntry).where(WishlistEntry.meeting_id == meeting.id).order_by(col(WishlistEntry.id))
    ).all()
    # An item dropped before it was ever filed (an organizer's review said it is not one) is not part of the minutes;
    # one dropped later (its issue closed as not planned) was discussed, and stays.
    actions = [a for a in actions if not (a.status == ItemStatus.dropped and a.github_issue_number is None)]
    wishes = [w for w in wishes if not (w.status == ItemStatus.dropped and w.github_issue_number is None)]
    links = session.exec(select(Link).where(Link.meeting_id == meeting.id).order_by(col(Link.id))).all()
    return texts.MinutesView(
        summary=record.summary,
        long_summary=record.long_summary,
        decisions=list(record.decisions),
        next_topics=list(record.next_topics),
        notes=list(record.notes),
        actions=[action_view(session, a) for a in actions],
        wishes=[wish_view(session, w) for w in wishes],
        links=[link.url for link in links],
    )


def sibling(session: Session, meeting_id: int, kind: PublicationKind) -> Publication | None:
    return session.exec(
        select(Publication).where(Publication.meeting_id == meeting_id, Publication.kind == kind)
    ).first()


def _meeting(session: Session, row: Publication) -> Meeting:
    meeting = session.get(Meeting, row.meeting_id) if row.meeting_id is not None else None
    if meeting is None:
        raise PermanentError(f"publication {row.idempotency_key}: its meeting {row.meeting_id} does not exist")
    return meeting


def _subject(session: Session, row: Publication, model, what: str):
    """The action item or wish a row publishes; a row whose subject is gone fails at once."""
    subject = session.get(model, row.subject_id) if row.subject_id is not None else None
    if subject is None:
        raise PermanentError(f"publication {row.idempotency_key}: {what} {row.subject_id} does not exist")
    return subject


def _target_number(target: str, prefix: str) -> int:
    """`forum:topic/123` → 123."""
    if not target.startswith(prefix):
        raise PermanentError(f"publication target {target!r} should look like {prefix}<number>")
    try:
        return int(target[len(prefix) :])
    except ValueError:
        raise PermanentError(f"publication target {target!r} should look like {prefix}<number>") from None


# ---- GitHub issues -------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class IssueJob:
    key: str
    repo: str
    since: dt.datetime
    meeting: texts.MeetingView | None
    readme_path: str | None
    issue_number: int | None  # already published: update in place
    action: texts.ActionView | None = None
    wish: texts.WishView | None = None
    previous_external_id: str | None = None
    previous_external_url: str | None = None


def _with_minutes_url(clients: Clients, job: IssueJob):
    repo = clients.github.repo(job.repo)
    meeting = job.meeting
    if meeting is not None and job.readme_path:
        meeting = replace(meeting, minutes_url=repo.blob_url(job.readme_path, clients.branch))
    return repo, meeting


class ActionIssueHandler:
    kind = PublicationKind.action_issue

    def __init__(self, clients: Clients) -> None:
        self.clients = clients

    def prepare(self, session: Session, row: Publication) -> IssueJob:
        item = _subject(session, row, ActionItem, "action item")
        meeting = _meeting(session, row)
        folder = archive_folder(session, meeting, self.clients.archive_dir)
        return IssueJob(
            key=row.idempotency_key,
            repo=row.target,
            since=row.created_at - MARKER_SEARCH_MARGIN,
            meeting=meeting_view(meeting),
            readme_path=f"{folder}/README.md",
            issue_number=int(row.external_id) if row.external_id else None,
            action=action_view(session, item),
        )

    def perform(self, job: IssueJob, maybe_created: bool) -> Outcome:
        repo, meeting = _with_minutes_url(self.clients, job)
        action = job.action
        if action is None:  # prepare() gives an action item's job its item
            raise ValueError(f"{job.key}: the job has no action item")
        labels = ["action-item", f"meeting:{meeting.day}"]
        title = texts.action_issue_title(action)
        assignee = action.github_login if action.github_login and repo.is_assignable(action.github_login) else None
        body = texts.action_issue_body(action, meeting, job.key, assignee=assignee)
        if job.issue_number is not None:  # re-published: same issue, new text; assignees and triage are the humans'
            repo.ensure_labels(labels)
            ref = repo.update_issue(job.issue_number, title, body, labels)
            return Outcome(str(ref.number), ref.url)

        if assignee is None:
            labels.append("needs-triage")
        if maybe_created:
            found = repo.find_issue_by_marker(texts.marker(job.key), job.since)
            if found is not None:
                log.info("%s: found issue #%d from an earlier attempt", job.key, found.number)
                return Outcome(str(found.number), found.url)
        repo.ensure_labels(labels)
        ref = repo.create_issue(title, body, labels, [assignee] if assignee else [])
        log.info("%s: created issue #%d", job.key, ref.number)
        return Outcome(str(ref.number), ref.url)

    def record(self, session: Session, row: Publication, job: IssueJob, outcome: Outcome) -> None:
        item = session.get(ActionItem, row.subject_id)
        if item is not None:
            item.github_issue_number = int(outcome.external_id)
            item.github_issue_url = outcome.external_url  # not an edit of the item: updated_at stays (see sync.py)
            session.add(item)


class WishIssueHandler:
    """A wish becomes a `wish-list` issue, or a "raised again" comment on an open one that says the same."""

    kind = PublicationKind.wish_issue

    def __init__(self, clients: Clients) -> None:
        self.clients = clients

    def prepare(self, session: Session, row: Publication) -> IssueJob:
        wish = _subject(session, row, WishlistEntry, "wish-list entry")
        meeting = session.get(Meeting, wish.meeting_id) if wish.meeting_id is not None else None
        readme = None
        if meeting is not None:
            readme = f"{archive_folder(session, meeting, self.clients.archive_dir)}/README.md"
        issue_number = None
        if row.external_id and not row.external_id.startswith("comment:"):
            issue_number = int(row.external_id)
        return IssueJob(
            key=row.idempotency_key,
            repo=row.target,
            since=row.created_at - MARKER_SEARCH_MARGIN,
            meeting=meeting_view(meeting) if meeting else None,
            readme_path=readme,
            issue_number=issue_number,
            wish=texts.WishView(id=wish.id, title=wish.title, details=wish.details, at=wish.at, excerpt=wish.excerpt),
            previous_external_id=row.external_id,
            previous_external_url=row.external_url,
        )

    def perform(self, job: IssueJob, maybe_created: bool) -> Outcome:
        repo, meeting = _with_minutes_url(self.clients, job)
        wish = job.wish
        if wish is None:  # prepare() gives a wish's job its wish
            raise ValueError(f"{job.key}: the job has no wish")
        marker = texts.marker(job.key)
        labels = ["wish-list"] + ([f"meeting:{meeting.day}"] if meeting else [])
        if job.previous_external_id and job.previous_external_id.startswith("comment:"):
            # Re-published as a comment on someone else's issue: the comment stands as written.
            return Outcome(job.previous_external_id, job.previous_external_url, changed=False)
        if job.issue_number is not None:
            repo.ensure_labels(labels)
            ref = repo.update_issue(
                job.issue_number, texts.wish_issue_title(wish), texts.wish_issue_body(wish, meeting, job.key), labels
            )
            return Outcome(str(ref.number), ref.url, extra={"issue_number": ref.number, "issue_url": ref.url})

        if maybe_created:
            found = repo.find_issue_by_marker(marker, job.since)
            if found is not None:
                return Outcome(
                    str(found.number), found.url, extra={"issue_number": found.number, "issue_url": found.url}
                )
            comment = repo.find_comment_by_marker(marker, job.since)
            if comment is not None:
                issue = repo.get_issue(comment.issue_number)
                return Outcome(
                    f"comment:{comment.id}",
                    comment.url,
                    extra={"issue_number": comment.issue_number, "issue_url": issue.url if issue else None},
                )

        duplicate = best_match(wish.title, [i for i in repo.open_issues("wish-list") if marker not in i.body])
        if duplicate is not None:
            comment = repo.create_comment(duplicate.number, texts.wish_comment_body(wish, meeting, job.key))
            log.info("%s: raised again on #%d", job.key, duplicate.number)
            return Outcome(
                f"comment:{comment.id}",
                comment.url,
                extra={"issue_number": duplicate.number, "issue_url": duplicate.url},
            )
        repo.ensure_labels(labels)
        ref = repo.create_issue(texts.wish_issue_title(wish), texts.wish_issue_body(wish, meeting, job.key), labels, [])
        log.info("%s: created wish-list issue #%d", job.key, ref.number)
        return Outcome(str(ref.number), ref.url, extra={"issue_number": ref.number, "issue_url": ref.url})

    def record(self, session: Session, row: Publication, job: IssueJob, outcome: Outcome) -> None:
        wish = session.get(WishlistEntry, row.subject_id)
        if wish is not None and "issue_number" in outcome.extra:
            wish.github_issue_number = outcome.extra["issue_number"]
            wish.github_issue_url = outcome.extra["issue_url"]
            session.add(wish)


# ---- the archive -------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class ArchiveJob:
    key: str
    repo: str
    folder: str
    meeting: texts.MeetingView
    minutes: texts.MinutesView
    segments: list[texts.SegmentView]


class ArchiveHandler:
    kind = PublicationKind.archive

    def __init__(self, clients: Clients) -> None:
        self.clients = clients

    def prepare(self, session: Session, row: Publication) -> ArchiveJob:
        meeting = _meeting(session, row)
        segments = session.exec(
            select(TranscriptSegment)
            .where(TranscriptSegment.meeting_id == meeting.id)
            .order_by(col(TranscriptSegment.start), col(TranscriptSegment.id))
        ).all()
        return ArchiveJob(
            key=row.idempotency_key,
            repo=row.target,
            folder=archive_folder(session, meeting, self.clients.archive_dir),
            meeting=meeting_view(meeting),
            minutes=minutes_view(session, meeting),
            segments=[texts.SegmentView(s.speaker, s.start, s.text) for s in segments],
        )

    def perform(self, job: ArchiveJob, maybe_created: bool) -> Outcome:
        repo = self.clients.github.repo(job.repo)
        branch = self.clients.branch
        readme_path = f"{job.folder}/README.md"
        meeting = replace(job.meeting, minutes_url=repo.blob_url(readme_path, branch))
        what = f"{meeting.title}, {meeting.day}"
        transcript = repo.put_file(
            f"{job.folder}/transcript.md",
            texts.archive_transcript(meeting, job.segments, job.key),
            f"Transcript of {what}",
            branch,
        )
        readme = repo.put_file(
            readme_path, texts.archive_readme(meeting, job.minutes, job.key), f"Minutes of {what}", branch
        )
        return Outcome(job.folder, readme.url, changed=readme.changed or transcript.changed)

    def record(self, session: Session, row: Publication, job: ArchiveJob, outcome: Outcome) -> None:
        pass


# ---- the forum -----------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class PostJob:
    key: str
    target_id: int
    meeting: texts.MeetingView
    minutes: texts.MinutesView
    existing_id: int | None
    forum_url: str | None = None


class ForumPostHandler:
    kind = PublicationKind.forum_post

    def __init__(self, clients: Clients) -> None:
        self.clients = clients

    def prepare(self, session: Session, row: Publication) -> PostJob:
        meeting = _meeting(session, row)
        archive = sibling(session, saved_id(meeting), PublicationKind.archive)
        view = replace(meeting_view(meeting), minutes_url=archive.external_url if archive else None)
        return PostJob(
            key=row.idempotency_key,
            target_id=_target_number(row.target, "forum:topic/"),
            meeting=view,
            minutes=minutes_view(session, meeting),
            existing_id=int(row.external_id) if row.external_id else None,
        )

    def perform(self, job: PostJob, maybe_created: bool) -> Outcome:
        forum = self.clients.forum
        raw = texts.forum_post(job.meeting, job.minutes, job.key)
        if job.existing_id is not None:
            current = forum.get_post(job.existing_id)
            if current is not None:
                if current.get("raw") == raw:
                    ref = forum.post_ref(current)
                    return Outcome(str(ref.id), ref.url, changed=False)
                ref = forum.update_post(job.existing_id, raw)
                return Outcome(str(ref.id), ref.url)
            log.warning("%s: post %d was deleted; posting again", job.key, job.existing_id)
        if maybe_created or job.existing_id is not None:
            found = forum.find_post_by_marker(job.target_id, texts.marker(job.key))
            if found is not None:
                log.info("%s: found post %d from an earlier attempt", job.key, found.id)
                return Outcome(str(found.id), found.url)
        ref = forum.create_post(job.target_id, raw)
        log.info("%s: posted %s", job.key, ref.url)
        return Outcome(str(ref.id), ref.url)

    def record(self, session: Session, row: Publication, job: PostJob, outcome: Outcome) -> None:
        pass


# ---- Discord -------------------------------------------------------------------------------------------------------


class DiscordMinutesHandler:
    """The minutes message in the text channel (rows keyed `m<id>-discord-minutes`)."""

    kind = PublicationKind.discord_message

    def __init__(self, clients: Clients) -> None:
        self.clients = clients

    def prepare(self, session: Session, row: Publication) -> PostJob:
        if not row.idempotency_key.endswith("-discord-minutes"):
            raise PermanentError(
                f"publication {row.idempotency_key}: only the minutes message is published from the outbox"
            )
        meeting = _meeting(session, row)
        archive = sibling(session, saved_id(meeting), PublicationKind.archive)
        forum = sibling(session, saved_id(meeting), PublicationKind.forum_post)
        view = replace(meeting_view(meeting), minutes_url=archive.external_url if archive else None)
        return PostJob(
            key=row.idempotency_key,
            target_id=_target_number(row.target, "discord:channel/"),
            meeting=view,
            minutes=minutes_view(session, meeting),
            existing_id=int(row.external_id) if row.external_id else None,
            forum_url=forum.external_url if forum else None,
        )

    def perform(self, job: PostJob, maybe_created: bool) -> Outcome:
        discord = self.clients.discord
        content = texts.discord_minutes(job.meeting, job.minutes, job.forum_url)
        if job.existing_id is not None:
            ref = discord.edit_message(job.target_id, job.existing_id, content)
            return Outcome(str(ref.id), ref.url)
        if maybe_created:
            found = discord.find_own_message(job.target_id, content)
            if found is not None:
                return Outcome(str(found.id), found.url)
        ref = discord.post_message(job.target_id, content, key=job.key)
        return Outcome(str(ref.id), ref.url)

    def record(self, session: Session, row: Publication, job: PostJob, outcome: Outcome) -> None:
        pass


# ---- changes to a filed issue (tracker/followthrough.py) -----------------------------------------------------------


@dataclass(slots=True)
class IssueUpdateJob:
    key: str
    repo: str
    since: dt.datetime
    change: str  # "close" or "assign"
    issue_number: int
    comment: str | None = None  # close: the comment that says why
    assignee: str | None = None  # assign: the GitHub login


class IssueUpdateHandler:
    """An action item's issue closed with a comment quoting who reported it done and where (`…-close-…` keys), or
    given the item's new owner as assignee (`…-assign-…`). The comment carries the marker, so a retry after an
    unknown outcome finds it instead of commenting twice; closing and assigning are idempotent."""

    kind = PublicationKind.issue_update

    def __init__(self, clients: Clients) -> None:
        self.clients = clients

    def prepare(self, session: Session, row: Publication) -> IssueUpdateJob:
        item = _subject(session, row, ActionItem, "action item")
        if item.github_issue_number is None:
            raise NotReady(f"action item {item.id} has no issue yet")
        change = "close" if "-close-" in row.idempotency_key else "assign"
        job = IssueUpdateJob(
            key=row.idempotency_key,
            repo=row.target,
            since=row.created_at - MARKER_SEARCH_MARGIN,
            change=change,
            issue_number=item.github_issue_number,
        )
        if change == "close":
            why = _md(item.done_note) if item.done_note else "Marked done in Discord (`/actions done`)."
            job.comment = f"Done — {why}\n\n{texts.marker(row.idempotency_key)}\n"
        else:
            member = session.get(Member, item.owner_id) if item.owner_id is not None else None
            job.assignee = member.github_login if member else None
        return job

    def perform(self, job: IssueUpdateJob, maybe_created: bool) -> Outcome:
        repo = self.clients.github.repo(job.repo)
        if job.change == "assign":
            if job.assignee and repo.is_assignable(job.assignee):
                ref = repo.set_assignees(job.issue_number, [job.assignee])
                return Outcome(str(ref.number), ref.url)
            log.info("%s: %s is not assignable here; the issue keeps its assignees", job.key, job.assignee)
            return Outcome(str(job.issue_number), None, changed=False)
        found = repo.find_comment_by_marker(texts.marker(job.key), job.since) if maybe_created else None
        if found is None:
            if job.comment is None:  # prepare() writes a close's comment
                raise ValueError(f"{job.key}: closing the issue needs its comment")
            repo.create_comment(job.issue_number, job.comment)
        ref = repo.close_issue(job.issue_number)
        log.info("%s: closed issue #%d", job.key, job.issue_number)
        return Outcome(str(ref.number), ref.url, changed=False)

    def record(self, session: Session, row: Publication, job: IssueUpdateJob, outcome: Outcome) -> None:
        pass


class Handler(Protocol):
    """How the publisher publishes one kind of row: `prepare` reads what a job needs (in a session), `perform` sends it
    (no session held), `record` stores what came of it. The job is the handler's own type, passed back as it was."""

    kind: PublicationKind

    def prepare(self, session: Session, row: Publication) -> Any: ...
    def perform(self, job: Any, maybe_created: bool) -> Outcome: ...
    def record(self, session: Session, row: Publication, job: Any, outcome: Outcome) -> None: ...


def make_handlers(clients: Clients) -> dict[PublicationKind, Handler]:
    handlers: tuple[Handler, ...] = (
        ActionIssueHandler(clients),
        WishIssueHandler(clients),
        ArchiveHandler(clients),
        ForumPostHandler(clients),
        DiscordMinutesHandler(clients),
        IssueUpdateHandler(clients),
    )
    return {h.kind: h for h in handlers}


__all__ = ["Outcome", "make_handlers", "archive_folder", "minutes_view", "meeting_view"]
