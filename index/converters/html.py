"""HTML: the main content only (trafilatura drops navigation, scripts, styles and footers), as
Markdown, so headings become sections and <pre> blocks stay whole code blocks. Runs isolated."""

from __future__ import annotations

import re

from index.converters.base import Converted, Converter, Limits
from index.errors import SkippedFile

_HTML_HINT = re.compile(rb"<(?:!doctype\s+html|html|head|body|title|div|p|h[1-6]|article|main)[\s>]", re.IGNORECASE)


def convert_html(data: bytes, relpath: str, limits: Limits) -> Converted:
    import trafilatura  # imported here: only the conversion child process needs it

    if b"\x00" in data[:8192]:
        raise SkippedFile("binary file, not HTML (contains NUL bytes)")
    text = trafilatura.extract(data, output_format="markdown", include_formatting=True, include_tables=True,
                               include_comments=False, include_links=False, include_images=False,
                               favor_recall=True, deduplicate=False, with_metadata=False)
    if not text or not text.strip():
        raise SkippedFile("no main content found in the HTML page")
    metadata = trafilatura.extract_metadata(data)
    # The article's own first heading names it best; the page's <title> (which trafilatura may
    # take from a menu or pop-up heading) only when the article has none.
    title = "" if text.lstrip().startswith("# ") or metadata is None else " ".join((metadata.title or "").split())
    author = " ".join((metadata.author or "").split()) if metadata is not None else ""
    return Converted(text=text.strip("\n") + "\n", markup="markdown", title=title, author=author)


def sniff_html(head: bytes) -> bool:
    return b"\x00" not in head and _HTML_HINT.search(head[:4096]) is not None


HTML = Converter(name="html", version=2, suffixes=(".html", ".htm", ".xhtml"), convert=convert_html,
                 sniff=sniff_html, label="HTML", modules=("trafilatura",))
