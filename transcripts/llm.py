"""The local language model: one llama.cpp model per process, answering in JSON that a schema allows.

Every answer is generated under a grammar built from a JSON schema (so it parses), then validated by pydantic (so it
means what we asked). A malformed or empty answer is asked once more with a stricter prompt; if that fails too the
caller gets None and decides what to say about the missing part. Decoding is greedy (`transcripts.decoding`, with
prompt-lookup speculation), so the same transcript gives the same minutes.

    llm = load_llm("qwen2.5-coder-1.5b-q8_0")       # an offline name, a .gguf path or an https URL
    answer = llm.ask(system=..., user=..., answer_model=MyModel, max_tokens=200, purpose="actions")
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import threading
import time
from collections.abc import Generator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from transcripts import cpu, runtime
from transcripts.answer_cache import AnswerCache, answer_key
from transcripts.cpu import available_threads
from transcripts.decoding import DRAFT_TOKENS, Completion, Decoder, DecodingError, Request
from transcripts.llama_model import LlamaLoadError, LlamaModel, LlamaVocab
from transcripts.memory import release_freed_memory
from transcripts.model_files import DEFAULT_LLM_MODEL, llm_model_path

log = logging.getLogger(__name__)


T = TypeVar("T", bound=BaseModel)

# The KV cache is shared by the answers decoded side by side (`transcripts.decoding`): room for about three parts
# of a transcript and their questions at once (28 KB per token for Qwen2.5-1.5B).
DEFAULT_N_CTX = 6144
PARALLEL_SEQUENCES = 16  # llama.cpp sequences: answers under way plus finished ones kept for their prompt's start
PARALLEL_ANSWERS = 12  # answers under way at once (the KV cache's room limits them too)
REPEAT_PENALTY = 1.1  # small models loop on lists and summaries without it

STRICT_SUFFIX = (
    "\n\nYour previous answer was not usable. Answer again with ONLY one JSON object exactly in the form asked: "
    "no other text, every string short. If nothing applies, use an empty list."
)


class LLMError(RuntimeError):
    """The language model could not be loaded or run."""


@dataclass(slots=True)
class CallStats:
    """What one request cost: tokens read and written and the time spent on each (llama.cpp's own counters)."""

    purpose: str
    prompt_tokens: int  # tokens in the prompt
    evaluated_tokens: int  # prompt tokens actually computed (the rest came from the cached prefix)
    completion_tokens: int
    prompt_seconds: float
    generation_seconds: float
    wall_seconds: float
    drafted_tokens: int = 0  # proposed by prompt lookup (transcripts.decoding)
    accepted_tokens: int = 0  # ... and kept
    ok: bool = True
    retried: bool = False
    cached: bool = False  # answered from the answer cache, without the model


@dataclass(slots=True)
class UsageTotals:
    calls: int = 0
    prompt_tokens: int = 0
    evaluated_tokens: int = 0
    completion_tokens: int = 0
    prompt_seconds: float = 0.0
    generation_seconds: float = 0.0
    wall_seconds: float = 0.0
    drafted_tokens: int = 0
    accepted_tokens: int = 0
    failures: int = 0
    cached: int = 0

    @property
    def prompt_tokens_per_second(self) -> float:
        return self.evaluated_tokens / self.prompt_seconds if self.prompt_seconds else 0.0

    @property
    def generation_tokens_per_second(self) -> float:
        return self.completion_tokens / self.generation_seconds if self.generation_seconds else 0.0


# The local version label of the llama-cpp-python that scripts/setup.sh builds: llama.cpp with its AMX tile
# configuration fixed (scripts/llama-cpp-amx-tile-config.patch) and int8 kernels for x86 CPUs without AMX
# (scripts/llama-cpp-q8_0-x86-repack.patch).
AMX_FIXED_LABEL = "+wgbot.amx"


def _extra_buffers_wanted() -> bool:
    """Whether llama.cpp may repack the weights for the CPU's matrix units (AMX on recent Xeons). A stock
    llama.cpp built by GCC 12 loads an AMX tile configuration whose stores the compiler dropped, and the first
    batched decode dies; scripts/build-llama-cpp.sh fixes that (the `+wgbot.amx` label). Off for any other build
    on an AMX CPU."""
    setting = runtime.current().llm_extra_buffers
    if setting != "auto":
        return setting == "on"
    import llama_cpp

    return not cpu.has_amx() or llama_cpp.__version__.endswith(AMX_FIXED_LABEL)


def _grammar_for(schema: dict) -> str:
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    return json_schema_to_gbnf(json.dumps(schema))


def schema_for(answer_model: type[BaseModel]) -> dict:
    """The JSON schema of a pydantic answer model, inlined (the grammar converter handles no $ref across files)."""
    schema = answer_model.model_json_schema()
    defs = schema.pop("$defs", {})

    def inline(node, is_properties: bool = False):
        if isinstance(node, dict):
            if "$ref" in node:
                return inline(defs[node["$ref"].rsplit("/", 1)[-1]])
            if is_properties:  # keys are field names here (a field may be called "title")
                return {k: inline(v) for k, v in node.items()}
            return {k: inline(v, k == "properties") for k, v in node.items() if k not in ("title", "default")}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    return inline(schema)


@dataclass
class LocalLLM:
    """A GGUF model: its tokenizer loaded at once, its weights at the first question the answer cache cannot answer.
    Not thread-safe by itself: calls are serialized by a lock."""

    path: Path
    n_ctx: int
    threads: int
    draft_tokens: int = DRAFT_TOKENS  # proposed per step by prompt lookup (transcripts.decoding); 0: none
    parallel: int = PARALLEL_ANSWERS  # answers decoded side by side at most; 1: one at a time
    stats: list[CallStats] = field(default_factory=list)

    def __post_init__(self) -> None:
        try:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter
        except ImportError as exc:  # pragma: no cover - the dependency is required
            raise LLMError("llama-cpp-python is not installed; run scripts/setup.sh") from exc

        self._lock = threading.Lock()
        self._grammars: dict[str, str] = {}
        self._cache: AnswerCache | None = None
        self._identity = f"{self.path.name}:{self.path.stat().st_size}"  # what an answer cache key names the model by
        # The tokenizer now, the weights at the first question the answer cache cannot answer: minutes whose answers
        # were all read ahead during the call never load them.
        try:
            self._model: LlamaVocab = LlamaVocab(self.path)
        except LlamaLoadError as exc:
            raise LLMError(f"could not load the language model {self.path}: {exc}") from exc
        template = self._model.metadata("tokenizer.chat_template")
        if not template:
            raise LLMError(f"{self.path.name} has no chat template: use an instruction-tuned (chat) GGUF model")
        eos, bos = self._model.eos, self._model.bos
        self._chat = Jinja2ChatFormatter(
            template=template,
            eos_token=self._model.token_text(eos) if eos != -1 else "",
            bos_token=self._model.token_text(bos) if bos != -1 else "",
        )
        self.load_seconds = 0.0  # of the weights, once loaded

    @functools.cached_property
    def _decoder(self) -> Decoder:
        """The weights and their decoder, loaded at first use."""
        started = time.perf_counter()
        extra_buffers = _extra_buffers_wanted()
        try:
            weights = LlamaModel(
                self.path,
                n_ctx=self.n_ctx,
                n_batch=512,
                n_ubatch=512,
                threads=self.threads,
                n_seq_max=PARALLEL_SEQUENCES,
                flash_attn=True,  # its CPU kernel skips the other sequences' cells of the shared KV cache
                extra_buffers=extra_buffers,
            )
        except LlamaLoadError as exc:
            raise LLMError(f"could not load the language model {self.path}: {exc}") from exc
        self.load_seconds = time.perf_counter() - started
        log.info(
            "loaded %s (n_ctx=%d, %d threads, extra buffer types %s) in %.1f s",
            self.path.name,
            self.n_ctx,
            self.threads,
            "on" if extra_buffers else "off",
            self.load_seconds,
        )
        self._model = weights  # it tokenizes too: the vocabulary-only copy (tens of MB) goes
        return Decoder(weights, draft_tokens=self.draft_tokens, max_active=self.parallel)

    @property
    def weights_loaded(self) -> bool:
        return "_decoder" in self.__dict__

    def load_weights(self) -> float:
        """Load the weights now rather than at the first question (a health check, a timed run); seconds taken."""
        with self._lock:
            self._decoder  # noqa: B018 - loading is the point
        return self.load_seconds

    def use_threads(self, threads: int) -> None:
        """Compute with `threads` threads from the next question on, whether the weights are loaded yet or not."""
        with self._lock:
            self.threads = threads
            if isinstance(self._model, LlamaModel):  # the weights are loaded
                self._model.set_threads(threads)

    @property
    def name(self) -> str:
        return self.path.name

    def count_tokens(self, text: str) -> int:
        return len(self._model.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def totals(self, since: int = 0) -> UsageTotals:
        totals = UsageTotals()
        for stat in self.stats[since:]:
            totals.calls += 1
            totals.prompt_tokens += stat.prompt_tokens
            totals.evaluated_tokens += stat.evaluated_tokens
            totals.completion_tokens += stat.completion_tokens
            totals.prompt_seconds += stat.prompt_seconds
            totals.generation_seconds += stat.generation_seconds
            totals.wall_seconds += stat.wall_seconds
            totals.drafted_tokens += stat.drafted_tokens
            totals.accepted_tokens += stat.accepted_tokens
            totals.failures += 0 if stat.ok else 1
            totals.cached += stat.cached
        return totals

    @contextlib.contextmanager
    def answers_from(self, cache: AnswerCache | None):
        """Within this block, questions answered before (in `cache`) are not asked again, and new answers are kept."""
        previous, self._cache = self._cache, cache
        try:
            yield self
        finally:
            self._cache = previous

    def ask(
        self,
        *,
        system: str,
        user: str,
        answer_model: type[T],
        max_tokens: int,
        purpose: str,
        retry_note: str = STRICT_SUFFIX,
    ) -> T | None:
        """The model's answer as `answer_model`, or None when it gave nothing usable twice.

        The second attempt appends `retry_note` to the user message (greedy decoding would otherwise repeat the
        first answer word for word); appending keeps the cached prompt start valid, so the retry costs little.
        """
        answers: list[T | None] = []

        def one() -> Flow:
            answers.append((yield Question(system, user, answer_model, max_tokens, purpose, retry_note)))

        self.ask_all([one()])
        return answers[0]

    def ask_all(self, flows: Iterable[Flow]) -> None:
        """Answer the questions of several flows side by side (`transcripts.decoding.Decoder.run`).

        A flow is a generator that yields a `Question` and is sent its answer (or None, as `ask` returns), then
        may yield its next question: so a follow-up that depends on an answer is asked as soon as that answer is
        there, while the other flows go on. Answers come in a fixed order for the same flows.
        """
        with self._lock:
            requests = [r for flow in flows for r in self._next(flow, None, first=True)]
            if not requests:
                return
            try:
                self._decoder.run(requests, self._answered)
            except DecodingError as exc:  # e.g. a prompt that does not fit the context
                raise LLMError(str(exc)) from exc

    def _next(self, flow: Flow, answer: Any, first: bool = False) -> list[Request]:
        """Send `answer` to `flow`; the request for its next question that the cache cannot answer, if any."""
        while True:
            try:
                question = next(flow) if first else flow.send(answer)
            except StopIteration:
                return []
            first = False
            key = self._grammar_key(question.answer_model)
            cache_key = answer_key(self._identity, question.system, question.user, key, question.max_tokens)
            if self._cache is not None and (known := self._cache.get(cache_key)) is not None:
                with contextlib.suppress(json.JSONDecodeError, ValidationError, ValueError):
                    answer = self._parse(known, question.answer_model)
                    self.stats.append(CallStats(question.purpose, 0, 0, 0, 0.0, 0.0, 0.0, cached=True))
                    continue
            return [self._request(_Asking(flow, question, cache_key, self._cache))]

    def _grammar_key(self, answer_model: type[BaseModel]) -> str:
        key = json.dumps(schema_for(answer_model), sort_keys=True)
        if key not in self._grammars:
            self._grammars[key] = _grammar_for(json.loads(key))
        return key

    def _request(self, asking: _Asking) -> Request:
        question = asking.question
        user = question.user + (question.retry_note if asking.attempt else "")
        messages = [{"role": "system", "content": question.system}, {"role": "user", "content": user}]
        chat = self._chat(messages=messages)
        prompt = self._model.tokenize(chat.prompt.encode("utf-8"), add_bos=not chat.added_special, special=True)
        grammar = self._grammars[self._grammar_key(question.answer_model)]
        return Request(prompt, grammar, question.max_tokens, REPEAT_PENALTY, tag=asking)

    def _answered(self, request: Request, done: Completion) -> list[Request]:
        asking: _Asking = request.tag
        question = asking.question
        text = self._model.detokenize(done.tokens).decode("utf-8", errors="replace")
        stat = CallStats(
            purpose=question.purpose,
            prompt_tokens=done.prompt_tokens,
            evaluated_tokens=done.evaluated_tokens,
            completion_tokens=len(done.tokens),
            prompt_seconds=done.prompt_seconds,
            generation_seconds=done.generation_seconds,
            wall_seconds=done.prompt_seconds + done.generation_seconds,
            drafted_tokens=done.drafted,
            accepted_tokens=done.accepted,
            retried=asking.attempt > 0,
        )
        self.stats.append(stat)
        if done.finish_reason == "length":
            log.info("%s: the answer reached max_tokens=%d", question.purpose, request.max_tokens)
        log.debug(
            "%s: %d prompt tokens (%d computed), %d generated (%d of %d proposed kept): %s",
            question.purpose,
            stat.prompt_tokens,
            stat.evaluated_tokens,
            stat.completion_tokens,
            done.accepted,
            done.drafted,
            text,
        )
        try:
            answer = self._parse(text, question.answer_model)
        except (json.JSONDecodeError, ValidationError, ValueError) as exc:
            stat.ok = False
            log.warning(
                "%s: unusable model answer (attempt %d): %s; answer began %r",
                question.purpose,
                asking.attempt + 1,
                str(exc).splitlines()[0],
                text[:120],
            )
            if asking.attempt == 0:
                return [self._request(_Asking(asking.flow, question, asking.cache_key, asking.cache, attempt=1))]
            return self._next(asking.flow, None)
        if asking.cache is not None:
            asking.cache.put(asking.cache_key, text)
        return self._next(asking.flow, answer)

    @staticmethod
    def _parse(text: str, answer_model: type[T]) -> T:
        if not text.strip():
            raise ValueError("empty answer")
        return answer_model.model_validate(json.loads(text, strict=False))


@dataclass(frozen=True, slots=True)
class Question:
    """One question to the model, as a flow yields it to `LocalLLM.ask_all`."""

    system: str
    user: str
    answer_model: type[BaseModel]
    max_tokens: int
    purpose: str
    retry_note: str = STRICT_SUFFIX


Flow = Generator[Question, Any, None]


@dataclass(frozen=True, slots=True)
class _Asking:
    flow: Flow
    question: Question
    cache_key: str
    cache: AnswerCache | None
    attempt: int = 0


_loaded: dict[tuple[str, int, int, int, int], LocalLLM] = {}
_loading_lock = threading.Lock()


def load_llm(
    model: str | os.PathLike | None = None,
    *,
    threads: int | None = None,
    n_ctx: int = DEFAULT_N_CTX,
    draft_tokens: int = DRAFT_TOKENS,
    parallel: int = PARALLEL_ANSWERS,
) -> LocalLLM:
    """The model named `model` (offline name, .gguf path or URL), loaded once per process and reused.

    `threads`: default, the CPUs this process may use. For comparisons: `draft_tokens=0` turns speculation off,
    `parallel=1` decodes one answer at a time.
    Raises `ModelFileError` for an unknown name or a bad file, `LLMError` when llama.cpp cannot load it.
    """
    path = _model_file(model)
    threads = threads or available_threads()
    key = (str(path), n_ctx, threads, draft_tokens, parallel)
    with _loading_lock:
        if key not in _loaded:
            _loaded[key] = LocalLLM(path, n_ctx=n_ctx, threads=threads, draft_tokens=draft_tokens, parallel=parallel)
        return _loaded[key]


def own_llm(model: str | os.PathLike | None = None) -> LocalLLM:
    """The model as `load_llm` gives it, but an instance of the caller's own: for one that changes its threads
    (`LocalLLM.use_threads`), which on the shared instance would slow every later user in the process."""
    return LocalLLM(_model_file(model), n_ctx=DEFAULT_N_CTX, threads=available_threads())


def _model_file(model: str | os.PathLike | None) -> Path:
    return Path(llm_model_path(str(model) if model else DEFAULT_LLM_MODEL)).resolve()


def unload_llms() -> None:
    """Forget every cached model (its memory is freed once nothing else holds it)."""
    with _loading_lock:
        _loaded.clear()
    release_freed_memory()
