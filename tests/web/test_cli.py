"""`wgbot web` serves the home and the calendar feed from one server; `wgbot site --out DIR` writes the static site."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.fakes.github_server import FakeGithub
from tests.web.sample import PHRASE, UNPUBLISHED_WORDS

WGBOT = str(Path(sys.executable).with_name("wgbot"))


@pytest.fixture
def db(sqlite_db):
    """The commands read the default database of WGBOT_DATA_DIR, where sqlite_db lives."""
    return sqlite_db


def _env(tmp_path) -> dict:
    return {**os.environ, "WGBOT_DATA_DIR": str(tmp_path), "COLUMNS": "200"}


def test_wgbot_site_writes_a_page_per_published_meeting_and_a_search_index(sample, tmp_path):
    out = tmp_path / "site"
    result = subprocess.run(
        [WGBOT, "site", "--out", str(out)], capture_output=True, text=True, timeout=120, env=_env(tmp_path)
    )
    assert result.returncode == 0, result.stderr
    assert re.search(r"wrote \d+ pages \(2 meetings", result.stdout)
    for page in (
        "index.html",
        "meetings/index.html",
        "meetings/2026-11-19/index.html",
        "meetings/2026-11-26/index.html",
    ):
        assert (out / page).is_file(), page
    assert (out / "meetings/2026-11-26/transcript.vtt").read_text().startswith("WEBVTT")
    assert not (out / "meetings/2026-11-12").exists()  # not published
    index = (out / "search-index.js").read_text()
    assert PHRASE in index and UNPUBLISHED_WORDS not in index
    assert 'href="meetings/2026-11-26/index.html"' in (out / "index.html").read_text()


def test_wgbot_site_refuses_a_file_as_its_folder(sample, tmp_path):
    (tmp_path / "file").write_text("x")
    result = subprocess.run(
        [WGBOT, "site", "--out", str(tmp_path / "file")],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(tmp_path),
    )
    assert result.returncode == 1 and "is not a folder" in result.stderr and "Traceback" not in result.stderr


def test_wgbot_web_serves_the_home_and_the_feed_until_interrupted(sample, tmp_path):
    process = subprocess.Popen(
        [WGBOT, "web", "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(tmp_path)
    )
    try:
        line = process.stdout.readline()
        home, feed = re.search(r"web home at (\S+) · calendar feed at (\S+)", line).groups()
        assert home.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(home + "meetings/2026-11-26/", timeout=30) as response:
            assert response.status == 200 and PHRASE in response.read().decode()
        with urllib.request.urlopen(feed, timeout=30) as response:
            assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    finally:
        process.send_signal(signal.SIGINT)
        started = time.monotonic()
        process.wait(timeout=30)
    assert process.returncode == 0 and time.monotonic() - started < 30


def test_wgbot_site_publish_commits_once(sample, tmp_path):
    with FakeGithub(token="ghp_test_token_0123456789", repo="wg/meetings") as github:
        env = _env(tmp_path) | {
            "WGBOT_GITHUB_REPO": "wg/meetings",
            "WGBOT_GITHUB_TOKEN": "ghp_test_token_0123456789",
            "WGBOT_GITHUB_API_URL": github.api_url,
        }
        first = subprocess.run([WGBOT, "site", "--publish"], capture_output=True, text=True, timeout=120, env=env)
        assert first.returncode == 0, first.stderr
        assert re.search(r"committed \d+ changed and 0 removed file\(s\) to wg/meetings main:site", first.stdout)
        again = subprocess.run([WGBOT, "site", "--publish"], capture_output=True, text=True, timeout=120, env=env)
        assert again.returncode == 0 and "already holds this site" in again.stdout
        assert len(github.repo.commits) == 1
    missing = subprocess.run([WGBOT, "site"], capture_output=True, text=True, timeout=120, env=_env(tmp_path))
    assert missing.returncode == 2 and "--out DIR, or --publish" in missing.stderr
