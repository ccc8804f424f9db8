"""The web home over real HTTP: every page from the published history, what is public and what never is, hostile
input kept inert, bad requests answered with a page and the right status."""

from __future__ import annotations

import json
import re

import pytest
from sqlmodel import delete

from bot.web.export import export_site
from tests.web.conftest import get
from tests.web.sample import HOSTILE, HOSTILE_TOPIC, OPTED_OUT_WORDS, PHRASE, UNPUBLISHED_WORDS
from tracker import public, stats
from tracker.models import TranscriptSegment
from tracker.search import index_meeting

PAGES = ["", "meetings/", "meetings/2026-11-19/", "meetings/2026-11-26/", "actions/", "wishes/", "stats/", "projects/"]
PAGES += ["search/", f"search/?q={PHRASE}", "meetings/2026-12-03/"]
DOWNLOADS = ["json", "md", "vtt", "srt"]


async def _everything(server) -> dict[str, str]:
    """Every page and download the site offers, by path."""
    out = {}
    for path in PAGES + [f"meetings/2026-11-26/transcript.{fmt}" for fmt in DOWNLOADS]:
        status, _, body = await get(server.site_url + path)
        assert status == 200, (path, status, body[:300])
        out[path] = body
    return out


async def test_every_page_answers_with_html_from_the_published_history(server, sample):
    pages = await _everything(server)
    for path in PAGES:
        assert pages[path].startswith("<!doctype html>") and "</html>" in pages[path], path
    assert "DAI WG call" in pages["meetings/"] and "2026-11-26" in pages["meetings/"]
    assert "<td>Runners</td>" in pages["meetings/"]  # no agenda: the topic headings of the minutes
    assert "Keep the weekly call at 17:00 UTC" in pages["meetings/2026-11-19/"]  # a decision
    assert "https://example.org/runners" in pages["meetings/2026-11-26/"]  # a link
    assert "Release 1.2 planning" in pages[""] and "in 3 days" in pages[""]  # the next meeting's agenda, countdown
    assert "https://discord.com/channels/111222333444555666/777888999000111222" in pages[""]  # the join link
    assert "runner-kit" in pages["projects/"] and "42" in pages["projects/"]


async def test_an_unpublished_meeting_is_never_shown(server, sample, tmp_path, db):
    status, _, body = await get(server.site_url + "meetings/2026-11-12/")
    assert status == 404 and "no published meeting" in body
    status, _, _ = await get(server.site_url + "meetings/2026-11-12/transcript.json")
    assert status == 404
    pages = await _everything(server)
    status, _, found = await get(server.site_url + f"search/?q={UNPUBLISHED_WORDS}")
    assert status == 200 and "Nothing found" in found
    export_site(db, tmp_path / "site")
    exported = "".join(p.read_text() for p in (tmp_path / "site").rglob("*") if p.is_file())
    for text in [*pages.values(), exported]:
        assert UNPUBLISHED_WORDS not in text and "Not yet reviewed" not in text


async def test_the_words_of_someone_who_opted_out_are_never_shown(server, sample, tmp_path, db):
    pages = await _everything(server)
    status, _, found = await get(server.site_url + f"search/?q={OPTED_OUT_WORDS}")
    assert status == 200 and "Nothing found" in found
    export_site(db, tmp_path / "site")
    exported = "".join(p.read_text() for p in (tmp_path / "site").rglob("*") if p.is_file())
    for text in [*pages.values(), exported]:
        assert OPTED_OUT_WORDS not in text
    meeting = pages["meetings/2026-11-26/"]
    assert "Olga" not in meeting.split('class="transcript"')[1]
    assert [s["speaker"] for s in json.loads(pages["meetings/2026-11-26/transcript.json"])["segments"]].count(
        "Olga"
    ) == 0


async def test_hostile_names_and_topics_stay_inert_text(server, sample):
    pages = await _everything(server)
    for path, body in pages.items():
        if path.endswith((".json", ".md", ".vtt", ".srt")):
            continue
        assert HOSTILE not in body and "<img src=x" not in body and "<b>raw html</b>" not in body, path
        assert 'href="javascript:' not in body, path
        assert len(re.findall(r"<script\b", body)) == 1, path  # only the site's own app.js
    assert "&lt;script&gt;alert(" in pages["meetings/2026-11-26/"]
    assert "&lt;img src=x onerror=alert(1)&gt; budget" in pages[""]
    _, headers, _ = await get(server.site_url)
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert HOSTILE_TOPIC  # the fixture put it on the agenda


