"""The questions a collection was asked, kept for the docs-gap report (bot/gaps.py); off unless
`question_log: true`.

One SQLite file per collection, beside its index. A record is the question, when, whether it
was answered, the top excerpt's citation and score, the question's vector (to group questions
by meaning later without the model) and the votes on the answer; users, channels and servers
appear only as hashes, as in the feedback log. Writes go to one background thread, so asking
never waits for the disk, and a write that fails (a full disk, an unwritable folder) costs a
warning, never an answer. Records older than `question_log_days` are removed.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.chat.feedback import hash_user
from bot.types import Answer
from index.errors import QuestionLogError

log = logging.getLogger(__name__)

FILE_NAME = "questions.sqlite"
DIRECT = "dm"  # the place of a direct message
DAY = 86400.0
_WARN_EVERY_SECONDS = 600.0  # a failing disk is reported, not once per question

_SCHEMA = """
CREATE TABLE IF NOT EXISTS questions (
    id TEXT PRIMARY KEY, asked_at REAL NOT NULL, collection TEXT NOT NULL, question TEXT NOT NULL,
    answered INTEGER NOT NULL, score REAL NOT NULL, citation TEXT NOT NULL, user TEXT NOT NULL,
    channel TEXT NOT NULL, place TEXT NOT NULL, model TEXT NOT NULL, vector BLOB
);
CREATE INDEX IF NOT EXISTS questions_asked_at ON questions(asked_at);
CREATE TABLE IF NOT EXISTS votes (
    question_id TEXT NOT NULL, user TEXT NOT NULL, vote TEXT NOT NULL, voted_at REAL NOT NULL,
    PRIMARY KEY (question_id, user)
);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value REAL NOT NULL);
"""


@dataclass(frozen=True)
class LoggedQuestion:
    id: str
    asked_at: float
    collection: str
    question: str
    answered: bool
    score: float  # the top excerpt's score (0 when nothing was quoted)
    citation: str  # the top excerpt's "Title › Section (path)", "" when nothing was quoted
    user: str  # hash
    channel: str  # hash
    place: str  # the server's hash, or DIRECT for a direct message
    vector: np.ndarray | None
    up: int = 0
    down: int = 0


def open_log(settings) -> "QuestionLog":
    """A collection's log, beside its index (settings: the collection's, Library.settings_for)."""
    return QuestionLog(Path(settings.index_dir) / FILE_NAME, settings.question_log_days)


def top_citation(answer: Answer) -> tuple[float, str]:
    if not answer.excerpts:
        return 0.0, ""
    c = answer.excerpts[0].citation
    where = " › ".join(part for part in (c.title, c.section) if part)
    return answer.excerpts[0].score, f"{where} ({c.path})"


class QuestionLog:
    """One collection's log. record() and vote() return at once; reads see what was written."""

    def __init__(self, path: Path, retention_days: float):
        self.path = Path(path)
        self.retention_days = retention_days
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="citebot-question-log")
        self._last: Future | None = None
        self._lock = threading.Lock()
        self._warned_at = -1e18
        self._db: sqlite3.Connection | None = None  # the writer thread's

    # ------------------------------------------------------------------ writing, off the caller's thread

    def record(self, answer: Answer, vector: np.ndarray | None, user_id: int, channel_id: int | None,
               collection: str, asked_at: float | None = None, guild_id: int | None = None, model: str = "") -> str:
        """Queue the question for writing; returns its id (votes on its answer name it). guild_id:
        the server it was asked in (None: a direct message); model: the one that made vector."""
        question_id = uuid.uuid4().hex
        score, citation = top_citation(answer)
        blob = None if vector is None else np.asarray(vector, dtype="<f2").tobytes()
        place = DIRECT if guild_id is None else hash_user(guild_id)
        row = (question_id, time.time() if asked_at is None else asked_at, collection, answer.question,
               int(answer.answered), float(score), citation, hash_user(user_id), hash_user(channel_id or 0), place,
               model, blob)
        self._submit(lambda db: db.execute("INSERT INTO questions VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", row))
        return question_id

    def vote(self, question_id: str, user_id: int, vote: str) -> None:
        """A 👍 ("up") or 👎 ("down") on the answer to a logged question; a user's last vote counts."""
        row = (question_id, hash_user(user_id), vote, time.time())
        self._submit(lambda db: db.execute("INSERT OR REPLACE INTO votes VALUES (?,?,?,?)", row))

    def flush(self) -> None:
        """Wait for the queued writes (tests, and before reading a report in the same process)."""
        with self._lock:
            last = self._last
        if last is not None:
            last.result()

    def close(self) -> None:
        self.flush()
        self._writer.submit(self._close_writer).result()
        self._writer.shutdown(wait=True)

    def _close_writer(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _submit(self, write) -> None:
        with self._lock:
            self._last = self._writer.submit(self._write, write)

    def _write(self, write) -> None:
        """On the writer thread: one connection, kept open (a question costs one small commit)."""
        try:
            if self._db is None:
                self._db = self._connection()
            with self._db:
                write(self._db)
        except (sqlite3.Error, OSError) as err:
            if self._db is not None:
                self._db.close()
                self._db = None  # the next write opens it again: the disk may have room by then
            now = time.monotonic()
            if now - self._warned_at >= _WARN_EVERY_SECONDS:
                self._warned_at = now
                log.warning("question log %s: not written (%s); answers go on", self.path, _reason(err))

    def _connection(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=10, check_same_thread=False)
        try:
            db.execute("PRAGMA secure_delete = ON")  # what is forgotten does not linger in free pages
            db.execute("PRAGMA journal_mode = WAL")  # a report reads while the bot writes
            db.execute("PRAGMA synchronous = NORMAL")  # a crash may lose the last questions, never the file
            db.executescript(_SCHEMA)
        except BaseException:
            db.close()
            raise
        return db


    # ------------------------------------------------------------------ reading and forgetting

    def read(self, since: float = 0.0, place: str | None = None, model: str | None = None,
             now: float | None = None) -> list[LoggedQuestion]:
        """The questions asked since (a Unix time, and within the retention), with their votes,
        oldest first; place: only those asked there; model: vectors made by another model are left out."""
        self.flush()
        if not self.path.exists():
            return []
        since = max(since, (time.time() if now is None else now) - self.retention_days * DAY)
        where, values = ["q.asked_at >= ?"], [since]
        if place is not None:
            where.append("q.place = ?")
            values.append(place)
        with self._reading() as db:
            rows = db.execute(
                "SELECT q.id, q.asked_at, q.collection, q.question, q.answered, q.score, q.citation, q.user, q.channel, "
                "q.place, q.model, q.vector, COALESCE(SUM(v.vote = 'up'), 0), COALESCE(SUM(v.vote = 'down'), 0) "
                f"FROM questions q LEFT JOIN votes v ON v.question_id = q.id WHERE {' AND '.join(where)} "
                "GROUP BY q.id ORDER BY q.asked_at", values).fetchall()
        return [LoggedQuestion(*row[:4], bool(row[4]), *row[5:10],
                               None if row[11] is None or (model is not None and row[10] != model)
                               else np.frombuffer(row[11], dtype="<f2").astype(np.float32),
                               int(row[12]), int(row[13])) for row in rows]

    @contextlib.contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """A connection of the caller's own, for a report or a clean-up, committed on success and
        closed either way: a damaged or locked file is one line."""
        try:
            db = self._connection()
            try:
                with db:
                    yield db
            finally:
                db.close()
        except (sqlite3.Error, OSError) as err:
            raise QuestionLogError(f"question log {self.path}: {_reason(err)}") from None

    def forget(self, everything: bool = False, now: float | None = None) -> int:
        """Remove the questions older than the retention (everything: all of them) and their
        votes; returns how many questions were removed."""
        self.flush()
        if not self.path.exists():
            return 0
        cutoff = float("inf") if everything else (time.time() if now is None else now) - self.retention_days * DAY
        with self._reading() as db:
            removed = db.execute("DELETE FROM questions WHERE asked_at < ?", (cutoff,)).rowcount
            db.execute("DELETE FROM votes WHERE question_id NOT IN (SELECT id FROM questions)")
        with self._reading() as db:  # the write-ahead log still holds the pages as they were: emptied too
            busy = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        if busy and removed:
            log.warning("question log %s: a reader kept the write-ahead log open; what was removed leaves it at "
                        "the next clean-up", self.path)
        return removed

    def state(self, key: str) -> float | None:
        self.flush()  # a value just set is read back
        if not self.path.exists():
            return None
        with self._reading() as db:
            row = db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_state(self, key: str, value: float) -> None:
        self._submit(lambda db: db.execute("INSERT OR REPLACE INTO state VALUES (?,?)", (key, value)))


def _reason(err: BaseException) -> str:
    text = str(err).splitlines()[0] if str(err) else type(err).__name__
    return "disk full" if "full" in text or getattr(err, "errno", None) == 28 else text
