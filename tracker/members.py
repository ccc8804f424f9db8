"""Members of the working group: who they are on Discord and GitHub, and whether they may be recorded.

A member row is created the first time someone uses a command (`get_or_create`), keyed by their Discord id;
the display name follows Discord's each time they show up.
"""

from __future__ import annotations

import logging
import re

from sqlmodel import Session, select

from tracker.models import ActionItem, Member, TranscriptSegment, saved_id, utcnow
from transcripts.errors import UserError

log = logging.getLogger(__name__)

# GitHub's rule: 1-39 characters, letters, digits and single hyphens, not starting or ending with a hyphen.
GITHUB_LOGIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}")
_PROFILE_URL = re.compile(r"^(?:https?://)?(?:www\.)?github\.com/([^/?#]+)/?$", re.IGNORECASE)


class MemberError(UserError, ValueError):
    """A request about a member that cannot be honoured; the message is fit to show the user."""


def find(session: Session, discord_id: int) -> Member | None:
    return session.exec(select(Member).where(Member.discord_id == discord_id)).first()


def get_or_create(session: Session, discord_id: int, display_name: str) -> Member:
    """The member with this Discord id, created on first sight; their display name is kept current."""
    member = find(session, discord_id)
    if member is None:
        member = Member(discord_id=discord_id, display_name=display_name)
        session.add(member)
        session.flush()
        log.info("new member %s (discord %s)", display_name, discord_id)
    elif display_name and member.display_name != display_name:
        member.display_name = display_name
        member.updated_at = utcnow()
        session.add(member)
        session.flush()
    return member


def normalize_github_login(value: str) -> str:
    """`octocat`, `@octocat` and `https://github.com/octocat` all mean `octocat`; anything else is refused."""
    login = value.strip()
    match = _PROFILE_URL.match(login)
    if match:
        login = match.group(1)
    login = login.removeprefix("@")
    if not GITHUB_LOGIN.fullmatch(login):
        raise MemberError(
            f"{value.strip()[:60]!r} is not a GitHub login (letters, digits and single hyphens, at most 39 characters)"
        )
    return login


def link_github(session: Session, member: Member, login: str) -> Member:
    """The member says their GitHub login is `login`. Anyone can type anyone's login, so it counts (issues are
    assigned to it) only once an organizer confirms it (`confirm_github`); until then it waits as pending."""
    login = normalize_github_login(login)
    _check_free(session, member, login)
    if (member.github_login or "").casefold() == login.casefold():
        member.github_login_pending = None  # relinking your own confirmed login changes nothing
    else:
        member.github_login_pending = login
    member.updated_at = utcnow()
    session.add(member)
    session.flush()
    return member


def confirm_github(session: Session, member: Member) -> Member:
    """An organizer confirms the login `member` claimed: from now on their items are assigned to it on GitHub."""
    login = member.github_login_pending
    if not login:
        raise MemberError(f"{member.display_name} has no GitHub login waiting for confirmation (/link github)")
    _check_free(session, member, login)
    member.github_login, member.github_login_pending = login, None
    member.updated_at = utcnow()
    session.add(member)
    session.flush()
    log.info("member %s: GitHub login confirmed", member.id)
    return member


def _check_free(session: Session, member: Member, login: str) -> None:
    other = session.exec(
        select(Member).where(Member.github_login.ilike(login), Member.id != member.id)  # type: ignore[union-attr]
    ).first()
    if other is not None:
        raise MemberError(f"the GitHub login {login} is already linked to {other.display_name}")


def set_recording_opt_out(session: Session, member: Member, opted_out: bool) -> Member:
    """Opted-out members' audio is never written to disk (the recorder asks `is_opted_out` for each speaker)."""
    if member.recording_opt_out != opted_out:
        member.recording_opt_out = opted_out
        member.updated_at = utcnow()
        session.add(member)
        session.flush()
        log.info("member %s recording opt-%s", member.id, "out" if opted_out else "in")
    return member


def is_opted_out(session: Session, discord_id: int) -> bool:
    member = find(session, discord_id)
    return bool(member and member.recording_opt_out)


def opted_out_ids(session: Session) -> set[int]:
    """The Discord ids of everyone who opted out of recording (the recorder's cache)."""
    return {i for i in session.exec(select(Member.discord_id).where(Member.recording_opt_out == True)) if i}  # noqa: E712


def _label(name: str) -> str:
    return " ".join(re.findall(r"\w+", name.casefold()))


def link_speakers(session: Session, meeting_id: int, speakers: dict[str, str]) -> int:
    """Tie the meeting's transcript lines and action items to the Discord accounts that spoke them.

    `speakers`: each speaker label of the recording → the Discord user id of its track (the recorder knows it). An
    item's owner is the account of the speaker its owner name is, or nobody — never a member who merely has that
    display name. Returns the number of items with an owner."""
    by_label: dict[str, int] = {}
    for label, discord_id in speakers.items():
        if not discord_id or not str(discord_id).isdigit():
            continue
        member = find(session, int(discord_id))
        if member is None:
            member = Member(discord_id=int(discord_id), display_name=label)
            session.add(member)
            session.flush()
        by_label[_label(label)] = saved_id(member)
    owned = 0
    for item in session.exec(select(ActionItem).where(ActionItem.meeting_id == meeting_id)):
        owner = by_label.get(_label(item.owner_name)) if item.owner_name else None
        if item.owner_id != owner:
            item.owner_id = owner
            session.add(item)
        owned += owner is not None
    for segment in session.exec(select(TranscriptSegment).where(TranscriptSegment.meeting_id == meeting_id)):
        member_id = by_label.get(_label(segment.speaker))
        if segment.member_id != member_id:
            segment.member_id = member_id
            session.add(segment)
    session.flush()
    return owned
