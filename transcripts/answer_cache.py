"""Model answers kept on disk, so a question asked during the call is not asked again when the minutes are written.

The key is everything the answer depends on: the model file, the system and user messages, the answer's schema and
its token limit. Decoding is greedy, so the same key gets the same answer; a question that differs in anything (a
line more in the part, an agenda item added) is simply a new question. Only answers that passed validation are kept.
The file is append-only JSON lines, one answer per line: a crash loses at most the line being written, and a line
that does not parse is skipped.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from pathlib import Path

log = logging.getLogger(__name__)


def answer_key(model: str, system: str, user: str, schema: str, max_tokens: int) -> str:
    return hashlib.sha256(json.dumps([model, system, user, schema, max_tokens]).encode("utf-8")).hexdigest()


class AnswerCache:
    """Answers by key, in memory and (with `path`) appended to a file that other processes may read later."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path else None
        self._answers: dict[str, str] = {}
        self._lock = threading.Lock()
        self.hits = 0
        if self.path and self.path.exists():
            self._load(self.path)

    def _load(self, path: Path) -> None:
        skipped = 0
        with open(path, encoding="utf-8") as f:
            for line in f:
                try:
                    entry = json.loads(line)
                    self._answers[entry["key"]] = entry["answer"]
                except (json.JSONDecodeError, KeyError, TypeError):
                    skipped += 1
        if skipped:
            log.warning("%s: %d unreadable line(s) skipped", path.name, skipped)

    def __len__(self) -> int:
        return len(self._answers)

    def get(self, key: str) -> str | None:
        with self._lock:
            answer = self._answers.get(key)
            self.hits += answer is not None
            return answer

    def put(self, key: str, answer: str) -> None:
        with self._lock:
            if self._answers.get(key) == answer:
                return
            self._answers[key] = answer
            if self.path:
                with open(self.path, "a", encoding="utf-8") as f:
                    f.write(json.dumps({"key": key, "answer": answer}) + "\n")
