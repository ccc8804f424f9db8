"""Synthesized meetings with a known script, known speakers and known timing, for tests, benchmarks and the demo.

espeak-ng speaks each line in the speaker's voice; the lines are placed on one meeting timeline with pauses between
them; each speaker's lines become one track (silence while others talk, as a recorder writes it) plus a
manifest.json, and the ground truth comes back: for each line its speaker, text and start/end on the timeline,
measured from the audio with espeak's own leading and trailing silence trimmed off.

    lines = [ScriptLine("Alice", "Shall we start?"), ScriptLine("Bob", "Yes, the SIMD patch first.")]
    meeting = synthesize_meeting(lines, Path("out"))
    meeting.lines[1].start   # seconds from the meeting start at which Bob begins speaking

Rendered lines are cached on disk (keyed by voice, speed, pitch, text and the espeak-ng version), so building the
same meeting again costs only the writing of the files.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
import os
import random
import shutil
import subprocess
import tempfile
import wave
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from .audio import AudioWriter
from .recording import MANIFEST_NAME, Manifest, ManifestTrack, write_manifest

log = logging.getLogger(__name__)

ESPEAK_RATE = 22_050  # espeak-ng's output sample rate
# English voices (voice+variant) that Whisper tiny.en and base understand well and that sound distinct.
VOICES = ("en-us+klatt2", "en-us+m2", "en-gb-x-rp+klatt2", "en-us+klatt4", "en-us", "en-gb+f3")
DEFAULT_SPEED = 145  # words per minute; espeak's default 175 is hurried
_SILENCE_LEVEL = 0.01  # |amplitude| below this at the edges of a rendered line counts as espeak's padding


class SynthesisError(RuntimeError):
    """espeak-ng is missing or failed."""


@dataclass(slots=True)
class ScriptLine:
    speaker: str
    text: str
    voice: str | None = None  # espeak-ng voice; default: the speaker's voice from `VOICES`, by order of appearance
    at: float | None = None  # start (s from the meeting start); default: the previous line's end plus the pause


@dataclass(slots=True)
class SpokenLine:
    """Ground truth for one line: when the speaker is audible, to a few milliseconds."""

    speaker: str
    text: str
    start: float
    end: float
    voice: str
    file: str  # the track file the line is in


@dataclass(slots=True)
class SynthesizedMeeting:
    folder: Path
    lines: list[SpokenLine]
    tracks: dict[str, Path]  # speaker -> track file
    manifest: Path | None
    duration: float
    started_at: dt.datetime
    title: str | None = None
    voices: dict[str, str] = field(default_factory=dict)  # speaker -> voice

    @property
    def speakers(self) -> list[str]:
        return list(self.tracks)

    def text(self, speaker: str | None = None) -> str:
        """The script as one string (one speaker's lines, or everybody's), in time order."""
        return " ".join(line.text for line in self.lines if speaker is None or line.speaker == speaker)

    def silences(self, min_length: float = 1.0) -> list[tuple[float, float]]:
        """Stretches of the timeline where nobody speaks, at least `min_length` long."""
        out, cursor = [], 0.0
        for line in sorted(self.lines, key=lambda item: item.start):
            if line.start - cursor >= min_length:
                out.append((cursor, line.start))
            cursor = max(cursor, line.end)
        if self.duration - cursor >= min_length:
            out.append((cursor, self.duration))
        return out


# ---- espeak-ng ------------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _espeak() -> tuple[str, str]:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise SynthesisError(
            "espeak-ng is not installed (apt-get install espeak-ng); it is needed to synthesize speech"
        )
    version = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    return exe, version


def _cache_dir() -> Path:
    from .model_files import cache_dir

    path = cache_dir() / "tts"
    path.mkdir(parents=True, exist_ok=True)
    return path


# A voice is an espeak-ng voice ("en-us+m2"), or "festival:<voice>" for one of Debian's festival voices
# ("festival:kal_diphone", "festival:ked_diphone", "festival:cmu_us_slt_arctic_hts"), optionally followed by
# "@<pitch cents>,<tempo>" for sox to make a further distinct speaker of it ("festival:kal_diphone@-250,1.08").
FESTIVAL_VOICES = ("kal_diphone", "ked_diphone", "cmu_us_slt_arctic_hts")


def _split_voice(voice: str) -> tuple[str, str, int, float]:
    """(engine, voice, pitch in cents, tempo) of a voice spec."""
    name, _, shift = voice.partition("@")
    engine, _, rest = name.partition(":") if name.startswith("festival:") else ("espeak", "", name)
    pitch, tempo = 0, 1.0
    if shift:
        parts = shift.split(",")
        pitch = int(parts[0] or 0)
        tempo = float(parts[1]) if len(parts) > 1 and parts[1] else 1.0
    return engine, rest, pitch, tempo


@lru_cache(maxsize=1)
def _festival() -> tuple[str, str]:
    exe = shutil.which("text2wave")
    if exe is None or shutil.which("sox") is None:
        raise SynthesisError("festival or sox is not installed (apt-get install festival festvox-kallpc16k sox)")
    return exe, subprocess.run(["dpkg-query", "-W", "festival"], capture_output=True, text=True).stdout.strip()


def _festival_wav(text: str, voice: str, pitch: int, tempo: float) -> bytes:
    """`text` spoken by festival's `voice`, through sox: resampled to 22.05 kHz, pitch and tempo changed."""
    exe, _ = _festival()
    if voice not in FESTIVAL_VOICES:
        raise SynthesisError(f"unknown festival voice {voice!r}; choose from {', '.join(FESTIVAL_VOICES)}")
    # to a file: written to a pipe, its WAV header says the audio is empty
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "line.wav"
        spoken = subprocess.run(
            [exe, "-eval", f"(voice_{voice})", "-o", str(out)], input=text.encode(), capture_output=True, timeout=300
        )
        if spoken.returncode != 0 or not out.exists() or out.stat().st_size <= 44:
            message = spoken.stderr.decode(errors="replace").strip().splitlines()
            raise SynthesisError(f"festival failed for voice {voice!r}: {message[0] if message else 'no audio'}")
        return _sox(out.read_bytes(), pitch, tempo, normalize=True)


