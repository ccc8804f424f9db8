"""The web home in a real headless Chromium (Debian's `chromium`, driven by Playwright): every page at desktop and
phone width loads without console errors and without serious or critical axe-core violations, and is photographed
into tests/web/screenshots/ (or WGBOT_SCREENSHOT_DIR); search finds a phrase from a transcript and its link lands on
the line; a `#t=` address scrolls to its line, with and without JavaScript; the static export searches offline."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.web.export import export_site
from bot.web.live import link_path
from tests.web.sample import NOW, PHRASE
from tests.web.test_live import say
from tracker.models import Meeting, MeetingState

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(os.environ.get("WGBOT_AXE_DIR", Path.home() / ".cache/wgbot/npm")) / "node_modules/axe-core/axe.min.js"
SHOTS = Path(os.environ.get("WGBOT_SCREENSHOT_DIR", Path(__file__).with_name("screenshots")))
WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
PAGES = {
    "home": "",
    "meetings": "meetings/",
    "meeting": "meetings/2026-11-26/",
    "upcoming": "meetings/2026-12-03/",
    "actions": "actions/",
    "wishes": "wishes/",
    "search": "search/?q=self-hosted+runners",
    "stats": "stats/",
    "projects": "projects/",
}

async_playwright = pytest.importorskip("playwright.async_api").async_playwright
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium (apt-get install chromium)")


@pytest.fixture
def db(sqlite_db):
    """The browser sees the same pages on either database (tests/web/test_pages.py runs both): SQLite only here."""
    return sqlite_db


@pytest.fixture
async def browser():
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield browser
        await browser.close()


async def _page(browser, viewport=WIDTHS["desktop"], **options):
    # bypass_csp: axe-core is injected as an inline script, which the site's policy rightly refuses.
    context = await browser.new_context(viewport=viewport, bypass_csp=True, **options)
    page = await context.new_page()
    await page.clock.set_fixed_time(NOW)  # the countdown counts from the sample's Monday, like the server
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    return page, problems


async def _serious_violations(page) -> list[str]:
    await page.add_script_tag(path=str(AXE))
    result = await page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


async def test_every_page_loads_cleanly_passes_axe_and_is_photographed(server, sample, browser):
    # A test dependency: missing, the accessibility check must fail, not pass quietly.
    assert AXE.exists(), f"axe-core is not installed at {AXE} (scripts/setup.sh installs it with npm)"
    SHOTS.mkdir(parents=True, exist_ok=True)
    failures = []
    for width, viewport in WIDTHS.items():
        page, problems = await _page(browser, viewport)
        for name, path in PAGES.items():
            problems.clear()
            response = await page.goto(server.site_url + path)
            await page.wait_for_load_state("networkidle")
            assert response.status == 200, (name, response.status)
            await page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
            violations = await _serious_violations(page)
            if problems or violations:
                failures.append((name, width, problems[:], violations))
        await page.context.close()
    assert not failures, failures
    assert len(list(SHOTS.glob("*.png"))) >= len(PAGES) * len(WIDTHS)


async def test_an_unknown_page_is_a_readable_404_in_the_browser(server, sample, browser):
    page, problems = await _page(browser)
    response = await page.goto(server.site_url + "meetings/1999-01-01/")
    assert response.status == 404
    assert await page.locator("h1").inner_text() == "Not found"
    assert "no published meeting on 1999-01-01" in await page.locator("main").inner_text()
    # The only error Chromium reports is the 404 of the page itself.
    assert all("404" in p for p in problems), problems
    await page.screenshot(path=str(SHOTS / "not-found-desktop.png"))


async def test_search_finds_a_transcript_phrase_and_its_link_lands_on_the_line(server, sample, browser):
    page, problems = await _page(browser)
    await page.goto(server.site_url)
    await page.get_by_role("searchbox", name="Search the meetings").fill(PHRASE)
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/search/?q=*")
    said = page.locator("ol.hits li").filter(has_text="We should move to")  # the transcript line among the hits
    assert await said.count() == 1
    await said.locator("a").click()
    await page.wait_for_url(f"**/meetings/2026-11-26/#t={sample.phrase_at}")
    line = page.locator(f'[id="t={sample.phrase_at}"]')
    assert PHRASE in await line.inner_text()
    assert await line.evaluate("el => el.classList.contains('target')")
    assert await _in_viewport(page, line)
    assert not problems, problems


async def _in_viewport(page, locator) -> bool:
    box = await locator.bounding_box()
    height = await page.evaluate("window.innerHeight")
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= height


async def test_a_time_link_between_line_starts_scrolls_to_the_line_being_spoken(server, sample, browser):
    page, problems = await _page(browser)
    await page.goto(server.site_url + "meetings/2026-11-26/#t=757")  # the line from 12:34 to 12:40
    line = page.locator(f'[id="t={sample.phrase_at}"]')
    await page.wait_for_function(f"document.getElementById('t={sample.phrase_at}').classList.contains('target')")
    assert await _in_viewport(page, line)
    scrolled = await page.evaluate("window.scrollY")
    await page.evaluate("location.hash = '#t=5'")  # a later jump in the same page goes back up
    await page.wait_for_function(f"window.scrollY < {scrolled}")
    assert not problems, problems


async def test_a_time_link_lands_on_its_line_without_javascript(server, sample, browser):
    page, _ = await _page(browser, java_script_enabled=False)
    await page.goto(server.site_url + f"meetings/2026-11-26/#t={sample.phrase_at}")
    assert await _in_viewport(page, page.locator(f'[id="t={sample.phrase_at}"]'))
    assert await page.evaluate("window.scrollY") > 0


async def test_local_times_and_the_countdown_are_added_by_the_script(server, sample, browser):
    page, problems = await _page(browser, timezone_id="Asia/Tokyo")
    await page.goto(server.site_url)
    local = await page.locator(".next .local-time").inner_text()
    assert "your time" in local and "02:00" in local  # 17:00 UTC is 02:00 the next day in Tokyo
    assert not problems, problems


async def test_the_static_site_searches_offline_and_links_to_the_moment(db, sample, browser, tmp_path):
    out = tmp_path / "site"
    export_site(db, out)
    page, problems = await _page(browser)
    await page.goto((out / "search" / "index.html").as_uri() + "?q=self-hosted+runners")
    said = page.locator("ol.hits li").filter(has_text="We should move to")
    await said.wait_for()
    assert "<mark>" in await said.inner_html()
    await said.locator("a").click()
    await page.wait_for_function("location.hash === '#t=754'")
    assert await page.locator('[id="t=754"]').evaluate("el => el.classList.contains('target')")
    assert "/meetings/2026-11-26/index.html" in page.url
    assert not problems, problems
    await page.goto((out / "index.html").as_uri())
    assert await page.locator("h1").inner_text() == "DAI working group"


async def test_the_live_page_shows_a_new_line_within_two_seconds_of_its_transcription(
    server, sample, browser, tmp_path, db
):
    folder = tmp_path / "live"
    folder.mkdir()
    with db.session() as session:
        call = Meeting(
            group_id=sample.group_id,
            scheduled_start=NOW,
            title="Live call",
            state=MeetingState.recording,
            recording_dir=str(folder),
        )
        session.add(call)
        session.flush()
        meeting_id = call.id
    say(folder, "Ada", 1.0, "Hello and welcome.")
    page, problems = await _page(browser)
    await page.goto(server.site_url + link_path(server.live.secret, meeting_id, 600))
    assert await page.locator("#live-lines .line").count() == 1
    await page.wait_for_timeout(300)  # the stream is open
    say(folder, "Bob", 4.0, "This line was just transcribed.")
    await page.locator("#live-lines .line", has_text="This line was just transcribed.").wait_for(timeout=2000)
    await page.screenshot(path=str(SHOTS / "live-desktop.png"), full_page=True)
    assert not await _serious_violations(page)
    assert not problems, problems
