"""The process-wide options of the speech and language work, given by the application from its settings (never read
from the environment here): where model files are kept, and whether llama.cpp may repack weights for the CPU.

`tracker.config.load_settings` applies them in every process that loads settings (the CLI, the bot, workers); a
process started with options instead (the live transcriber) applies the ones it was given."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

ExtraBuffers = Literal["auto", "on", "off"]
DEFAULT_MODEL_DIR = Path.home() / ".cache" / "wgbot" / "models"


@dataclass(frozen=True, slots=True)
class Runtime:
    model_dir: Path = DEFAULT_MODEL_DIR
    # "auto": repacked weights except on an AMX CPU with a llama.cpp that lacks the tile-config fix (it crashes).
    llm_extra_buffers: ExtraBuffers = "auto"


_current = Runtime()


def configure(*, model_dir: Path | None = None, llm_extra_buffers: ExtraBuffers = "auto") -> Runtime:
    return use(Runtime(Path(model_dir) if model_dir else DEFAULT_MODEL_DIR, llm_extra_buffers))


def use(options: Runtime) -> Runtime:
    """Apply options taken from another process (the live transcriber gets its parent's)."""
    global _current
    _current = options
    return _current


def current() -> Runtime:
    return _current
