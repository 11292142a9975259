"""Votes on answers, appended as JSON lines; users appear only as a salted hash."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

from bot.types import Answer


def hash_user(user_id: int) -> str:
    return hashlib.sha256(f"citebot:{user_id}".encode()).hexdigest()[:16]


class FeedbackLog:
    def __init__(self, path: str):
        self.path = Path(path)

    def record(self, answer: Answer, vote: str, user_id: int, collection: str = "") -> None:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "collection": collection,
            "question": answer.question,
            "answered": answer.answered,
            "citations": [f"{e.citation.file}#{e.citation.start}-{e.citation.end}" for e in answer.excerpts],
            "vote": vote,
            "user": hash_user(user_id),
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry, ensure_ascii=False) + "\n")
