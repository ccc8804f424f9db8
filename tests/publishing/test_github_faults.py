"""GitHub misbehaving: errors, timeouts after the issue was created, connection resets, rate limits. Through all of
it: exactly one issue (comment, file) per item, nothing lost."""

from __future__ import annotations

import time

import pytest
from sqlmodel import select

from tests.publishing.conftest import MINUTES, add_meeting, make_publisher, make_settings, rows, store
from tracker.models import ActionItem, PublicationState
from tracker.publishing import retry_failed, status, texts

ISSUES = r"/api/v3/repos/wg/meetings/issues"
COMMENTS = r"/api/v3/repos/wg/meetings/issues/\d+/comments"
README = r"/api/v3/repos/wg/meetings/contents/meetings/2024\.03\.07/README\.md"

# Alice's item, and the dark-mode wish (which becomes a comment on the open wish-list issue #1)
SMALL = MINUTES.model_copy(update={"action_items": MINUTES.action_items[:1], "wishes": MINUTES.wishes[:1]})

FAULTS = {
    "500, not created": {"action": "status", "status": 500, "body": {"message": "Server Error"}},
    "502 after creating": {"action": "status_after", "status": 502, "body": {"message": "Bad Gateway"}},
    "answer after the client timeout": {"action": "slow", "delay": 2.4},
    "reset before creating": {"action": "reset_before"},
    "reset after creating": {"action": "reset_after"},
}


@pytest.fixture
def gh_settings(github):
    return make_settings(github, None, None)


def _publish_small(db, github, settings, clock, **policy):
    meeting_id = add_meeting(db)
    store(db, meeting_id, SMALL, forum=False, discord=False)
    report = make_publisher(db, settings, clock, **policy).drain(max_wait=3600)
    return meeting_id, report


@pytest.mark.parametrize("fault", FAULTS.values(), ids=FAULTS.keys())
@pytest.mark.parametrize(
    "method,path", [("POST", ISSUES), ("POST", COMMENTS), ("PUT", README)], ids=["issue", "comment", "archive"]
)
def test_a_failed_or_unknown_write_is_done_exactly_once(sqlite_db, github, gh_settings, clock, fault, method, path):
    github.fault(method, path, **fault)
    meeting_id, report = _publish_small(sqlite_db, github, gh_settings, clock)
    assert report.failed == [] and report.pending == 0

    with sqlite_db.session() as s:
        alice = s.exec(select(ActionItem)).one()
    assert len(github.issues_with_marker(texts.marker(f"m{meeting_id}-action-{alice.id}"))) == 1
    assert len(github.repo.issues) == 2  # the old wish-list issue and Alice's
    assert len([c for c in github.repo.comments if f"wgbot:m{meeting_id}-wish-" in c["body"]]) == 1
    readme_commits = [c for c in github.repo.commits if c["path"].endswith("README.md")]
    assert len(readme_commits) == 1
    assert "Finish the RFC draft" in github.file_text("meetings/2024.03.07/README.md")

    faulted = {r.kind.value: r for r in rows(sqlite_db)}[
        {ISSUES: "action_issue", COMMENTS: "wish_issue", README: "archive"}[path]
    ]
    assert faulted.attempts == 2 and faulted.state == PublicationState.done
    created_by_fault = fault["action"] in ("status_after", "slow", "reset_after")
    sent = len(github.requests_to(method, path))
    assert sent == (1 if created_by_fault else 2)  # found by its marker (or content), not sent again


def test_rate_limit_retry_after_is_honoured(sqlite_db, github, gh_settings, clock):
    github.fault(
        "POST",
        ISSUES,
        status=429,
        headers={"Retry-After": "7"},
        body={"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."},
    )
    meeting_id, report = _publish_small(sqlite_db, github, gh_settings, clock)
    assert report.failed == [] and len(github.repo.issues) == 2
    assert 7 <= report.delays[f"m{meeting_id}-action-1"][0] <= 7.7, report.delays


def test_primary_rate_limit_waits_for_the_reset(sqlite_db, github, gh_settings, clock):
    reset = int(time.time()) + 20
    github.fault(
        "POST",
        ISSUES,
        status=403,
        headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Limit": "5000", "X-RateLimit-Reset": str(reset)},
        body={"message": "API rate limit exceeded for user ID 1.", "documentation_url": "https://docs.github.com"},
    )
    meeting_id, report = _publish_small(sqlite_db, github, gh_settings, clock)
    assert report.failed == [] and len(github.repo.issues) == 2
    assert 19 <= report.delays[f"m{meeting_id}-action-1"][0] <= 23.2, report.delays


def test_secondary_rate_limit_without_a_time_waits_a_minute(sqlite_db, github, gh_settings, clock):
    github.fault(
        "POST",
        ISSUES,
        status=403,
        body={
            "message": "You have exceeded a secondary rate limit and have been "
            "temporarily blocked from content creation. Please retry your request again later."
        },
    )
    meeting_id, report = _publish_small(sqlite_db, github, gh_settings, clock)
    assert report.failed == [] and len(github.repo.issues) == 2
    assert 60 <= report.delays[f"m{meeting_id}-action-1"][0] <= 61, report.delays


def test_reads_are_retried_inside_an_attempt(sqlite_db, github, gh_settings, clock):
    github.fault("POST", ISSUES, action="reset_after")
    github.fault("GET", ISSUES, status=503, times=2)  # the marker search: urllib3 retries GETs
    _, report = _publish_small(sqlite_db, github, gh_settings, clock)
    assert report.failed == [] and len(github.repo.issues) == 2
    assert {r.kind.value: r.attempts for r in rows(sqlite_db)}["action_issue"] == 2


