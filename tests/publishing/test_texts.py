"""The published texts, the wish de-duplication, and the small parsers (rate-limit headers, redaction)."""

from __future__ import annotations

import datetime as dt
import email.utils

import pytest

from tracker.publishing import texts
from tracker.publishing.dedup import best_match, similarity
from tracker.publishing.errors import redact
from tracker.publishing.github import rate_limit_wait

MEETING = texts.MeetingView(
    id=3,
    title="Parsers WG call",
    date=dt.date(2024, 3, 7),
    started_at=dt.datetime(2024, 3, 7, 17, 0, tzinfo=dt.UTC),
    minutes_url="https://github.com/wg/m/blob/main/meetings/2024.03.07/README.md",
)
ACTION = texts.ActionView(
    id=9,
    task="Finish the RFC draft",
    owner="Alice",
    due=dt.date(2024, 3, 14),
    at=3725.4,
    excerpt="Alice: I'll finish it.\nBob: Thanks!",
)


def test_action_issue_body_has_everything_a_reader_needs():
    body = texts.action_issue_body(ACTION, MEETING, "m3-action-9", assignee="alice")
    assert body.splitlines()[0] == "Finish the RFC draft"
    assert "Owner: Alice (@alice)" in body and "Due: 2024-03-14" in body
    assert f"From the meeting of 2024-03-07 ([minutes]({MEETING.minutes_url})), at 01:02:05 (18:02 UTC):" in body
    assert "> Alice: I'll finish it.\n> Bob: Thanks!" in body
    assert body.rstrip().endswith("<!-- wgbot:m3-action-9 -->")
    unassigned = texts.action_issue_body(texts.ActionView(id=1, task="t", owner="Bob"), MEETING, "k", assignee=None)
    assert "Owner: Bob (no GitHub account linked" in unassigned and "Due: not set" in unassigned


def test_titles_fit_githubs_limit():
    long = texts.ActionView(id=1, task="word " * 200, owner="x")
    assert len(texts.action_issue_title(long)) <= texts.GITHUB_TITLE_LIMIT


def test_wish_comment_says_raised_again_with_the_excerpt():
    wish = texts.WishView(id=1, title="Dark mode", at=600, excerpt="Dave: dark mode please")
    comment = texts.wish_comment_body(wish, MEETING, "m3-wish-1")
    assert comment.startswith("Raised again in the meeting of 2024-03-07")
    assert "> Dave: dark mode please" in comment and "<!-- wgbot:m3-wish-1 -->" in comment


def _minutes(n_decisions: int) -> texts.MinutesView:
    return texts.MinutesView(
        summary="Short summary.",
        long_summary="Long summary.",
        decisions=[f"Decision {i} " + "x" * 200 for i in range(n_decisions)],
        actions=[texts.ActionView(id=1, task="Do it", owner="Alice", issue_url="https://gh/i/5", issue_number=5)],
    )


def test_forum_post_fits_whole_when_short():
    post = texts.forum_post(MEETING, _minutes(2), "m3-forum")
    assert "### Decisions" in post and "- **Alice**: Do it ([#5](https://gh/i/5))" in post
    assert f"Full minutes and transcript: {MEETING.minutes_url}" in post and "Cut to fit" not in post


@pytest.mark.parametrize("limit", [1_000, 2_500, 32_000])
def test_forum_post_is_cut_at_a_section_boundary(limit):
    post = texts.forum_post(MEETING, _minutes(400), "m3-forum", limit=limit)
    assert len(post) <= limit
    assert "Short summary." in post and "### Decisions" not in post and "### Action items" not in post
    assert f"the rest is in the [full minutes]({MEETING.minutes_url})" in post and "<!-- wgbot:m3-forum -->" in post


def test_forum_post_with_a_huge_summary_is_cut_inside_it():
    minutes = texts.MinutesView(summary="A sentence of the summary. " * 3000, long_summary="")
    post = texts.forum_post(MEETING, minutes, "k", limit=5_000)
    assert len(post) <= 5_000 and "A sentence of the summary." in post and "Cut to fit" in post


def test_discord_message_stays_under_2000_characters():
    many = texts.MinutesView(
        summary="s " * 600,
        long_summary="",
        actions=[
            texts.ActionView(id=i, task=f"Task {i} " + "y" * 120, owner="Owner", issue_url=f"https://gh/i/{i}")
            for i in range(40)
        ],
    )
    message = texts.discord_minutes(MEETING, many, "https://forum/t/x/1/2")
    assert len(message) <= texts.DISCORD_LIMIT
    assert message.startswith("**Parsers WG call: 2024-03-07**") and "Forum: <https://forum/t/x/1/2>" in message


