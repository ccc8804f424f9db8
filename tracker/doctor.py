"""`wgbot doctor`'s checks of the database, the models, GitHub and the forum (the Discord ones are in `bot.doctor`),
without changing anything. One line per check.

Each check returns (ok, message). Checks that need a setting which is not configured are reported as skipped,
so a partial deployment (no forum, say) still gets a useful report.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from tracker.config import Settings

log = logging.getLogger(__name__)

TIMEOUT = httpx.Timeout(15.0)


@dataclass
class Check:
    name: str
    status: str  # "ok", "fail", "skip"
    detail: str

    @property
    def line(self) -> str:
        mark = {"ok": "✔", "fail": "✘", "skip": "–"}[self.status]
        return f"{mark} {self.name}: {self.detail}"


def _guarded(name: str, fn: Callable[[], str]) -> Check:
    try:
        return Check(name, "ok", fn())
    except _Skip as exc:
        return Check(name, "skip", str(exc))
    except Exception as exc:  # a check's failure is its report, never a crash of the doctor
        return Check(name, "fail", _plain(exc))


class _Skip(Exception):
    pass


def _plain(exc: Exception) -> str:
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code} from {exc.request.url.copy_with(query=None)}"
    if isinstance(exc, httpx.HTTPError):
        return f"cannot reach {exc.request.url.host if exc.request else 'the server'} ({type(exc).__name__})"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


# ---- database and models -------------------------------------------------------------------------------------


def check_database(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    from tracker import db as dbmod

    url = make_url(dbmod.normalize_url(settings.storage.url))
    if url.drivername.startswith("sqlite") and url.database and not Path(url.database).exists():
        raise RuntimeError(f"no database at {url.database}: run `wgbot db upgrade`")  # and do not create one
    database = dbmod.Database(settings.storage.url)
    try:
        current, head = dbmod.current_revision(database.engine), dbmod.head_revision()
    finally:
        database.dispose()
    if current != head:
        raise RuntimeError(f"schema at {current or 'nothing'}, wgbot needs {head}: run `wgbot db upgrade`")
    return f"{database.engine.url.render_as_string(hide_password=True)} at revision {head}"


def check_whisper(settings: Settings) -> str:
    from transcripts.engines import load_engine

    m = settings.models
    load_engine(m.whisper_engine, m.whisper_model, m.whisper_compute_type, m.threads)
    return f"{m.whisper_engine} {m.whisper_model} ({m.whisper_compute_type}) loaded"


def check_llm(settings: Settings) -> str:
    from transcripts.model_files import llm_model_path

    path = llm_model_path(settings.models.llm_model)
    from transcripts.llm import load_llm

    load_llm(settings.models.llm_model, threads=settings.models.threads).load_weights()
    return f"{settings.models.llm_model} loaded from {path}"


FASTER_ON_AVX2 = "qwen2.5-coder-1.5b-q4_k_m"


def check_cpu(settings: Settings, flags: set[str] | None = None) -> str:
    """The vector units the models will run on, and what they mean for a meeting's wait: the minutes take several
    times longer on a CPU with AVX2 only than with AVX-512 or AMX (README, "On an older CPU")."""
    from transcripts import cpu

    flags = cpu.cpu_flags() if flags is None else flags
    if not flags:
        return "CPU features unknown (no /proc/cpuinfo)"
    if "avx2" not in flags:
        raise RuntimeError("the CPU has no AVX2: wgbot's models need at least AVX2 (x86-64-v3)")
    if "amx_int8" in flags:
        return "AMX: llama.cpp runs the summary model on the matrix units"
    if "avx512f" in flags:
        return "AVX-512, no AMX"
    advice = ""
    if settings.models.llm_model != FASTER_ON_AVX2:
        advice = f"; WGBOT_LLM_MODEL={FASTER_ON_AVX2} takes about a fifth less"
    return "AVX2 only (no AVX-512, no AMX): the minutes of a long call take several minutes after it ends" + advice


# ---- GitHub and the forum ------------------------------------------------------------------------------------


def check_github(settings: Settings) -> str:
    g = settings.github
    if not g.repo or not g.token:
        raise _Skip("WGBOT_GITHUB_REPO or WGBOT_GITHUB_TOKEN is not set")
    headers = {"Authorization": f"Bearer {g.token.get_secret_value()}", "Accept": "application/vnd.github+json"}
    with httpx.Client(base_url=g.api_url.rstrip("/"), headers=headers, timeout=TIMEOUT) as client:
        response = client.get(f"/repos/{g.repo}")
        if response.status_code == 401:
            raise RuntimeError("the token was rejected (401)")
        if response.status_code == 404:
            raise RuntimeError(f"{g.repo} not found, or the token cannot see it")
        response.raise_for_status()
        repo = response.json()
    permissions = repo.get("permissions") or {}
    # Creating labels and issues and committing the archive needs write (push) access; triage alone cannot commit.
    if not (permissions.get("push") or permissions.get("admin") or permissions.get("maintain")):
        raise RuntimeError(
            f"{g.repo}: the token can read but not write (labels, issues and the archive need write access)"
        )
    if not repo.get("has_issues", True):
        raise RuntimeError(f"{g.repo}: issues are disabled on the repository")
    return f"{repo['full_name']} reachable; the token can create labels, issues and commit the archive"


def check_forum(settings: Settings) -> str:
    f = settings.forum
    if not (f.url and f.api_key and f.api_username and f.topic_id):
        raise _Skip("WGBOT_FORUM_URL, _API_KEY, _API_USERNAME or _TOPIC_ID is not set")
    headers = {"Api-Key": f.api_key.get_secret_value(), "Api-Username": f.api_username, "Accept": "application/json"}
    with httpx.Client(base_url=f.url, headers=headers, timeout=TIMEOUT) as client:
        response = client.get(f"/t/{f.topic_id}.json")
        if response.status_code in (403, 404):
            raise RuntimeError(f"topic {f.topic_id} not found or not readable by {f.api_username}")
        response.raise_for_status()
        topic = response.json()
    if topic.get("closed") or topic.get("archived"):
        raise RuntimeError(f"topic {f.topic_id} ({topic.get('title')}) is closed: replies would be refused")
    return f'topic {f.topic_id} "{topic.get("title")}" readable by {f.api_username}'


def local_checks(settings: Settings, *, models: bool = True) -> Iterator[Check]:
    """The database and, with `models`, the Whisper and summary models (loaded, as a meeting would load them)."""
    yield _guarded("database", lambda: check_database(settings))
    if models:
        yield _guarded("cpu", lambda: check_cpu(settings))
        yield _guarded("whisper model", lambda: check_whisper(settings))
        yield _guarded("summary model", lambda: check_llm(settings))


def service_checks(settings: Settings) -> Iterator[Check]:
    """GitHub and the forum: reachable, and the credentials allow what publishing does."""
    yield _guarded("github", lambda: check_github(settings))
    yield _guarded("forum", lambda: check_forum(settings))
