"""Issue state flows back from GitHub: a closed issue marks its action item (or wish) done — `dropped` when closed
as not planned — and a reopened issue reopens it.

Whichever side changed last wins: GitHub's state is applied only when the issue was updated after the item was
(so an item someone marked done in Discord is not reopened by an issue nobody has touched since).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from sqlmodel import select

from tracker.config import Settings
from tracker.db import Database
from tracker.models import ActionItem, ItemStatus, Publication, PublicationKind, WishlistEntry, utcnow
from tracker.publishing.clients import Clients
from tracker.publishing.errors import PublishError
from tracker.publishing.github import IssueRef

log = logging.getLogger(__name__)

# GitHub's timestamps have whole seconds and its clock is not ours: within this, GitHub's state wins.
CLOCK_TOLERANCE = dt.timedelta(seconds=2)


@dataclass(slots=True)
class SyncReport:
    checked: int = 0
    closed: list[str] = field(default_factory=list)  # "action 3 (#12)"
    reopened: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _wanted_status(issue: IssueRef) -> ItemStatus:
    if issue.state == "open":
        return ItemStatus.open
    return ItemStatus.dropped if issue.state_reason == "not_planned" else ItemStatus.done


def _targets(session, kind: PublicationKind) -> dict[int, str]:
    """item id → the repository its issue was filed in (from its publication row)."""
    rows = session.exec(select(Publication).where(Publication.kind == kind)).all()
    return {r.subject_id: r.target for r in rows if r.subject_id is not None}


def sync_issue_states(db: Database, settings: Settings, clients: Clients | None = None) -> SyncReport:
    own_clients = clients is None
    clients = clients or Clients(settings)
    report = SyncReport()
    try:
        for model, label, kind, name in (
            (ActionItem, "action-item", PublicationKind.action_issue, "action"),
            (WishlistEntry, "wish-list", PublicationKind.wish_issue, "wish"),
        ):
            _sync_kind(db, settings, clients, model, label, kind, name, report)
    finally:
        if own_clients:
            clients.close()
    return report


def _sync_kind(db, settings, clients, model, label, kind, name, report: SyncReport) -> None:
    with db.session() as session:
        items = session.exec(select(model).where(model.github_issue_number.is_not(None))).all()
        targets = _targets(session, kind)
    by_repo: dict[str, list] = {}
    for item in items:
        repo = targets.get(item.id) or settings.github.repo  # no row: filed by hand, in the configured repository
        if repo:
            by_repo.setdefault(repo, []).append(item)

    for repo_name, repo_items in by_repo.items():
        try:
            repo = clients.github.repo(repo_name)
            issues = {i.number: i for i in repo.issues_with_label(label)}
            for item in repo_items:  # the label was removed by someone: ask for the issue itself
                if item.github_issue_number not in issues:
                    issue = repo.get_issue(item.github_issue_number)
                    if issue is not None:
                        issues[issue.number] = issue
        except PublishError as exc:
            report.errors.append(f"{repo_name}: {exc}")
            log.warning("sync %s: %s", repo_name, exc)
            continue

        with db.session() as session:
            for stale in repo_items:
                issue = issues.get(stale.github_issue_number)
                report.checked += 1
                item = session.get(model, stale.id)
                if issue is None or item is None:
                    continue
                wanted = _wanted_status(issue)
                if wanted == item.status:
                    continue
                changed_at = getattr(item, "updated_at", None) or item.created_at
                if issue.updated_at is not None and changed_at > issue.updated_at + CLOCK_TOLERANCE:
                    continue  # changed here after the issue last changed: ours is newer
                what = f"{name} {item.id} (#{issue.number})"
                item.status = wanted
                now = utcnow()
                if hasattr(item, "updated_at"):
                    item.updated_at = now
                if hasattr(item, "closed_at"):
                    item.closed_at = (issue.closed_at or now) if wanted != ItemStatus.open else None
                session.add(item)
                (report.reopened if wanted == ItemStatus.open else report.closed).append(what)
                log.info("sync: %s is now %s", what, wanted.value)
