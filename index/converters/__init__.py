"""Which converter reads a file: chosen by suffix, checked against the file's first bytes.

Built in: PDF, HTML and Word, each run isolated, and the text converter (UTF-8 text, Markdown,
reStructuredText) for every other suffix. Third parties add formats through the entry-point
group ``citebot.converters``: each entry point names an `index.converters.base.Converter`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import entry_points
from pathlib import PurePosixPath

from index.converters.base import Converted, Converter, Limits, looks_like
from index.converters.docx import DOCX
from index.converters.html import HTML
from index.converters.pdf import PDF
from index.converters.text import TEXT
from index.errors import SkippedFile

__all__ = ["Converted", "Converter", "Limits", "Registry", "TEXT", "format_support", "registry"]

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "citebot.converters"
BUILT_IN = (PDF, HTML, DOCX)


@dataclass(frozen=True)
class Registry:
    converters: tuple[Converter, ...]

    def by_name(self, name: str) -> Converter | None:
        return next((c for c in (*self.converters, TEXT) if c.name == name), None)

    def choose(self, relpath: str, head: bytes) -> Converter:
        """The converter for a file, or SkippedFile when its content is not what its suffix says."""
        suffix = PurePosixPath(relpath).suffix.lower()
        converter = next((c for c in self.converters if suffix in c.suffixes), TEXT)
        if converter.sniff is not None and head.strip() and not converter.sniff(head):
            what = looks_like(head)
            content = f"the content is {what}" if what else "the content does not look like it"
            raise SkippedFile(f"named {suffix}, but {content}, not {converter.shown}")
        return converter


@lru_cache(maxsize=1)
def registry() -> Registry:
    """The built-in converters, then installed plugins; a plugin's suffix wins over a built-in's."""
    found: list[Converter] = []
    for point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            converter = point.load()
        except Exception as err:  # a broken plugin must not stop indexing of every other format
            log.warning("converter plugin %s cannot be loaded (%s: %s); skipped", point.value, type(err).__name__, err)
            continue
        if not isinstance(converter, Converter):
            log.warning("converter plugin %s is a %s, not an index.converters.base.Converter; skipped",
                        point.value, type(converter).__name__)
            continue
        found.append(converter)
    claimed = {s for c in found for s in c.suffixes}
    built_in = tuple(c for c in BUILT_IN if not set(c.suffixes) & claimed)
    return Registry((*found, *built_in))


def format_support() -> tuple[tuple[str, str], ...]:
    """(format, "" or why it cannot be read here): the text converter's formats first (standard
    library and core dependencies only), then each installed converter; what `citebot status`
    reports, so a broken install shows before files are skipped."""
    return (("text, Markdown, reStructuredText, AsciiDoc", ""),
            *((c.shown, c.unavailable()) for c in registry().converters))
