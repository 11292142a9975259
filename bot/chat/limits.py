"""What every chat front door needs before and around an answer: the question checked, a
per-user cooldown, a cap on questions in flight, and the answer computed off the event loop.
No chat platform is imported here."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from bot.chat.feedback import hash_user
from bot.chat.question_log import QuestionLog, open_log
from bot.config import Settings
from bot.library import Library
from bot.types import Answer

log = logging.getLogger(__name__)

FIRST_PAGE = 3  # excerpts in the first reply; the rest behind "More sources"
FAILURE = "Sorry, something went wrong while answering. The error has been logged."
UNAVAILABLE = "The index is unavailable right now, so I cannot answer; try again in a minute."
NO_COLLECTION = "No documents are set up for this server, so I cannot answer here."
NO_DM_COLLECTION = "No documents are set up for direct messages; ask me in a server channel."


@dataclass(frozen=True)
class Asked:
    """An answer given in chat, and its id in the question log (None when the log is off)."""

    answer: Answer
    logged_id: str | None = None


@dataclass(frozen=True)
class Refusal:
    """A short reply instead of an answer (cooldown, busy, bad question)."""

    message: str


class Responder:
    """Cooldown, in-flight limit and the off-loop call into the answer function."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.closing = False  # set on a stop signal: questions from then on are refused
        self._last_asked: dict[int, float] = {}
        self._in_flight = 0
        self._logs: dict[str, QuestionLog] = {}

    def question_log(self, library: Library, collection: str) -> QuestionLog | None:
        """The collection's question log, None unless `question_log: true`."""
        if not self.settings.question_log:
            return None
        if collection not in self._logs:
            self._logs[collection] = open_log(library.settings_for(collection))
        return self._logs[collection]

    def check(self, user_id: int, question: str) -> Refusal | None:
        if self.closing:
            return Refusal("I'm restarting — ask again in a minute.")
        question = question.strip()
        if not question:
            return Refusal("Ask me a question about the documents, e.g. `/ask question: what happened in March?`")
        if len(question) > self.settings.max_question_chars:
            return Refusal(f"That question is {len(question)} characters long; please keep it under "
                           f"{self.settings.max_question_chars}.")
        now = time.monotonic()
        wait = self._last_asked.get(user_id, -1e9) + self.settings.cooldown_seconds - now
        if wait > 0:
            return Refusal(f"Please wait — try again in {max(1, round(wait))} s.")
        if self._in_flight >= self.settings.max_in_flight:
            return Refusal("I'm busy answering other questions — try again in a moment.")
        self._last_asked[user_id] = now
        return None

    async def answer(self, library: Library, collection: str, user_id: int, question: str,
                     channel_id: int | None = None, guild_id: int | None = None) -> Asked:
        """The answer from one collection, computed in a worker thread (opening the collection
        first if it is closed), and logged when the question log is on (the write is queued:
        it never delays the answer, and a failing disk costs a warning, not the answer)."""
        self._in_flight += 1
        started = time.perf_counter()
        try:
            k = max(self.settings.k, FIRST_PAGE * 2)
            answered = await asyncio.to_thread(lambda: library.open(collection).answer(question.strip(), k))
        finally:
            self._in_flight -= 1
        answer = answered.answer
        logged_id = None
        if (questions := self.question_log(library, collection)) is not None:
            logged_id = questions.record(answer, answered.vector, user_id, channel_id, collection, guild_id=guild_id,
                                         model=library.embedder.model_name)
        top = answer.excerpts[0].score if answer.excerpts else 0.0
        log.info("answered=%s latency_ms=%.0f top_score=%.3f excerpts=%d collection=%s user=%s",
                 answer.answered, (time.perf_counter() - started) * 1000, top, len(answer.excerpts),
                 collection, hash_user(user_id))
        return Asked(answer, logged_id)