def _sox(wav: bytes, pitch: int, tempo: float, normalize: bool = False) -> bytes:
    effects = (["pitch", str(pitch)] if pitch else []) + (["tempo", "-s", f"{tempo:g}"] if tempo != 1.0 else [])
    effects += ["gain", "-n", "-4"] if normalize else []  # festival voices differ in loudness, up to clipping
    args = ["sox", "-t", "wav", "-", "-t", "wav", "-r", str(ESPEAK_RATE), "-b", "16", "-c", "1", "-", *effects]
    result = subprocess.run(args, input=wav, capture_output=True, timeout=300)
    if result.returncode != 0 or not result.stdout:
        raise SynthesisError(f"sox failed: {result.stderr.decode(errors='replace').strip()[:200]}")
    return result.stdout


def _read_wav(data: bytes) -> np.ndarray:
    """16-bit PCM of a WAV file. A WAV written to a pipe may give no true length in its header (espeak-ng, sox), so
    the samples are everything after the header's "data" chunk id."""
    with wave.open(io.BytesIO(data)) as wav:
        if wav.getframerate() != ESPEAK_RATE or wav.getsampwidth() != 2 or wav.getnchannels() != 1:
            raise SynthesisError(f"speech came as {wav.getframerate()} Hz / {8 * wav.getsampwidth()} bit audio")
    pos = 12
    while pos + 8 <= len(data) and data[pos : pos + 4] != b"data":
        pos += 8 + int.from_bytes(data[pos + 4 : pos + 8], "little")
    start = pos + 8
    return np.frombuffer(data[start : start + (len(data) - start) // 2 * 2], dtype=np.int16)


def render_line(text: str, voice: str, *, speed: int = DEFAULT_SPEED, pitch: int | None = None) -> np.ndarray:
    """`text` spoken in `voice` (see `FESTIVAL_VOICES` for the voice specs) as float32 at 22.05 kHz, leading and
    trailing silence trimmed. Cached on disk."""
    engine, name, shift, tempo = _split_voice(voice)
    version = _festival()[1] if engine == "festival" else _espeak()[1]
    key = hashlib.sha256(f"{version}\0{voice}\0{speed}\0{pitch}\0{text}".encode()).hexdigest()[:32]
    cached = _cache_dir() / f"{key}.npy"
    if cached.exists():
        try:
            return np.load(cached).astype(np.float32) / 32768.0
        except (OSError, ValueError):
            cached.unlink(missing_ok=True)
    if engine == "festival":
        pcm = _read_wav(_festival_wav(text, name, shift, tempo))
    else:
        exe = _espeak()[0]
        args = [exe, "-v", name, "-s", str(speed), "--stdout"]
        if pitch is not None:
            args += ["-p", str(pitch)]
        # text on stdin: a line starting with "-" is not an option, and no length limit of argv applies
        result = subprocess.run(args, input=text.encode(), capture_output=True, timeout=120)
        if result.returncode != 0 or not result.stdout:
            message = result.stderr.decode(errors="replace").strip().splitlines()
            raise SynthesisError(f"espeak-ng failed for voice {name!r}: {message[0] if message else 'no audio'}")
        wav = _sox(result.stdout, shift, tempo) if (shift or tempo != 1.0) else result.stdout
        pcm = _read_wav(wav)
    loud = np.flatnonzero(np.abs(pcm) > _SILENCE_LEVEL * 32768)
    if loud.size == 0:
        raise SynthesisError(f"{engine} produced silence for {text[:40]!r}")
    pcm = pcm[loud[0] : loud[-1] + 1]
    tmp = cached.with_suffix(f".{os.getpid()}.tmp.npy")
    np.save(tmp, pcm)
    os.replace(tmp, cached)
    return pcm.astype(np.float32) / 32768.0


# ---- meetings -------------------------------------------------------------------------------------------------


def assign_voices(lines: Sequence[ScriptLine]) -> dict[str, str]:
    """Each speaker's voice: the first voice given on one of their lines, else the next unused one of `VOICES`."""
    voices: dict[str, str] = {}
    for line in lines:
        if line.voice and line.speaker not in voices:
            voices[line.speaker] = line.voice
    free = [v for v in VOICES if v not in voices.values()]
    for line in lines:
        if line.speaker not in voices:
            voices[line.speaker] = free.pop(0) if free else VOICES[len(voices) % len(VOICES)]
    return voices


def _safe_stem(speaker: str) -> str:
    stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in speaker.strip().lower())
    return stem or "speaker"


def synthesize_meeting(
    lines: Sequence[ScriptLine],
    out_dir: str | Path,
    *,
    fmt: str = "ogg",
    pause: float | tuple[float, float] = 0.8,
    lead_in: float = 1.0,
    tail: float = 1.5,
    start_at: dt.datetime | None = None,
    title: str | None = None,
    speed: int = DEFAULT_SPEED,
    noise: float = 0.0,
    noise_floor: str = "always",
    seed: int = 0,
    offsets: bool = False,
    manifest: bool = True,
) -> SynthesizedMeeting:
    """Render `lines` as one track per speaker in `out_dir` (plus manifest.json) and return the ground truth.

    - `fmt`: ogg (Opus, as the recorder writes), wav, flac, mp3 or m4a.
    - `pause`: seconds between a line's end and the next line's start, or a (min, max) range drawn with `seed`.
      A line with `at` starts at that time instead (lines may then overlap: people talking at once).
    - `lead_in` / `tail`: silence before the first and after the last line.
    - `noise`: RMS of white noise added to every track (a microphone's floor; 0.003 is quiet), reproducible by `seed`;
      `noise_floor="always"` adds it everywhere (a microphone always open), "spurts" only within half a second
      around the speaker's own lines, digital silence elsewhere (a Discord client sends audio only while its
      voice activity detection is open; the recorder fills the rest with silence frames).
    - `offsets`: when true, each track file starts at its speaker's first line (minus a second) and manifest.json
      gives that offset, as a recorder that opens a file when someone first speaks would; otherwise all start at 0.
    """
    if not lines:
        raise ValueError("synthesize_meeting needs at least one line")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    start_at = start_at or dt.datetime(2026, 11, 26, 17, 0, tzinfo=dt.UTC)
    voices = assign_voices(lines)
    rng = random.Random(seed)

    jobs = [(line.text, voices[line.speaker]) for line in lines]
    workers = max(1, min(len(jobs), os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        clips = list(pool.map(lambda job: render_line(job[0], job[1], speed=speed), jobs))

    # place the lines on the timeline
    placed: list[tuple[int, int, np.ndarray, ScriptLine]] = []  # (start sample, speaker-local order, clip, line)
    spoken: list[SpokenLine] = []
    cursor = lead_in
    speaker_end: dict[str, float] = {}
    stems: dict[str, str] = {}
    for line, clip in zip(lines, clips):
        if line.speaker not in stems:
            stem = _safe_stem(line.speaker)
            while stem in stems.values():
                stem += "_"
            stems[line.speaker] = stem
        if line.at is not None:
            start = float(line.at)
        else:
            gap = rng.uniform(*pause) if isinstance(pause, tuple) else float(pause)
            start = cursor + (gap if spoken else 0.0)
        # one voice cannot overlap itself: a line of the same speaker waits for their previous one
        if line.speaker in speaker_end:
            start = max(start, speaker_end[line.speaker] + 0.3)
        first = round(start * ESPEAK_RATE)
        start = first / ESPEAK_RATE
        end = start + clip.size / ESPEAK_RATE
        speaker_end[line.speaker] = end
        cursor = max(cursor, end)
        placed.append((first, len(placed), clip, line))
        spoken.append(SpokenLine(line.speaker, line.text, start, end, voices[line.speaker], ""))
    duration = cursor + tail
    total = round(duration * ESPEAK_RATE)

    tracks: dict[str, Path] = {}
    entries: list[ManifestTrack] = []
    for speaker, stem in stems.items():
        file = out / f"{stem}.{fmt}"
        own = [(first, clip) for first, _, clip, line in placed if line.speaker == speaker]
        offset = max(0.0, own[0][0] / ESPEAK_RATE - 1.0) if offsets else 0.0
        offset_samples = round(offset * ESPEAK_RATE)
        spurts = None
        if noise_floor == "spurts":
            half = ESPEAK_RATE // 2
            spurts = [(max(0, first - half), first + clip.size + half) for first, clip in own]
        elif noise_floor != "always":
            raise ValueError(f"noise_floor must be 'always' or 'spurts', not {noise_floor!r}")
        _write_timeline(file, fmt, own, offset_samples, total, noise, seed + len(tracks) + 1, spurts)
        tracks[speaker] = file
        entries.append(ManifestTrack(file=file.name, speaker=speaker, offset=offset_samples / ESPEAK_RATE))
        for item in spoken:
            if item.speaker == speaker:
                item.file = file.name
    manifest_path = None
    if manifest:
        manifest_path = write_manifest(out, Manifest(meeting=title, started_at=start_at, tracks=entries))
    elif (out / MANIFEST_NAME).exists():
        (out / MANIFEST_NAME).unlink()
    return SynthesizedMeeting(
        folder=out,
        lines=spoken,
        tracks=tracks,
        manifest=manifest_path,
        duration=duration,
        started_at=start_at,
        title=title,
        voices=voices,
    )


def _blocks(
    clips: Sequence[tuple[int, np.ndarray]],
    start: int,
    stop: int,
    noise: float,
    seed: int,
    spurts: Sequence[tuple[int, int]] | None = None,
) -> Iterator[np.ndarray]:
    """The timeline [start, stop) in blocks of 10 s: the clips summed in, noise added. Never the whole at once."""
    rng = np.random.default_rng(seed)
    block = 10 * ESPEAK_RATE
    ordered = sorted(clips, key=lambda item: item[0])
    for lo in range(start, stop, block):
        hi = min(lo + block, stop)
        buf = np.zeros(hi - lo, dtype=np.float32)
        for first, clip in ordered:
            if first >= hi:
                break
            a, b = max(first, lo), min(first + clip.size, hi)
            if a < b:
                buf[a - lo : b - lo] += clip[a - first : b - first]
        if noise > 0:
            hiss = rng.normal(0.0, noise, buf.size).astype(np.float32)
            if spurts is None:
                buf += hiss
            else:
                for a, b in spurts:
                    a, b = max(a, lo), min(b, hi)
                    if a < b:
                        buf[a - lo : b - lo] += hiss[a - lo : b - lo]
        yield buf


def _write_timeline(
    file: Path,
    fmt: str,
    clips: Sequence[tuple[int, np.ndarray]],
    start: int,
    stop: int,
    noise: float,
    seed: int,
    spurts: Sequence[tuple[int, int]] | None = None,
) -> None:
    with AudioWriter(file, sample_rate=ESPEAK_RATE, fmt=fmt) as writer:
        for buf in _blocks(clips, start, stop, noise, seed, spurts):
            writer.write(buf)


def mix_down(
    meeting: SynthesizedMeeting,
    out_path: str | Path,
    *,
    fmt: str | None = None,
    noise: float = 0.0,
    seed: int = 0,
    speed: int = DEFAULT_SPEED,
) -> Path:
    """All speakers of `meeting` in one file (a "mixed" recording, as from a room microphone)."""
    out_path = Path(out_path)
    clips = []
    for line in meeting.lines:
        clip = render_line(line.text, line.voice, speed=speed)  # from the cache
        clips.append((round(line.start * ESPEAK_RATE), clip))
    total = round(meeting.duration * ESPEAK_RATE)
    # lines overlapping in time would clip when summed; halve only where it is needed is not worth it: scale all
    scale = 0.7 if _overlaps(meeting.lines) else 1.0
    clips = [(first, clip * scale) for first, clip in clips]
    fmt = (fmt or out_path.suffix.lstrip(".") or "ogg").lower()
    _write_timeline(out_path, fmt, clips, 0, total, noise, seed)
    return out_path


def _overlaps(lines: Sequence[SpokenLine]) -> bool:
    ordered = sorted(lines, key=lambda line: line.start)
    return any(b.start < a.end for a, b in zip(ordered, ordered[1:]))


# Material for long meetings (benchmarks, soak tests): sentences espeak-ng says clearly, with the demo's names and
# jargon, combined at random but reproducibly.
_THINGS = (
    "SIMD kernel",
    "HNSW index",
    "distance function",
    "query planner",
    "memory allocator",
    "build script",
    "benchmark suite",
    "Python bindings",
    "release notes",
    "test coverage",
    "cache layer",
    "error messages",
)
_TOPICS = (
    "release plan",
    "performance work",
    "documentation",
    "roadmap for next quarter",
    "open issues",
    "new contributors",
    "continuous integration",
)
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
_STATES = ("much faster now", "stable again", "almost done", "still too slow", "ready for review", "a bit fragile")
_TEMPLATES = (
    "{name}, can you look at the {thing} before {day}?",
    "I think the {thing} is {state}, but the {thing2} still needs work.",
    "We measured the {thing} again and it is {n} percent faster than last week.",
    "Let us move on to the {topic}.",
    "I will open an issue on GitHub for the {thing} today.",
    "The tests for the {thing} fail on older processors.",
    "Could we have a short call about the {topic} on {day}?",
    "Yes, that sounds good to me.",
    "I agree with {name}, we should keep the {thing} simple.",
    "The release candidate is ready, please try it on your machines.",
    "{name} wrote the documentation for the {thing} last week.",
    "Does anyone have questions about the {topic}?",
    "I reviewed the pull request for the {thing}, it looks good.",
    "The {thing} uses too much memory when the index is large.",
    "Thank you {name}, that helps a lot.",
    "My plan for this week is to finish the {thing} and then help with the {thing2}.",
)


def meeting_script(
    seconds: float,
    speakers: Sequence[str] = ("Alice", "Jeshli", "Bob", "Carol"),
    *,
    seed: int = 0,
    pause: float = 1.0,
    break_every: int = 20,
    break_seconds: float = 8.0,
    speed: int = DEFAULT_SPEED,
) -> list[ScriptLine]:
    """A reproducible scripted meeting of about `seconds` (lines rendered, cached, to measure them), with a
    quiet stretch of `break_seconds` every `break_every` lines (people reading, thinking: meetings have those)."""
    rng = random.Random(seed)
    voices = assign_voices([ScriptLine(name, "") for name in speakers])
    lines: list[ScriptLine] = []
    clock, previous = 1.0, None
    while clock < seconds:
        speaker = rng.choice([s for s in speakers if s != previous] or list(speakers))
        others = [s for s in speakers if s != speaker] or list(speakers)
        things = rng.sample(_THINGS, 2)
        text = rng.choice(_TEMPLATES).format(
            name=rng.choice(others),
            thing=things[0],
            thing2=things[1],
            topic=rng.choice(_TOPICS),
            day=rng.choice(_DAYS),
            state=rng.choice(_STATES),
            n=rng.choice((10, 20, 30, 40, 50)),
        )
        at = None
        if lines and len(lines) % break_every == 0:
            at = clock + break_seconds
            clock = at
        clip = render_line(text, voices[speaker], speed=speed)
        lines.append(ScriptLine(speaker, text, at=at))
        clock += clip.size / ESPEAK_RATE + pause
        previous = speaker
    return lines


def demo_hints():
    """The hints a chair would have for the demo meeting: group, title, agenda, glossary and the people."""
    from .types import Hints

    return Hints(
        title="Weekly meeting",
        group_name="Search working group",
        agenda=[
            "SIMD distance kernel",
            "HNSW index performance",
            "fallback path for older processors",
            "nightly benchmark",
            "documentation of index parameters",
        ],
        glossary=["SIMD", "HNSW", "AVX2", "GitHub"],
        speakers=["Alice", "Jeshli", "Bob", "Carol"],
    )


def demo_script() -> list[ScriptLine]:
    """A short scripted working-group meeting (four speakers, names and jargon) used by tests and the demo."""
    return [ScriptLine(speaker, text) for speaker, text in DEMO_SCRIPT]


DEMO_SCRIPT: tuple[tuple[str, str], ...] = (
    ("Alice", "Good afternoon everyone, welcome to the weekly meeting of the search working group."),
    ("Jeshli", "Thank you Alice. I finished the SIMD kernel for the distance function last week."),
    ("Bob", "Nice work Jeshli. How much faster is the HNSW index with the new kernel?"),
    ("Jeshli", "About three times faster on the benchmark, but only on machines with AVX two."),
    ("Carol", "We should keep a fallback path for older processors, otherwise the tests will fail."),
    ("Alice", "Yes, I agree. Carol, can you write the fallback path before the next release?"),
    ("Carol", "Yes, I will take that and open an issue on GitHub today."),
    ("Bob", "I would also like a benchmark that runs every night, so we notice when performance drops."),
    ("Alice", "Good idea Bob. Please add it to the wish list for the next meeting."),
    ("Jeshli", "One more thing, the documentation for the index parameters is out of date."),
    ("Bob", "I can update the documentation on Friday after the release."),
    ("Alice", "Good, that is everything for today. Thank you all, see you next week."),
)