def test_archive_readme_links_items_to_their_issues():
    minutes = texts.MinutesView(
        summary="s",
        long_summary="Long.",
        decisions=["Keep Thursdays"],
        links=["https://example.org"],
        actions=[
            texts.ActionView(
                id=1, task="Do it", owner="Alice", due=dt.date(2024, 3, 14), issue_url="https://gh/i/5", issue_number=5
            )
        ],
        wishes=[texts.WishView(id=1, title="Dark mode", issue_url="https://gh/i/1", issue_number=1, raised_again=True)],
    )
    readme = texts.archive_readme(MEETING, minutes, "m3-archive")
    assert "## Summary\n\nLong." in readme and "- Keep Thursdays" in readme
    assert "- **Alice**: Do it, due 2024-03-14 ([#5](https://gh/i/5))" in readme
    assert "- Dark mode (raised again) ([#1](https://gh/i/1))" in readme and "- <https://example.org>" in readme
    transcript = texts.archive_transcript(MEETING, [texts.SegmentView("Bob", 65.2, " hello \n there ")], "m3-archive")
    assert "**[00:01:05] Bob:** hello there" in transcript


@pytest.mark.parametrize(
    "new,existing,same",
    [
        ("Dark mode for the dashboard", "Add dark mode to the dashboard", True),
        ("dark-mode dashboard!", "Dashboard: dark mode", True),
        ("Export the minutes as PDF", "PDF export of the minutes", True),
        ("Support for Windows builds", "Windows build support", True),
        ("Dark mode for the dashboard", "Export the dashboard as CSV", False),
        ("Faster parser", "Faster CI builds", False),
        ("Add a mailing list", "Add a calendar feed", False),
    ],
)
def test_wish_similarity(new, existing, same):
    assert (similarity(new, existing) >= 0.8) is same, similarity(new, existing)


def test_best_match_takes_the_most_similar():
    class Issue:
        def __init__(self, title):
            self.title = title

    candidates = [Issue("Dark theme"), Issue("Add dark mode to the dashboard"), Issue("CSV export")]
    assert best_match("Dark mode for the dashboard", candidates).title == "Add dark mode to the dashboard"
    assert best_match("Something unrelated entirely", candidates) is None


def test_rate_limit_wait_reads_each_header_form():
    now = 1_700_000_000.0
    assert rate_limit_wait({"Retry-After": "12"}, now) == 12
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert 29 <= rate_limit_wait({"retry-after": date}, now) <= 30
    assert rate_limit_wait({"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(now) + 40)}, now) == 41
    assert rate_limit_wait({"x-ratelimit-remaining": "12", "x-ratelimit-reset": str(int(now) + 40)}, now) is None
    assert rate_limit_wait({}, now) is None


def test_redact_hides_secrets_and_keeps_one_line():
    assert redact("token abc123secret\nfailed", ["abc123secret"]) == "token *** failed"
    assert len(redact("x" * 2000, [])) == 500


def test_the_minutes_summary_keeps_its_headings_and_points_escaped_once():
    """transcripts writes the summary as Markdown (topic headings and points, what was said escaped): the forum, the
    archive and Discord show that structure, with each piece escaped once (no `\\*\\*` or `\\###` on the page)."""
    from transcripts.minutes.summary import escape_markdown

    short = f"**{escape_markdown('CI_runner costs')}**\n- {escape_markdown('Ada showed the *nightly* bill @octocat')}"
    long = f"### {escape_markdown('CI_runner costs')} (0:00–4:10)\n\n- {escape_markdown('Bob <b>agreed</b>')}"
    meeting = texts.MeetingView(1, "DAI WG call", dt.date(2026, 12, 3))
    minutes = texts.MinutesView(short, long, [], [], [], [], [])
    forum = texts.forum_post(meeting, minutes, "m1-forum")
    assert "**CI\\_runner costs**\n- Ada showed the \\*nightly\\* bill @\u200boctocat" in forum
    readme = texts.archive_readme(meeting, minutes, "m1-archive")
    assert "### CI\\_runner costs (0:00–4:10)" in readme and "- Bob &lt;b&gt;agreed&lt;/b&gt;" in readme
    discord = texts.discord_minutes(meeting, minutes, None)
    assert "**CI\\_runner costs**\n- Ada showed the \\*nightly\\* bill" in discord
