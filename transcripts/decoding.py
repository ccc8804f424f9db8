"""Greedy, grammar-constrained decoding on llama.cpp: many answers side by side, sped up by prompt lookup.

On two CPU cores a 1.5B model is memory-bound: one token costs about as much as several in one batch. Two ways to
fill a batch:
- Side by side (`Decoder.run`): the minutes ask several independent questions about each part of a transcript;
  their answers are decoded together, one token of each per step, and their common prompt start is computed once
  (the KV cache is shared between llama.cpp sequences). A follow-up question joins as soon as the answer it
  depends on is there.
- Prompt lookup, when few answers are under way: the answers are short JSON documents that mostly copy the prompt
  (the structure spelled out in the question, the words of the transcript), so after each token the decoder looks
  up the last few tokens in the prompt and the answer so far, proposes what followed them there, and has the
  model check the proposal in the same batch; every proposed token the model would have chosen itself is kept.

Every token is still the model's greedy choice. It can differ from one-token-at-a-time decoding only where two
tokens are closer than the rounding of a batched matrix product (up to 0.3 logits measured here), and the order of
everything is fixed by the order of the requests, so the same requests give the same answers every time.

Two more savings, both exact: the grammar is consulted for the model's favourite token first and over the whole
vocabulary only when that token is not allowed (as llama.cpp's own sampler does), and finished sequences stay in the
cache for later prompts that start the same way.

It drives llama-cpp-python's context directly (its `Llama` object's model, context and batch), because the
library decodes one sequence at a time and its own speculative path computes the output layer for every prompt
token.
"""

from __future__ import annotations

import ctypes
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from transcripts.llama_model import LlamaModel

_TOKEN_DATA = np.dtype([("id", np.int32), ("logit", np.float32), ("p", np.float32)], align=True)

PENALTY_LAST_N = 64  # llama-cpp-python's default window for the repeat penalty
DRAFT_TOKENS = 4  # proposed per step (simulated on the minutes of a 10,000-word meeting: 4 beats 1, 2, 3 and 8)
NGRAM_MAX, NGRAM_MIN = 4, 2  # lengths of the suffix looked up; a single token matches too much to be worth checking
# With more answers than this under way, none is given a draft: checking drafts in a batch that is already large costs
# about what it saves.
DRAFT_WHEN_AT_MOST = 4
MIN_SHARED = 8  # a common prompt start shorter than this is not worth copying
CACHE_SLACK = 32  # cells of the KV cache left unplanned


class DecodingError(RuntimeError):
    """llama.cpp failed to decode, or the grammar allows no token."""


@dataclass(slots=True)
class Completion:
    tokens: list[int]
    finish_reason: str  # "stop" (end of generation) or "length" (max_tokens reached)
    prompt_tokens: int
    evaluated_tokens: int  # prompt tokens computed; the rest were still in the KV cache
    prompt_seconds: float
    generation_seconds: float
    drafted: int = 0  # tokens proposed by prompt lookup
    accepted: int = 0  # ... and kept


class _Continuations:
    """For each n-gram of the sequence so far, where its latest occurrence was followed: prompt lookup in O(1)."""

    def __init__(self, tokens: list[int]) -> None:
        self.seq: list[int] = []
        self._next: dict[tuple[int, ...], int] = {}
        for token in tokens:
            self.append(token)

    def append(self, token: int) -> None:
        self.seq.append(token)
        end = len(self.seq) - 1  # the n-grams ending just before `token` are continued by it
        for n in range(NGRAM_MIN, NGRAM_MAX + 1):
            if end >= n:
                self._next[tuple(self.seq[end - n : end])] = end

    def propose(self, limit: int) -> list[int]:
        for n in range(NGRAM_MAX, NGRAM_MIN - 1, -1):
            if len(self.seq) >= n and (at := self._next.get(tuple(self.seq[-n:]))) is not None:
                return self.seq[at : at + limit]
        return []


@dataclass(slots=True)
class Request:
    """One prompt to complete. `tag` is the caller's, handed back with the completion."""

    prompt: list[int]
    grammar_text: str | None
    max_tokens: int
    repeat_penalty: float = 1.0
    tag: object = None


