"""One error hierarchy for citebot.

Every message is a single line meant for a person; the CLI and the Discord layer turn these
into output, nothing below them prints.
"""


class CitebotError(Exception):
    """Base class: str(error) is a one-line, user-facing explanation."""


def in_one_line(err: BaseException, limit: int = 160) -> str:
    """An unexpected error (a library's, not citebot's) as one line: its type and the first
    line of its message, cut to limit characters."""
    first = (str(err).splitlines() or [""])[0][:limit]
    return f"{type(err).__name__}: {first}"


class ConfigError(CitebotError):
    """A configuration key, value or file is wrong."""


class DocsError(CitebotError):
    """The documents folder is missing or nothing in it could be indexed."""


class NothingIndexed(DocsError):
    """Every file in the docs folders was skipped, or there was none: `skipped` holds each
    (path, reason), for the edge to show along with the one-line message."""

    def __init__(self, message: str, skipped: tuple[tuple[str, str], ...] = ()):
        super().__init__(message)
        self.skipped = skipped


class ModelError(CitebotError):
    """The embedding model cannot be found or loaded."""


class WeightsError(CitebotError):
    """A fitted-weights file under bot/data/ is missing, malformed or fitted to other features."""


class TaggerUnavailable(CitebotError):
    """The part-of-speech tagger the answer highlight uses (textblob's) cannot be loaded."""


class IndexNotFound(CitebotError):
    """No index has been built yet in the index folder."""


class IndexIncompatible(CitebotError):
    """The index on disk was built with another model, chunking or format."""


class IndexCorrupt(CitebotError):
    """An index file is missing, truncated or altered."""


class IndexLocked(CitebotError):
    """Another indexer holds the index lock."""


class IndexWriteError(CitebotError):
    """The index folder cannot be written (permissions, disk full, read-only)."""


class IndexEmpty(DocsError):
    """A generation would hold no documents; the indexer adds where it looked."""


class SkippedFile(CitebotError):
    """A document was skipped; the message says why."""


class NetworkError(CitebotError):
    """A service the bot needs (Discord) cannot be reached."""


class StoreUnavailable(CitebotError):
    """The server holding the index (Qdrant) cannot be reached or refused a request."""


class QuestionLogError(CitebotError):
    """A question log that cannot be read or cleaned (damaged, locked, unreadable)."""
