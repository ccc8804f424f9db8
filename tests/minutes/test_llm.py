"""The model runtime with a real (tiny) GGUF model: loading once, schema-constrained answers, retries, errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pydantic import BaseModel, Field

from tests.minutes.test_llama_model import _resident_kib
from tracker.config import load_settings
from transcripts.answer_cache import AnswerCache
from transcripts.llm import LLMError, LocalLLM, available_threads, load_llm, schema_for
from transcripts.model_files import ModelFileError, llm_model_path

TINY = "smollm2-135m-q8_0"  # follows a schema, poor content: plumbing only


class Colors(BaseModel):
    colors: list[str] = Field(max_length=3)
    title: str = Field(max_length=20)  # a field called "title" must survive the schema clean-up


@pytest.fixture(scope="module")
def tiny():
    model = load_llm(TINY)
    model.load_weights()
    return model


def test_the_model_is_loaded_once_per_process_with_the_machines_threads(tiny):
    assert load_llm(TINY) is tiny
    assert tiny.threads == available_threads() >= 1


def test_the_loaded_weights_do_not_keep_the_model_file_resident(tmp_path):
    """The weights load through the mapping that gives its pages back (`llama_model._page_releaser`): right after
    the load the process holds under a tenth of the file, whether llama.cpp repacked the tensors or uses them in
    place (they fault back in where a question reads them)."""
    path = tmp_path / "model.gguf"  # a file no other test's model has mapped
    shutil.copyfile(llm_model_path(TINY), path)
    fresh = LocalLLM(path, n_ctx=512, threads=1)
    fresh.load_weights()
    assert 0 <= _resident_kib(path) < path.stat().st_size // 1024 // 10
    answer = fresh.ask(
        system="You answer in JSON.", user="Name a color.", answer_model=Colors, max_tokens=40, purpose="c"
    )
    assert answer is not None


def test_the_weights_wait_for_the_first_question_the_answer_cache_cannot_answer(tmp_path):
    """Minutes whose answers were all read ahead during the call need the tokenizer only (to cut the same parts and
    build the same prompts): the weights, most of the model's memory and load time, are never read."""
    path = Path(llm_model_path(TINY))
    asked = dict(system="You answer in JSON.", user="Name a color.", answer_model=Colors, max_tokens=40, purpose="c")
    cache = AnswerCache(tmp_path / "answers.jsonl")
    first = LocalLLM(path, n_ctx=1024, threads=1)
    assert not first.weights_loaded and first.count_tokens("Name a color.") > 0
    with first.answers_from(cache):
        answer = first.ask(**asked)
    assert first.weights_loaded and first.load_seconds > 0 and answer is not None

    again = LocalLLM(path, n_ctx=1024, threads=1)
    with again.answers_from(cache):
        assert again.ask(**asked) == answer
    assert again.stats[-1].cached and not again.weights_loaded and again.load_seconds == 0.0


def test_a_model_file_cut_short_fails_at_load_not_at_the_first_question(tmp_path):
    cut = tmp_path / "cut.gguf"
    data = Path(llm_model_path(TINY)).read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(LLMError, match="cut.gguf"):
        LocalLLM(cut, n_ctx=1024, threads=1)


def test_the_schema_keeps_field_names_and_caps():
    schema = schema_for(Colors)
    assert set(schema["properties"]) == {"colors", "title"}
    assert schema["properties"]["colors"]["maxItems"] == 3
    assert schema["properties"]["title"]["maxLength"] == 20


def test_answers_are_constrained_and_validated(tiny):
    answer = tiny.ask(
        system="You answer in JSON.",
        user='Name three colors, as {"colors": [...], "title": "..."}.',
        answer_model=Colors,
        max_tokens=80,
        purpose="colors",
    )
    assert isinstance(answer, Colors)
    assert 0 < len(answer.colors) <= 3 and len(answer.title) <= 20
    assert tiny.stats[-1].purpose == "colors" and tiny.stats[-1].ok and tiny.stats[-1].completion_tokens > 0


def test_the_shared_prompt_prefix_is_read_once(tiny):
    prefix = "Here is a long list of fruit: " + ", ".join(f"fruit number {i}" for i in range(60)) + ".\n"
    for question in ("Which fruit comes first?", "Which fruit comes last?"):
        tiny.ask(
            system="You answer in JSON.",
            user=prefix + question + ' Answer {"colors": [], "title": "..."}',
            answer_model=Colors,
            max_tokens=40,
            purpose="prefix",
        )
    first, second = tiny.stats[-2], tiny.stats[-1]
    assert first.prompt_tokens > 300
    assert second.evaluated_tokens < first.prompt_tokens / 4  # llama.cpp reused the cached prefix


def test_a_malformed_answer_is_retried_once_then_given_up(tiny, caplog):
    before = len(tiny.stats)
    # Three tokens cannot hold the object: both attempts end in broken JSON.
    answer = tiny.ask(
        system="You answer in JSON.", user="Name three colors.", answer_model=Colors, max_tokens=3, purpose="truncated"
    )
    assert answer is None
    attempts = tiny.stats[before:]
    assert [(s.ok, s.retried) for s in attempts] == [(False, False), (False, True)]
    assert "unusable model answer" in caplog.text


def test_bad_model_files_fail_with_one_line(tmp_path):
    with pytest.raises(ModelFileError) as missing:
        load_llm(str(tmp_path / "nothing.gguf"))
    assert "nothing.gguf" in str(missing.value) and "\n" not in str(missing.value)
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"not a gguf file" * 100)
    with pytest.raises(LLMError) as broken:
        load_llm(str(junk))
    assert "junk.gguf" in str(broken.value) and "\n" not in str(broken.value)


@pytest.mark.parametrize(
    ("setting", "amx", "version", "wanted"),
    [
        ("auto", False, "0.3.36", True),  # other CPUs: llama.cpp's repacking as it comes
        ("auto", True, "0.3.36", False),  # AMX with a stock build: its tile configuration crashes the process
        ("auto", True, "0.3.36+wgbot.amx", True),  # ... fixed by scripts/build-llama-cpp.sh
        ("0", True, "0.3.36+wgbot.amx", False),
        ("on", True, "0.3.36", True),
    ],
)
def test_extra_buffer_types_are_used_where_they_work(monkeypatch, setting, amx, version, wanted):
    import llama_cpp

    from transcripts import llm

    monkeypatch.setenv("WGBOT_LLM_EXTRA_BUFFERS", setting)
    load_settings()  # the setting reaches transcripts through the settings, not the environment
    monkeypatch.setattr(llm.cpu, "has_amx", lambda: amx)
    monkeypatch.setattr(llama_cpp, "__version__", version)
    assert llm._extra_buffers_wanted() is wanted


def test_this_machines_build_takes_the_cpus_matrix_units_when_it_has_them(monkeypatch):
    """The set-up script's build is the one with the AMX fix: on an AMX CPU the model runs on AMX (and the suite's
    real inference proves it does not crash)."""
    import llama_cpp

    from transcripts import llm, runtime

    runtime.configure(model_dir=runtime.current().model_dir)  # the default choice, whatever this run set
    assert llama_cpp.__version__.endswith(llm.AMX_FIXED_LABEL)
    if llm.cpu.has_amx():
        assert llm._extra_buffers_wanted()