class _Sequence:
    """One llama.cpp sequence: the tokens whose keys and values it holds, and, while it answers, its request."""

    def __init__(self, seq_id: int) -> None:
        self.id = seq_id
        self.tokens: list[int] = []  # in the KV cache, positions 0..n-1
        self.cells: list[int] = []  # the cache cell of each (shared with the sequences it was copied to or from)
        self.request: Request | None = None
        self.todo: list[int] = []  # prompt tokens still to compute
        self.out: Completion | None = None
        self.grammar = None
        self.lookup: _Continuations | None = None
        self.pending: int | None = None  # the chosen token not yet in the cache
        self.last_used = 0

    def reserve(self, draft_tokens: int) -> int:
        """Cells this sequence may still take before it is done."""
        if self.request is None or self.out is None:  # (`out` is set whenever `request` is)
            return 0
        return len(self.todo) + self.request.max_tokens - len(self.out.tokens) + draft_tokens + 1

    def answering(self) -> tuple[Request, Completion, _Continuations]:
        """The request under way, its completion so far and its draft lookup (set together by `Decoder._start`)."""
        if self.request is None or self.out is None or self.lookup is None:
            raise DecodingError(f"sequence {self.id} is not answering a request")
        return self.request, self.out, self.lookup


class Decoder:
    """Owns the KV cache of one `LlamaModel` (created with several sequences, `n_seq_max`, and a unified
    cache): nothing else may decode with that object meanwhile.

    `run` completes many prompts at once. Each step is one llama.cpp batch holding the next token of every answer
    under way (a batch of 8 tokens costs about twice one token, so eight answers advance for the price of two),
    plus as much of the prompts still to read as fits. Prompts that start alike (the questions about one part of a
    transcript, the system prompt) share the keys and values of their common start: it is computed once and copied
    (`llama_memory_seq_cp` only tags the same cache cells). A finished sequence stays in the cache for later
    prompts with the same start until its room is needed. The order of everything is fixed by the order of the
    requests, so the same requests give the same answers.
    """

    def __init__(self, model: LlamaModel, *, draft_tokens: int = DRAFT_TOKENS, max_active: int = 12) -> None:
        import llama_cpp

        self._lib = llama_cpp
        self._model = model  # its handles below live only as long as it does
        self._ctx = model.ctx
        self._memory = model.memory
        self._batch = model.batch
        self._n_batch = model.n_batch
        self._n_ctx = model.n_ctx
        self._vocab = model.vocab
        self._n_vocab = model.n_vocab
        self.draft_tokens = draft_tokens
        n_seq = model.n_seq_max
        self.max_active = max(1, min(max_active, n_seq))
        self._seqs = [_Sequence(i) for i in range(n_seq)]
        self._cell_refs: dict[int, int] = {}
        self._next_cell = 0
        self._steps = 0
        self._all = np.zeros(self._n_vocab, dtype=_TOKEN_DATA)
        self._ids = np.arange(self._n_vocab, dtype=np.int32)
        self._one = np.zeros(1, dtype=_TOKEN_DATA)

    # ---- the cache ------------------------------------------------------------------------------------------

    @property
    def used_cells(self) -> int:
        return len(self._cell_refs)

    def _truncate(self, seq: _Sequence, keep: int) -> None:
        """Drop the sequence's cache after its first `keep` positions."""
        if keep >= len(seq.tokens):
            return
        self._lib.llama_memory_seq_rm(self._memory, seq.id, keep, -1)
        for cell in seq.cells[keep:]:
            if self._cell_refs[cell] == 1:
                del self._cell_refs[cell]
            else:
                self._cell_refs[cell] -= 1
        del seq.tokens[keep:], seq.cells[keep:]

    def _copy(self, source: _Sequence, target: _Sequence, length: int) -> None:
        self._lib.llama_memory_seq_cp(self._memory, source.id, target.id, 0, length)
        target.tokens, target.cells = source.tokens[:length], source.cells[:length]
        for cell in target.cells:
            self._cell_refs[cell] += 1

    def forget(self) -> None:
        """Empty the cache of every idle sequence."""
        for seq in self._seqs:
            if seq.request is None:
                self._truncate(seq, 0)

    # ---- choosing a token -----------------------------------------------------------------------------------

    def _logits(self, row: int) -> np.ndarray:
        pointer = self._lib.llama_get_logits_ith(self._ctx, row)
        if not pointer:
            raise DecodingError(f"llama.cpp has no logits for batch row {row}")
        return np.ctypeslib.as_array(pointer, shape=(self._n_vocab,)).copy()

    def _apply(self, grammar, data: np.ndarray) -> None:
        array = self._lib.llama_token_data_array(
            data=data.ctypes.data_as(self._lib.llama_token_data_p), size=len(data), selected=-1, sorted=False
        )
        self._lib.llama_sampler_apply(grammar, ctypes.byref(array))

    def _pick(self, row: int, seq: _Sequence) -> int:
        """The greedy choice at `row` of the last batch among the tokens the grammar allows; accepted by it."""
        logits = self._logits(row)
        request, out, _ = seq.answering()
        recent, penalty, grammar = out.tokens, request.repeat_penalty, seq.grammar
        if penalty != 1.0 and recent:  # llama.cpp's repeat penalty: once per distinct recent token
            seen = np.unique(np.asarray(recent[-PENALTY_LAST_N:], dtype=np.int64))
            values = logits[seen]
            logits[seen] = np.where(values > 0, values / penalty, values * penalty)
        token = int(np.argmax(logits))
        if grammar is not None:
            self._one[0] = (token, logits[token], 0.0)
            self._apply(grammar, self._one)
            if not np.isfinite(self._one[0]["logit"]):  # not allowed here: ask the grammar about every token
                self._all["id"], self._all["logit"], self._all["p"] = self._ids, logits, 0.0
                self._apply(grammar, self._all)
                best = int(np.argmax(self._all["logit"]))
                if not np.isfinite(self._all["logit"][best]):
                    raise DecodingError("the grammar allows no token here")
                token = int(self._all["id"][best])
            self._lib.llama_sampler_accept(grammar, token)
        return token

    def _is_end(self, token: int) -> bool:
        return bool(self._lib.llama_vocab_is_eog(self._vocab, token))

    # ---- completions ----------------------------------------------------------------------------------------

    def check(self, request: Request) -> None:
        """Raise DecodingError for a request that can never run; shorten an answer the context cannot hold."""
        if not request.prompt:
            raise DecodingError("empty prompt")
        # What the answer may take of the context.
        room = self._n_ctx - CACHE_SLACK - len(request.prompt) - self.draft_tokens - 1
        if room < 1:
            raise DecodingError(
                f"the prompt ({len(request.prompt)} tokens) does not fit the context ({self._n_ctx} tokens)"
            )
        request.max_tokens = max(1, min(request.max_tokens, room))

    def complete(
        self, prompt: list[int], *, grammar_text: str | None, max_tokens: int, repeat_penalty: float = 1.0
    ) -> Completion:
        """Greedy completion of `prompt` (token ids) under a GBNF grammar, at most `max_tokens` tokens."""
        done: list[Completion] = []

        def on_done(_: Request, completion: Completion) -> list[Request]:
            done.append(completion)
            return []

        self.run([Request(prompt, grammar_text, max_tokens, repeat_penalty)], on_done)
        return done[0]

    def run(self, requests: list[Request], on_done: Callable[[Request, Completion], list[Request]]) -> None:
        """Complete every request; `on_done(request, completion)` is called as each finishes and may return
        further requests (they go first, ahead of those still waiting)."""
        queue = deque(requests)
        for request in queue:
            self.check(request)
        active: list[_Sequence] = []
        try:
            while queue or active:
                self._admit(queue, active)
                if not active:
                    raise DecodingError("no request fits the context")  # (cannot happen after `check`)
                for seq in self._step(active):
                    request, out, _ = seq.answering()
                    active.remove(seq)
                    self._release(seq)
                    more = on_done(request, out)
                    for extra in more:
                        self.check(extra)
                    queue.extendleft(reversed(more))
        finally:
            for seq in active:
                self._release(seq)
                self._truncate(seq, 0)

    def _admit(self, queue: deque, active: list[_Sequence]) -> None:
        """Start the waiting requests, in order, while they fit the cache."""
        while queue and len(active) < self.max_active:
            request = queue[0]
            prompt = request.prompt
            shared, source = 0, None
            for seq in self._seqs:
                if seq.tokens:
                    n = _common(seq.tokens, prompt, len(prompt) - 1)
                    if n > shared:
                        shared, source = n, seq
            # A prompt being read now will soon hold a longer common start: wait for it rather than read it twice.
            if any(
                seq.todo and _common(seq.tokens + seq.todo, prompt, len(prompt) - 1) > shared + MIN_SHARED
                for seq in active
            ):
                return
            if shared < MIN_SHARED:
                shared, source = 0, None
            target = self._place(request, source, shared, active)
            if target is None:
                return
            queue.popleft()
            if target is source:  # taken over: it keeps only the common start
                self._truncate(target, shared)
            elif source is not None:
                self._copy(source, target, shared)
            self._start(target, request, shared)
            active.append(target)

    def _place(
        self, request: Request, source: _Sequence | None, shared: int, active: list[_Sequence]
    ) -> _Sequence | None:
        """An idle sequence for `request`, with room in the cache for what it still has to compute and write;
        caches of idle sequences are dropped to make room, least recently used first. None: the answers under way
        must finish first."""
        reserved = sum(seq.reserve(self.draft_tokens) for seq in active)
        need = len(request.prompt) - shared + request.max_tokens + self.draft_tokens + 1

        def fits() -> bool:
            return self.used_cells + reserved + need <= self._n_ctx - CACHE_SLACK

        idle = sorted((s for s in self._seqs if s.request is None and s is not source), key=lambda s: s.last_used)
        for seq in idle:
            if fits():
                break
            self._truncate(seq, 0)
        if idle and fits():
            target = next((s for s in idle if not s.tokens), idle[0])
            self._truncate(target, 0)
            return target
        if source is not None and source.request is None:  # the source itself, if idle, cut to the common start
            used = self.used_cells - len(source.tokens) + shared
            if used + reserved + need <= self._n_ctx - CACHE_SLACK:
                return source
        return None

    def _start(self, seq: _Sequence, request: Request, shared: int) -> None:
        grammar = None
        if request.grammar_text is not None:
            grammar = self._lib.llama_sampler_init_grammar(self._vocab, request.grammar_text.encode(), b"root")
            if not grammar:
                raise DecodingError("llama.cpp rejected the grammar")
        seq.request, seq.grammar = request, grammar
        seq.todo = request.prompt[shared:]
        seq.out = Completion([], "length", len(request.prompt), len(seq.todo), 0.0, 0.0)
        seq.lookup = _Continuations(request.prompt)
        seq.pending = None

    def _release(self, seq: _Sequence) -> None:
        if seq.grammar is not None:
            self._lib.llama_sampler_free(seq.grammar)
        seq.request, seq.grammar, seq.lookup, seq.pending, seq.todo = None, None, None, None, []
        seq.last_used = self._steps

    def _step(self, active: list[_Sequence]) -> list[_Sequence]:
        """One batch: a token (and a draft) of every answer under way, then prompt tokens while there is room.
        Returns the sequences that finished."""
        generating = [(s, s.pending) for s in active if s.pending is not None]
        # Drafts pay off only in a small batch: in a large one, checking them costs as much as it saves.
        drafting = self.draft_tokens if len(generating) <= DRAFT_WHEN_AT_MOST else 0
        plan: list[tuple[_Sequence, list[int], bool]] = []  # (sequence, tokens fed, generating)
        room = self._n_batch
        for seq, pending in generating:
            request, out, lookup = seq.answering()
            left = request.max_tokens - len(out.tokens)
            draft = lookup.propose(min(drafting, left)) if drafting else []
            plan.append((seq, [pending] + draft, True))
            room -= 1 + len(draft)
        for seq in active:
            if seq.todo and room > 0:
                plan.append((seq, seq.todo[:room], False))
                room -= len(plan[-1][1])

        rows = self._fill(plan)
        started = time.perf_counter()
        code = self._lib.llama_decode(self._ctx, self._batch)
        self._steps += 1
        if code != 0:
            for seq, _, _ in plan:  # llama.cpp may have kept part of the batch: put the cache back as it was
                self._lib.llama_memory_seq_rm(self._memory, seq.id, len(seq.tokens), -1)
            raise DecodingError(f"llama_decode returned {code}")
        finished = []
        for (seq, tokens, is_generating), row in zip(plan, rows):
            self._append(seq, tokens)
            if is_generating:
                draft = tokens[1:]
                seq.answering()[1].drafted += len(draft)
                if self._verify(seq, draft, row):
                    finished.append(seq)
            else:
                del seq.todo[: len(tokens)]
                if not seq.todo and self._take(seq, self._pick(row + len(tokens) - 1, seq)):
                    finished.append(seq)
        # The step's time is shared among the answers by the tokens each had in it.
        seconds, fed = time.perf_counter() - started, sum(len(tokens) for _, tokens, _ in plan)
        for seq, tokens, is_generating in plan:
            _, out, _ = seq.answering()
            if is_generating:
                out.generation_seconds += seconds * len(tokens) / fed
            else:
                out.prompt_seconds += seconds * len(tokens) / fed
        return finished

    def _fill(self, plan: list[tuple[_Sequence, list[int], bool]]) -> list[int]:
        """Write the plan into the llama.cpp batch; returns the batch row of each entry's first token."""
        batch, n, rows = self._batch, 0, []
        for seq, tokens, is_generating in plan:
            rows.append(n)
            position = len(seq.tokens)
            for i, token in enumerate(tokens):
                batch.token[n] = token
                batch.pos[n] = position + i
                batch.n_seq_id[n] = 1
                batch.seq_id[n][0] = seq.id
                # Logits for every generating row (drafts are checked), and for a prompt's last token once it is in.
                batch.logits[n] = is_generating or (i == len(tokens) - 1 and len(tokens) == len(seq.todo))
                n += 1
        batch.n_tokens = n
        return rows

    def _append(self, seq: _Sequence, tokens: list[int]) -> None:
        seq.tokens.extend(tokens)
        for _ in tokens:
            seq.cells.append(self._next_cell)
            self._cell_refs[self._next_cell] = 1
            self._next_cell += 1

    def _verify(self, seq: _Sequence, draft: list[int], row: int) -> bool:
        """Keep the draft's tokens the model would have chosen itself; True when the answer is done."""
        for i, proposed in enumerate(draft):
            chosen = self._pick(row + i, seq)
            if chosen != proposed or self._is_end(chosen):
                self._truncate(seq, len(seq.tokens) - len(draft) + i)  # the rest of the draft was not taken
                return self._take(seq, chosen)
            seq.answering()[1].accepted += 1
            if self._take(seq, chosen, in_cache=True):
                self._truncate(seq, len(seq.tokens) - len(draft) + i + 1)
                return True
        # The whole draft was taken: the next token's logits are in the row after it.
        return self._take(seq, self._pick(row + len(draft), seq))

    def _take(self, seq: _Sequence, token: int, in_cache: bool = False) -> bool:
        """Add the chosen `token` to the answer; True when the answer ends with it (end of generation or
        max_tokens). A token not `in_cache` is fed in the next step."""
        request, out, lookup = seq.answering()
        if self._is_end(token):
            out.finish_reason = "stop"
            return True
        out.tokens.append(token)
        lookup.append(token)
        if len(out.tokens) >= request.max_tokens:
            return True
        seq.pending = None if in_cache else token
        return False


def _common(cached: list[int], prompt: list[int], limit: int) -> int:
    """Length of the common start of two token lists, at most `limit`."""
    n = 0
    for a, b in zip(cached, prompt[:limit]):
        if a != b:
            break
        n += 1
    return n
