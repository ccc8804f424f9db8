"""Speech-to-text engines behind one small interface: faster-whisper (CTranslate2, int8; the default) and
openai-whisper (PyTorch, fp32, optionally int8 dynamic quantization), both on the same Whisper weights.

An engine transcribes one window of at most 30 s of 16 kHz audio and returns segments with word timestamps,
relative to the window start, plus the scores the hallucination guards need. Packing speech into windows, mapping
times back onto the meeting and dropping bad segments happen elsewhere (`windows`, `utterances`), identically for
both engines, so they can be compared fairly.

Engines are loaded once per process and shared: `load_engine(...)` returns the cached instance.
"""

from __future__ import annotations

import abc
import logging
import os
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from transcripts.cpu import available_threads

from .errors import EngineError
from .memory import release_freed_memory

log = logging.getLogger(__name__)

ENGINES = ("faster-whisper", "openai-whisper")
DEFAULT_ENGINE = "faster-whisper"
DEFAULT_COMPUTE_TYPE = "int8"
_COMPUTE_ALIASES = {"fp32": "float32", "fp16": "float16", "f32": "float32", "default": "default"}
OPENAI_COMPUTE_TYPES = ("float32", "int8")
TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
RANDOM_SEED = 0


@dataclass(slots=True)
class DecodeOptions:
    language: str | None = "en"  # None: the engine detects it
    prompt: str | None = None  # vocabulary hints, given as the previous text of the window
    beam_size: int = 5
    temperatures: tuple[float, ...] = TEMPERATURES  # fallback when a decode looks like a failure
    compression_ratio_threshold: float = 2.4  # above: repetitive output, decode again hotter
    log_prob_threshold: float = -1.0  # below (mean token log-probability): decode again hotter
    no_speech_threshold: float = 0.6  # above, together with a low log-probability: the window is silence
    word_timestamps: bool = True


@dataclass(slots=True)
class EngineWord:
    start: float  # seconds from the window start
    end: float
    text: str  # with Whisper's leading space
    probability: float


@dataclass(slots=True)
class EngineSegment:
    start: float  # seconds from the window start
    end: float
    text: str
    words: list[EngineWord] = field(default_factory=list)
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0
    compression_ratio: float = 1.0
    temperature: float = 0.0


PREPEND_PUNCTUATIONS = "\"'“¿([{-"
APPEND_PUNCTUATIONS = "\"'.。,，!！?？:：”)]}、"


def split_at_timestamps(
    tokens: list[int], timestamp_begin: int, eot: int, content_duration: float, precision: float = 0.02
) -> list[tuple[float, float, list[int]]]:
    """Whisper's output `<|0.00|> text <|2.40|><|2.40|> text <|5.00|>` as (start, end, tokens) pieces.

    Unlike Whisper's own loop, an unfinished last piece (no closing timestamp) is kept, ending where the audio
    ends: a packed window is decoded once, never re-sought.
    """
    pieces: list[tuple[float, float, list[int]]] = []
    current: list[int] = []
    start: float | None = None
    last_time = 0.0
    for token in tokens:
        if token == eot:
            break
        if token >= timestamp_begin:
            time = (token - timestamp_begin) * precision
            if current:
                begin = start if start is not None else last_time
                pieces.append((begin, max(begin, time), current))
                current, start = [], None
            else:
                start = time
            last_time = time
        else:
            current.append(token)
    if current:
        begin = start if start is not None else last_time
        pieces.append((begin, max(begin, content_duration), current))
    return pieces


def normalize_compute_type(compute_type: str) -> str:
    return _COMPUTE_ALIASES.get(compute_type.lower(), compute_type.lower())