@pytest.mark.parametrize(
    ("path", "status", "says"),
    [
        ("meetings/1999-01-01/", 404, "no published meeting on 1999-01-01"),
        ("meetings/not-a-date/", 404, "no meeting at this address"),
        ("meetings/2026-11-26/transcript.exe", 404, "no transcript.exe"),
        ("no/such/page/", 404, "no page at this address"),
        ("search/?q=", 400, "Type a word or two"),
        ("search/?q=%20%20", 400, "Type a word or two"),
        ("search/?q=" + "x" * 10_000, 400, "too long (10000 characters"),
        ("search/?q=%22", 400, ""),
    ],
)
async def test_bad_requests_get_a_clear_page_and_the_right_status(server, sample, path, status, says):
    got, headers, body = await get(server.site_url + path)
    assert got == status and headers["Content-Type"].startswith("text/html")
    assert says in body and "Traceback" not in body and "</html>" in body


async def test_a_post_is_refused_with_a_page(server, sample):
    status, _, body = await get(server.site_url + "meetings/", method="POST")
    assert status == 405 and "only answers GET" in body


async def test_transcript_lines_carry_time_anchors_that_the_minutes_link_to(server, sample):
    _, _, body = await get(server.site_url + "meetings/2026-11-26/")
    assert f'id="t={sample.phrase_at}"' in body
    line = re.search(rf'<p class="line"[^>]*id="t={sample.phrase_at}"[^>]*>.*?</p>', body, re.S).group(0)
    assert PHRASE in line and "Ada" in line
    assert f'href="#t={sample.phrase_at}"' in body.split('id="transcript"')[0]  # from the summary, above the transcript


async def test_the_transcript_downloads_in_four_formats(server, sample):
    files = {fmt: (await get(server.site_url + f"meetings/2026-11-26/transcript.{fmt}"))[2] for fmt in DOWNLOADS}
    data = json.loads(files["json"])
    assert any(PHRASE in s["text"] and s["start"] == 754.0 for s in data["segments"])
    assert files["vtt"].startswith("WEBVTT") and "<v Ada>" in files["vtt"]
    assert "00:12:34,000 --> 00:12:40,000" in files["srt"]
    assert f"**Ada** [12:34]: We should move to {PHRASE}" in files["md"]


async def test_search_finds_a_transcript_phrase_and_links_to_the_moment(server, sample):
    status, _, body = await get(server.site_url + "search/?q=self-hosted+runners")
    assert status == 200
    assert f'href="/meetings/2026-11-26/#t={sample.phrase_at}"' in body
    assert "<mark>" in body


async def test_action_items_are_split_into_overdue_open_and_done(server, sample):
    _, _, body = await get(server.site_url + "actions/")
    overdue = body.split('id="overdue"')[1].split('id="open"')[0]
    done = body.split('id="done"')[1]
    assert "Collect the runner invoices" in overdue and "Price self-hosted runners" not in overdue
    assert "Write the CI budget note" in done and "https://github.com/wg/meetings/issues/7" in done
    assert "Write the CI budget note" not in body.split('id="open"')[1].split('id="done"')[0]


async def test_a_wish_raised_in_two_meetings_lists_both(server, sample):
    _, _, body = await get(server.site_url + "wishes/")
    row = re.search(r"<tr>\s*<td><strong>Dark mode for the dashboard.*?</tr>", body, re.S).group(0)
    assert "2×" in row and "2026-11-19" in row and "2026-11-26" in row


def test_stats_come_from_the_published_history(db, sample):
    with db.session() as session:
        group = public.first_group(session)
        figures = stats.compute(session, group)
    assert figures.meetings_held == 2 and figures.meetings_per_month == [("2026-11", 2)]
    assert figures.attendance == [("2026-11-19", 2), ("2026-11-26", 3)]  # Olga opted out: not counted
    # Bob's item: created 2026-11-19 18:00, closed 2026-11-24 09:00.
    assert figures.median_days_to_close == 4.6 and figures.done_items == 1
    shares = dict(figures.talk_time[-1][1])
    assert "Olga" not in shares and abs(sum(shares.values()) - 1.0) < 1e-9


async def test_the_stats_page_draws_its_charts_as_svg(server, sample):
    _, _, body = await get(server.site_url + "stats/")
    assert body.count("<svg") == 4 and body.count("<figure") == 4
    assert "4.6 days" in body


def test_the_kept_meeting_list_follows_lines_deleted_as_forgetting_someone_deletes_them(db, sample):
    with db.session() as session:
        group = public.first_group(session)
        before = {m.slug: m.attendees for m in public.published_meetings(session, group)}  # computed and kept
        assert before["2026-11-19"] == ["Ada", "Bob"]
    with db.session() as session:  # what tracker/forget.py does to a person's lines (not the newest rows)
        session.exec(
            delete(TranscriptSegment).where(
                TranscriptSegment.meeting_id == sample.published[0], TranscriptSegment.speaker == "Bob"
            )
        )
        index_meeting(session, sample.published[0])
    with db.session() as session:
        after = {m.slug: m.attendees for m in public.published_meetings(session, public.first_group(session))}
    assert after["2026-11-19"] == ["Ada"]
