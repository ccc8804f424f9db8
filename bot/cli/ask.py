"""`wgbot ask QUESTION`: an answer from the recorded meetings, cited by meeting date and time, and `wgbot catchup`."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from bot.cli.common import console, database, fail, settings
from bot.cli.search import parse_day
from tracker import ask as asking
from tracker import schedule
from transcripts.llm import LLMError, load_llm
from transcripts.model_files import ModelFileError


def ask(
    question: Annotated[str, typer.Argument(help="the question, in plain words")],
    since: Annotated[str | None, typer.Option(help="only meetings on or after this date, YYYY-MM-DD")] = None,
) -> None:
    """Answer a question from what was said in the recorded meetings, citing each statement."""
    loaded = settings()
    db = database(loaded)
    day = parse_day(since, "--since")
    models = loaded.models
    if models.model_dir:
        os.environ.setdefault("WGBOT_MODEL_DIR", str(models.model_dir))
    try:
        # Loaded only when the archive has something relevant: a question nobody discussed is answered at once.
        answer = asking.ask(db, question, since=day, llm=lambda: load_llm(models.llm_model, threads=models.threads))
    except asking.AskError as exc:
        fail(str(exc))
    except (LLMError, ModelFileError) as exc:
        fail(f"the language model: {exc}")
    console.print(answer.render(limit=10_000), markup=False, highlight=False)
    if not answer.answered:
        raise typer.Exit(1)


def catchup(count: Annotated[int, typer.Argument(min=1, max=asking.MAX_CATCHUP, help="how many meetings")] = 3) -> None:
    """The last meetings' decisions, open action items and wishes."""
    loaded = settings()
    with database(loaded).session() as session:
        group = schedule.ensure_group(session, loaded)
        text = asking.render_catchup(asking.catchup(session, group, count), limit=100_000)
    console.print(text, markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.command("ask")(ask)
    app.command("catchup")(catchup)