class Engine(abc.ABC):
    name: str

    def __init__(self, model: str, compute_type: str, threads: int, workers: int = 1):
        self.model = model
        self.compute_type = compute_type
        self.threads = threads
        self.workers = workers  # decodes it runs side by side, from as many Python threads, `threads` shared out
        self.load_seconds = 0.0

    @property
    @abc.abstractmethod
    def multilingual(self) -> bool: ...

    @abc.abstractmethod
    def transcribe(self, audio: np.ndarray, options: DecodeOptions) -> list[EngineSegment]:
        """Segments of one window (`audio`: 16 kHz mono float32, at most 30 s)."""

    def transcribe_many(self, audios: list[np.ndarray], options: DecodeOptions) -> list[list[EngineSegment]]:
        """Segments of each window, as `transcribe` gives them; an engine may decode the windows together."""
        return [self.transcribe(audio, options) for audio in audios]

    @abc.abstractmethod
    def detect_language(self, audio: np.ndarray) -> tuple[str, float]:
        """(language code, probability) for up to 30 s of speech."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.model} {self.compute_type} threads={self.threads} workers={self.workers}>"


class FasterWhisperEngine(Engine):
    name = "faster-whisper"

    def __init__(self, model: str, compute_type: str, threads: int, workers: int = 1):
        super().__init__(model, compute_type, threads, workers)
        from faster_whisper import WhisperModel

        from .model_files import ModelFileError, whisper_model_dir

        started = time.perf_counter()
        try:
            source = whisper_model_dir(model)
            # CTranslate2 workers (`num_workers`): each runs the calls given to it on its own threads.
            self._model = WhisperModel(
                source,
                device="cpu",
                compute_type=compute_type,
                cpu_threads=max(1, threads // workers),
                num_workers=workers,
            )
        except ModelFileError as exc:
            raise EngineError(f"faster-whisper model {model!r}: {exc}") from None
        except Exception as exc:
            hint = "" if os.path.isdir(str(model)) else " (not available offline; the hub needs internet)"
            raise EngineError(
                f"faster-whisper could not load model {model!r} with {compute_type}: "
                f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}{hint}"
            ) from None
        self.load_seconds = time.perf_counter() - started

    @property
    def multilingual(self) -> bool:
        return bool(self._model.model.is_multilingual)

    def transcribe(self, audio: np.ndarray, options: DecodeOptions) -> list[EngineSegment]:
        return self.transcribe_many([audio], options)[0]

    def transcribe_many(self, audios: list[np.ndarray], options: DecodeOptions) -> list[list[EngineSegment]]:
        # One encoder pass and one decode (with temperature fallback) per window, from faster-whisper's own
        # building blocks. Its `transcribe` would, after a window whose words end before the audio does, seek to
        # the last word and decode the rest again: on a packed window that rest is trailing silence, where the
        # fallback runs through every temperature and Whisper invents text. A packed window is one decode.
        #
        # The windows' first decodes run as one batched beam search: on a few CPU cores a single window's search
        # is made of matrix products too small to keep the cores busy, and the batch gives each window the tokens
        # it would get alone (same prompt, same 30-s encoder input, so nothing is padded). The encoder runs per
        # window: its products are already large, and batching them only costs memory.
        import ctranslate2
        from faster_whisper.audio import pad_or_trim
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_compression_ratio

        m = self._model
        language = options.language if self.multilingual else "en"
        if language is None:
            language, _ = self.detect_language(audios[0])
        tokenizer = Tokenizer(m.hf_tokenizer, m.model.is_multilingual, task="transcribe", language=language)
        fw_options = self._options(tokenizer, options)
        previous = tokenizer.encode(" " + options.prompt.strip()) if options.prompt else []
        prompt = m.get_prompt(tokenizer, previous, without_timestamps=False)

        out: list[list[EngineSegment]] = [[] for _ in audios]
        windows = []  # (index, content frames, encoder output) of the windows with any audio
        for index, audio in enumerate(audios):
            features = m.feature_extractor(audio)
            frames = min(features.shape[-1] - 1, m.feature_extractor.nb_max_frames)
            if frames > 0:
                windows.append((index, frames, m.encode(pad_or_trim(features[:, :frames]))))
        if not windows:
            return out
        # the batch's encoder output is a copy of the windows' outputs; the array must outlive the StorageView
        batch = np.concatenate([np.asarray(encoded) for _, _, encoded in windows])
        ctranslate2.set_random_seed(RANDOM_SEED)  # fallback decodes sample: same audio, same transcript
        first = m.model.generate(
            ctranslate2.StorageView.from_array(batch),
            [prompt] * len(windows),
            beam_size=options.beam_size,
            patience=fw_options.patience,
            length_penalty=fw_options.length_penalty,
            repetition_penalty=fw_options.repetition_penalty,
            no_repeat_ngram_size=fw_options.no_repeat_ngram_size,
            max_length=m.max_length,
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=fw_options.suppress_blank,
            suppress_tokens=fw_options.suppress_tokens,
            max_initial_timestamp_index=int(round(fw_options.max_initial_timestamp / m.time_precision)),
        )
        for (index, frames, encoded), result in zip(windows, first):
            tokens = result.sequences_ids[0]
            avg_logprob = result.scores[0] * len(tokens) ** fw_options.length_penalty / (len(tokens) + 1)
            compression_ratio = get_compression_ratio(tokenizer.decode(tokens).strip())
            temperature = options.temperatures[0]
            silence = result.no_speech_prob > options.no_speech_threshold and avg_logprob < options.log_prob_threshold
            failed = compression_ratio > options.compression_ratio_threshold or avg_logprob < options.log_prob_threshold
            if failed and not silence:
                # faster-whisper's own fallback from the start, so the result is the one a lone decode gives
                ctranslate2.set_random_seed(RANDOM_SEED)
                result, avg_logprob, temperature, compression_ratio = m.generate_with_fallback(
                    encoded, prompt, tokenizer, fw_options
                )
            out[index] = self._segments(
                result, avg_logprob, temperature, compression_ratio, tokenizer, encoded, frames, options
            )
        return out

    def _options(self, tokenizer, options: DecodeOptions):
        from faster_whisper.transcribe import TranscriptionOptions, get_suppressed_tokens

        return TranscriptionOptions(
            beam_size=options.beam_size,
            best_of=5,
            patience=1.0,
            length_penalty=1.0,
            repetition_penalty=1.0,
            no_repeat_ngram_size=0,
            log_prob_threshold=options.log_prob_threshold,
            no_speech_threshold=options.no_speech_threshold,
            compression_ratio_threshold=options.compression_ratio_threshold,
            condition_on_previous_text=False,
            prompt_reset_on_temperature=0.5,
            temperatures=list(options.temperatures),
            initial_prompt=None,
            prefix=None,
            suppress_blank=True,
            suppress_tokens=get_suppressed_tokens(tokenizer, [-1]),
            without_timestamps=False,
            max_initial_timestamp=1.0,
            word_timestamps=options.word_timestamps,
            prepend_punctuations=PREPEND_PUNCTUATIONS,
            append_punctuations=APPEND_PUNCTUATIONS,
            multilingual=False,
            max_new_tokens=None,
            clip_timestamps="0",
            hallucination_silence_threshold=None,
            hotwords=None,
        )

    def _segments(
        self, result, avg_logprob, temperature, compression_ratio, tokenizer, encoded, frames, options
    ) -> list[EngineSegment]:
        """One window's decode as segments with word times (the alignment runs on that window's encoder output)."""
        if result.no_speech_prob > options.no_speech_threshold and avg_logprob < options.log_prob_threshold:
            return []  # the window is silence (Whisper's own test)
        m = self._model
        content_duration = frames * m.feature_extractor.time_per_frame
        pieces = split_at_timestamps(
            result.sequences_ids[0], tokenizer.timestamp_begin, tokenizer.eot, content_duration
        )
        if not pieces:
            return []
        dicts = [{"seek": 0, "start": a, "end": b, "tokens": toks} for a, b, toks in pieces]
        if options.word_timestamps:
            m.add_word_timestamps([dicts], tokenizer, encoded, frames, PREPEND_PUNCTUATIONS, APPEND_PUNCTUATIONS, 0.0)
        out = []
        for d in dicts:
            words = [
                EngineWord(float(w["start"]), float(w["end"]), w["word"], float(w["probability"]))
                for w in d.get("words", [])
            ]
            out.append(
                EngineSegment(
                    start=float(d["start"]),
                    end=float(d["end"]),
                    text=tokenizer.decode(d["tokens"]),
                    words=words,
                    avg_logprob=avg_logprob,
                    no_speech_prob=result.no_speech_prob,
                    compression_ratio=compression_ratio,
                    temperature=temperature,
                )
            )
        return out

    def detect_language(self, audio: np.ndarray) -> tuple[str, float]:
        if not self.multilingual:
            return "en", 1.0
        language, probability, _ = self._model.detect_language(audio)
        return language, float(probability)


class OpenAIWhisperEngine(Engine):
    """openai-whisper on the same weights, converted once from the CTranslate2 files (see `ct2_convert`)."""

    name = "openai-whisper"

    def __init__(self, model: str, compute_type: str, threads: int):
        super().__init__(model, compute_type, threads)
        if compute_type not in OPENAI_COMPUTE_TYPES:
            raise EngineError(
                f"openai-whisper engine: compute type {compute_type!r} is not offered on CPU "
                f"(use {' or '.join(OPENAI_COMPUTE_TYPES)})"
            )
        started = time.perf_counter()
        # torch's OpenMP threads spin while waiting; on a machine whose cores are busy with other work that costs
        # several times the compute. Takes effect only if torch is not imported yet.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            import torch
            import whisper
        except ImportError as exc:
            raise EngineError(f"openai-whisper engine: {exc.name} is not installed (run scripts/setup.sh)") from None
        from .ct2_convert import openai_checkpoint

        torch.set_num_threads(threads)
        checkpoint = openai_checkpoint(model)
        self._whisper = whisper
        self._model = whisper.load_model(str(checkpoint), device="cpu")
        heads = torch.load(checkpoint, map_location="cpu", weights_only=True).get("alignment_heads")
        if heads:
            dims = self._model.dims
            mask = torch.zeros(dims.n_text_layer, dims.n_text_head, dtype=torch.bool)
            for layer, head in heads:
                mask[layer, head] = True
            self._model.register_buffer("alignment_heads", mask.to_sparse(), persistent=False)
        if compute_type == "int8":
            self._model = _quantize_int8(self._model)
        self._model.eval()
        self.load_seconds = time.perf_counter() - started

    @property
    def multilingual(self) -> bool:
        return bool(self._model.is_multilingual)

    def transcribe(self, audio: np.ndarray, options: DecodeOptions) -> list[EngineSegment]:
        # The same one-decode-per-window procedure as the faster-whisper engine, from openai-whisper's parts.
        import torch
        from whisper.audio import HOP_LENGTH, N_FRAMES, N_SAMPLES, SAMPLE_RATE, log_mel_spectrogram, pad_or_trim
        from whisper.decoding import DecodingOptions
        from whisper.timing import add_word_timestamps
        from whisper.tokenizer import get_tokenizer

        model = self._model
        language = options.language if self.multilingual else "en"
        if language is None:
            language, _ = self.detect_language(audio)
        tokenizer = get_tokenizer(
            model.is_multilingual, num_languages=model.num_languages, language=language, task="transcribe"
        )
        mel = log_mel_spectrogram(audio.astype(np.float32, copy=False), model.dims.n_mels, padding=N_SAMPLES)
        content_frames = min(mel.shape[-1] - N_FRAMES, N_FRAMES)
        if content_frames <= 0:
            return []
        content_duration = content_frames * HOP_LENGTH / SAMPLE_RATE
        segment = pad_or_trim(mel[:, :content_frames], N_FRAMES)
        prompt = tokenizer.encode(" " + options.prompt.strip()) if options.prompt else None

        with torch.inference_mode():
            torch.manual_seed(RANDOM_SEED)  # fallback decodes sample: same audio, same transcript
            result = None
            for t in options.temperatures:
                sampling = (
                    {"best_of": 5} if t > 0 else {"beam_size": options.beam_size if options.beam_size > 1 else None}
                )
                decode_options = DecodingOptions(
                    task="transcribe", language=language, temperature=t, prompt=prompt, fp16=False, **sampling
                )
                result = model.decode(segment, decode_options)
                needs_fallback = (
                    result.compression_ratio > options.compression_ratio_threshold
                    or result.avg_logprob < options.log_prob_threshold
                )
                if (
                    result.no_speech_prob > options.no_speech_threshold
                    and result.avg_logprob < options.log_prob_threshold
                ):
                    needs_fallback = False  # silence
                if not needs_fallback:
                    break
            if result.no_speech_prob > options.no_speech_threshold and result.avg_logprob < options.log_prob_threshold:
                return []
            pieces = split_at_timestamps(result.tokens, tokenizer.timestamp_begin, tokenizer.eot, content_duration)
            if not pieces:
                return []
            dicts = [{"seek": 0, "start": a, "end": b, "tokens": toks} for a, b, toks in pieces]
            if options.word_timestamps:
                add_word_timestamps(
                    segments=dicts,
                    model=model,
                    tokenizer=tokenizer,
                    mel=segment,
                    num_frames=content_frames,
                    prepend_punctuations=PREPEND_PUNCTUATIONS,
                    append_punctuations=APPEND_PUNCTUATIONS,
                    last_speech_timestamp=0.0,
                )
        out = []
        for d in dicts:
            words = [
                EngineWord(float(w["start"]), float(w["end"]), w["word"], float(w["probability"]))
                for w in d.get("words", [])
            ]
            text_tokens = [tok for tok in d["tokens"] if tok < tokenizer.eot]
            out.append(
                EngineSegment(
                    start=d["start"],
                    end=d["end"],
                    text=tokenizer.decode(text_tokens),
                    words=words,
                    avg_logprob=float(result.avg_logprob),
                    no_speech_prob=float(result.no_speech_prob),
                    compression_ratio=float(result.compression_ratio),
                    temperature=float(result.temperature),
                )
            )
        return out

    def detect_language(self, audio: np.ndarray) -> tuple[str, float]:
        if not self.multilingual:
            return "en", 1.0
        import torch

        whisper = self._whisper
        mel = whisper.log_mel_spectrogram(whisper.pad_or_trim(audio), self._model.dims.n_mels)
        with torch.inference_mode():
            _, probs = self._model.detect_language(mel)
        language = max(probs, key=probs.get)
        return language, float(probs[language])


def _quantize_int8(model):
    """int8 dynamic quantization of every Linear layer (weights int8, activations quantized on the fly)."""
    import torch
    import whisper.model as wm

    # openai-whisper's Linear subclass only casts weights to the input dtype (for fp16); torch quantizes exact
    # nn.Linear modules only, so in fp32 they are plain Linear layers
    for module in model.modules():
        if type(module) is wm.Linear:
            module.__class__ = torch.nn.Linear
    return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


_cache: dict[tuple[str, str, str, int], Engine] = {}
_cache_lock = threading.Lock()


def load_engine(
    engine: str = DEFAULT_ENGINE,
    model: str = "base",
    compute_type: str = DEFAULT_COMPUTE_TYPE,
    threads: int | None = None,
    workers: int = 1,
) -> Engine:
    """The engine for these settings, loaded on first use and then shared by the whole process. `workers`: decodes
    faster-whisper runs side by side, the threads shared out among them (openai-whisper runs one at a time)."""
    compute_type = normalize_compute_type(compute_type)
    threads = threads or available_threads()
    workers = max(1, min(workers, threads)) if engine == "faster-whisper" else 1
    key = (engine, model, compute_type, threads, workers)
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None:
            return cached
        if engine == "faster-whisper":
            instance: Engine = FasterWhisperEngine(model, compute_type, threads, workers)
        elif engine == "openai-whisper":
            instance = OpenAIWhisperEngine(model, compute_type, threads)
        else:
            raise EngineError(f"unknown engine {engine!r}: use one of {', '.join(ENGINES)}")
        log.info("loaded %r in %.1f s", instance, instance.load_seconds)
        _cache[key] = instance
        return instance


def unload_engines() -> None:
    """Forget every cached engine (their memory is freed when nothing else holds them)."""
    with _cache_lock:
        _cache.clear()
    release_freed_memory()