def test_an_assignee_check_that_fails_is_not_read_as_not_assignable(sqlite_db, github, gh_settings, clock):
    github.fault("GET", r"/api/v3/repos/wg/meetings/assignees/alice", status=500, times=4)  # beyond the GET retries
    _, report = _publish_small(sqlite_db, github, gh_settings, clock)
    assert report.failed == []
    alice = next(i for i in github.repo.issues if i["title"] == "Finish the RFC draft")
    assert alice["_assignees"] == ["alice"] and "needs-triage" not in alice["_labels"]


def test_retries_back_off_exponentially_with_jitter_then_fail(db, github, gh_settings, clock):
    github.fault("POST", ISSUES, status=500, times=100, body={"message": "Server Error"})
    meeting_id, report = _publish_small(db, github, gh_settings, clock, max_attempts=5, base=1.0, cap=60.0)
    assert [k.split("-")[1] for k in report.failed] == ["action"]
    waits = report.delays[f"m{meeting_id}-action-1"]
    assert len(waits) == 4  # 5 attempts, 4 waits between them
    for n, wait in enumerate(waits, start=1):  # after attempt n: drawn from [d/2, d], d = 1 s * 2^(n-1)
        assert 2 ** (n - 1) * 0.5 <= wait <= 2 ** (n - 1), waits
    assert len(set(round(w / 2**i, 3) for i, w in enumerate(waits))) > 1  # jittered, not a fixed schedule
    [row] = [r for r in status(db) if r.kind == "action_issue"]
    assert row.state == "failed" and row.attempts == 5 and "GitHub answered 500 Server Error" in row.last_error
    # everything after it waits; nothing else was lost
    assert {r.kind for r in status(db) if r.state == "pending"} == {"archive"}
    assert github.repo.comments and not github.repo.files


def test_bad_credentials_fail_at_once_without_the_token_and_resume_after_retry_failed(sqlite_db, github, clock):
    wrong = make_settings(github, None, None)
    wrong.github.token = type(wrong.github.token)("ghp_wrong_token_999999")
    meeting_id, report = _publish_small(sqlite_db, github, wrong, clock)
    assert len(report.failed) == 2  # the action item and the wish; the archive waits for them
    for error in report.errors.values():
        assert "401 Bad credentials" in error and "WGBOT_GITHUB_TOKEN" in error and "ghp_wrong_token" not in error
    assert all(r.attempts == 1 for r in rows(sqlite_db) if r.state == PublicationState.failed)

    with sqlite_db.session() as s:
        assert retry_failed(s) == 2
    report = make_publisher(sqlite_db, make_settings(github, None, None), clock).drain()
    assert report.failed == [] and report.pending == 0 and len(github.repo.issues) == 2


def test_a_token_echoed_in_an_error_is_redacted(sqlite_db, github, gh_settings, clock):
    github.fault("POST", ISSUES, status=500, body={"message": f"proxy error: Authorization: token {github.token}"})
    meeting_id = add_meeting(sqlite_db)
    store(sqlite_db, meeting_id, SMALL, forum=False, discord=False)
    make_publisher(sqlite_db, gh_settings, clock).drain()  # no waiting: the row stays pending with its error
    [row] = [r for r in rows(sqlite_db) if r.kind.value == "action_issue"]
    assert "proxy error" in row.last_error and github.token not in row.last_error and "***" in row.last_error


def test_the_marker_is_found_beyond_the_first_page(sqlite_db, github, gh_settings, clock):
    meeting_id = add_meeting(sqlite_db)
    store(sqlite_db, meeting_id, SMALL, forum=False, discord=False)
    github.fault("POST", ISSUES, action="reset_after")
    make_publisher(sqlite_db, gh_settings, clock).drain()  # Alice's issue created, outcome unknown
    for n in range(150):  # others file issues meanwhile: Alice's falls to the second page of 100
        github.add_issue(f"Someone else's issue {n}")
    report = make_publisher(sqlite_db, gh_settings, clock).drain(max_wait=3600)
    assert report.failed == [] and len(github.repo.issues) == 152
    pages = [r.arg("page") for r in github.requests_to("GET", ISSUES)]
    assert "2" in pages


def test_a_spent_rate_limit_budget_waits_for_its_reset_before_writing(sqlite_db, github, gh_settings, clock):
    github.rate_remaining = 0  # the answers say: nothing left until the reset, an hour from now
    meeting_id = add_meeting(sqlite_db)
    store(sqlite_db, meeting_id, SMALL, forum=False, discord=False)
    make_publisher(sqlite_db, gh_settings, clock).drain()
    assert github.writes() == []
    pending = [r for r in rows(sqlite_db) if r.kind.value in ("action_issue", "wish_issue")]
    for row in pending:
        assert row.state == PublicationState.pending and "rate limit exhausted" in row.last_error
        assert 3500 <= (row.next_attempt_at - clock.now()).total_seconds() <= 4000


def test_missing_credentials_fail_with_the_setting_named(sqlite_db, github, clock):
    settings = make_settings(github, None, None)
    settings.github.token = None
    _, report = _publish_small(sqlite_db, github, settings, clock)
    assert report.failed and all("WGBOT_GITHUB_TOKEN is not set" in e for e in report.errors.values())
