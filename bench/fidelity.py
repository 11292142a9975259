"""How faithfully the indexer reads published documentation: word recall of the quotable text
against each page's main content, and junk left in that text.

    python bench/fidelity.py [--corpus NAME ...] [--pdf FILE ...] [--json] [--worst N] [--jobs N]

Corpora: the five in ../shared/eval/ (python_docs: Sphinx HTML; django_docs: reStructuredText in
.txt files; rust_book: mdBook HTML; debian_faq: DocBook HTML; opensource_guide: Jekyll Markdown).
The licence file each ships with (COPYRIGHT-*, LICENSE-*) is not documentation and is not read.

STORED: what the real pipeline keeps as quotable. Each file goes through the real converter
(``registry().choose(relpath, head).convert(data, relpath, Limits())``, in process), then
``build_document``; the quotable text is the text of ``chunking.unit_spans`` over each section,
with markup blocks taken out of it, and inline-markup blocks too when index/markup.py has them (a
Block kind ``index.markup.INLINE``, or "inline": spans hidden when a sentence is shown). Headings
are the section path, never quoted, and front-matter fields are passages of their own: neither is
in STORED. Code units (kind CODE) count for recall; junk is counted in prose units only.

REFERENCE: each page's main content, read without the converter:
- HTML (lxml): the content element (Sphinx ``div[role=main]``/``div.body``; mdBook ``main``;
  DocBook the body's ``div.book``/``div.chapter``/``div.article``/``div.sect1``/…; else
  ``body``), minus headings (h1-h6: not quotable by design), nav, script, style, button, Sphinx
  headerlink anchors and toctree wrappers, DocBook navheader/navfooter/toc, mdBook hidden code
  lines (``.boring``) and menus, and HTML comments.
- Markdown (markdown-it-py, CommonMark plus tables and strikethrough, HTML allowed): the rendered
  page's text minus headings. YAML front matter is not the body and is left out; a line that is
  a lone HTML tag (Jekyll's ``<aside markdown="1">`` quote boxes) becomes a blank line first, so
  the Markdown inside is read as Markdown, as kramdown reads it.
- reStructuredText: a careful regex strip, no docutils (Django's Sphinx roles and directives are
  unknown to plain docutils): section titles and adornments, comments, targets, substitution
  definitions, directive names and options and the bodies of non-content directives (toctree,
  index, image, Django's setting/templatetag/… targets) are removed; code directive and ``::``
  literal bodies are kept (code counts); roles keep their shown text (``:meth:`~a.b.c``` → c,
  ``:doc:`title <target>``` → title), links keep their title, footnote references go.
- Plain text (a .txt without rST markup): the text itself.
- PDF (``--pdf``): pypdf's text of each page (the converter uses pdfium), lines repeated on most
  pages (running headers/footers) left out; each PDF page is one page of the table. A PDF's
  headings are in its reference (nothing in the text layer tells them apart) but are not
  quotable, so a PDF's recall sits a little below 1 by design.

Words are lowercased alphanumeric runs; a page's recall is the multiset overlap of STORED and
REFERENCE words over the REFERENCE words (extra stored words cost nothing: junk is counted apart).
Junk counts (see the count_* functions) are over the prose units of all pages of a corpus.
"""

from __future__ import annotations

import argparse
import bisect
import json
import re
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import index.markup as markup  # noqa: E402
from index.chunking import unit_spans  # noqa: E402
from index.converters import registry  # noqa: E402
from index.converters.base import Limits  # noqa: E402
from index.documents import build_document, iter_candidate_files, sha256_bytes  # noqa: E402
from index.errors import SkippedFile  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "eval"
CORPORA = ("python_docs", "django_docs", "rust_book", "debian_faq", "opensource_guide")
LICENCE_FILE = re.compile(r"^(?:COPYRIGHT|LICEN[CS]E)\b", re.IGNORECASE)
GOOD_RECALL = 0.98
JUNK = ("pilcrow", "escape", "html_tag", "midline_fence", "bad_char", "repeated_header", "rst_markup", "md_link_url")
JUNK_HEADERS = ("¶", "\\esc", "<tag>", "mid ```", "FFFE/SHY", "rep. header", "rST", "](http")

# ---------------------------------------------------------------------------------------------
# Words and recall

_WORD = re.compile(r"[^\W_]+")


def words(text: str) -> Counter:
    """Lowercased alphanumeric tokens of text, as a multiset."""
    return Counter(_WORD.findall(text.lower()))


def recall(stored: Counter, reference: Counter) -> float:
    """Share of the reference's words (with multiplicity) found in stored; 1.0 for an empty reference."""
    total = sum(reference.values())
    if not total:
        return 1.0
    return sum(min(n, stored[w]) for w, n in reference.items()) / total


# ---------------------------------------------------------------------------------------------
# Junk detectors: each takes prose text (code units left out) and returns a count.

_INLINE_CODE = re.compile(r"(?<!`)(`+)(?!`)([^\n]+?)(?<!`)\1(?!`)")


def mask_inline_code(text: str) -> str:
    """text with inline code spans (`x`, ``x``) blanked to spaces, same length: what is inside
    code is written as meant, so detectors of junk "outside code" look at the rest."""
    return _INLINE_CODE.sub(lambda m: " " * len(m.group(0)), text)


def count_pilcrows(text: str) -> int:
    """Pilcrows (¶): Sphinx's and others' permalink anchors read as text."""
    return text.count("¶")


_ESCAPE = re.compile(r"\\[\\`*_{}\[\]()#+\-.!|<>~]")


def count_escapes(text: str) -> int:
    """Markdown/rST backslash escapes outside inline code (\\_, \\*, \\#, \\[, …): a reader sees
    the character, the quote shows the backslash. A backslash before a letter (\\n, C:\\Users)
    is not an escape and is not counted."""
    return len(_ESCAPE.findall(mask_inline_code(text)))


_HTML_NAMES = (
    "a|abbr|aside|b|blockquote|br|button|caption|center|cite|code|dd|del|details|div|dl|dt|em|figcaption|figure|"
    "font|footer|form|h[1-6]|header|hr|i|iframe|img|input|ins|kbd|label|li|main|mark|nav|ol|option|p|picture|pre|"
    "q|s|samp|script|section|select|small|source|span|strong|style|sub|summary|sup|table|tbody|td|textarea|tfoot|"
    "th|thead|tr|tt|u|ul|var|video"
)
_HTML_TAG = re.compile(rf"<!--|</?(?:{_HTML_NAMES})(?:\s[^<>]*)?/?>", re.IGNORECASE)


def count_html_tags(text: str) -> int:
    """HTML tags (<p>, </div>, <img …/>) and comment openers (<!--) outside inline code. Only
    HTML element names count: Rust's Box<T> or Vec<i32> is not a tag."""
    return len(_HTML_TAG.findall(mask_inline_code(text)))


_FENCE_RUN = re.compile(r"`{3,}|~{3,}")


def count_midline_fences(text: str) -> int:
    """Code fences (``` or ~~~) that do not start their line: a fence glued into a sentence."""
    count = 0
    for line in text.splitlines():
        for m in _FENCE_RUN.finditer(line):
            if line[: m.start()].strip():
                count += 1
    return count


def count_bad_chars(text: str) -> int:
    """U+FFFE (a noncharacter) and U+00AD (soft hyphen, invisible but splits words)."""
    return text.count("\ufffe") + text.count("\u00ad")


_ROLE = re.compile(r"(?<![\w`]):[A-Za-z][\w.+-]*(?::[A-Za-z][\w.+-]*)?:`")
_SUBSTITUTION = re.compile(r"(?<![\w|])\|[^\s|`][^|\n`]{0,40}?(?<!\s)\|(?![\w|])")


def count_rst_markup(text: str) -> int:
    """rST roles (:meth:`x`, :py:class:`y`) anywhere in prose, and |substitutions| outside inline
    code: markup a reader of the rendered page never sees."""
    return len(_ROLE.findall(text)) + len(_SUBSTITUTION.findall(mask_inline_code(text)))


_MD_LINK_URL = re.compile(r"\]\(\s*<?https?:", re.IGNORECASE)


def count_md_link_urls(text: str) -> int:
    """Markdown link targets ](http…) outside inline code: the address shown inside the sentence."""
    return len(_MD_LINK_URL.findall(mask_inline_code(text)))


_DIGITS = re.compile(r"\d+")


def header_key(line: str) -> str:
    """A line as a running header/footer is compared: spaces folded, numbers as #."""
    return _DIGITS.sub("#", " ".join(line.split()))


def repeated_lines(pages: list[list[str]], share: float = 0.5, minimum: int = 3) -> set[str]:
    """Lines (as header_key) found on more than `share` of the pages and on at least `minimum`
    of them: running headers and footers, page chrome."""
    if len(pages) < minimum:
        return set()
    seen = Counter(key for lines in pages for key in {header_key(line) for line in lines if line.strip()})
    return {key for key, n in seen.items() if n >= minimum and n > share * len(pages) and len(key) <= 120}


def count_repeated_headers(pages: list[list[str]], share: float = 0.5, minimum: int = 3) -> int:
    """Occurrences of repeated_lines across the pages (each page's lines in quotable prose)."""
    keys = repeated_lines(pages, share, minimum)
    return sum(1 for lines in pages for line in lines if line.strip() and header_key(line) in keys)


def junk_counts(text: str, rst: bool = False) -> dict[str, int]:
    """Every per-text junk count of one page's prose (repeated_header is counted across pages).
    In reStructuredText, `<form>` is no tag but the words the page shows (rST has no raw HTML
    outside a raw directive, which is hidden), so tags are not counted there."""
    return {
        "pilcrow": count_pilcrows(text),
        "escape": count_escapes(text),
        "html_tag": 0 if rst else count_html_tags(text),
        "midline_fence": count_midline_fences(text),
        "bad_char": count_bad_chars(text),
        "repeated_header": 0,
        "rst_markup": count_rst_markup(text),
        "md_link_url": count_md_link_urls(text),
    }


# ---------------------------------------------------------------------------------------------
# STORED: the quotable text through the real pipeline


def hidden_kinds() -> frozenset[str]:
    """Block kinds left out of quotable text: markup, and inline markup where markup.py has it."""
    kinds = {markup.MARKUP, "inline"}
    inline = getattr(markup, "INLINE", None)
    if inline:
        kinds.add(inline)
    return frozenset(kinds)


def quotable_units(doc) -> list[tuple[int, str, str]]:
    """(offset, text, kind) of every quotable unit of a Document, hidden blocks cut out of it."""
    hidden = hidden_kinds()
    blocks = [b for b in doc.blocks if b.kind in hidden]
    starts = [b.start for b in blocks]
    units = []
    for section in doc.sections:
        for a, b, kind in unit_spans(doc.text, section.start, section.end, doc.blocks):
            pieces, at = [], a
            for block in blocks[max(0, bisect.bisect_left(starts, a) - 1):]:
                if block.start >= b:
                    break
                if block.end <= at:
                    continue
                if block.start > at:
                    pieces.append(doc.text[at:block.start])
                at = max(at, block.end)
            if at < b:
                pieces.append(doc.text[at:b])
            units.append((a, "".join(pieces), kind))
    return units


def read_stored(data: bytes, relpath: str):
    """The Document the indexer builds from a file, or the reason it skips it."""
    converter = registry().choose(relpath, data[:4096])
    converted = converter.convert(data, relpath, Limits())
    return build_document(converted, sha256_bytes(data), relpath, relpath, converter.key)


# ---------------------------------------------------------------------------------------------
# REFERENCE: each page's main content, read independently of the converter

_DROP_XPATH = (
    "//script|//style|//noscript|//template|//nav|//button|//menu|//h1|//h2|//h3|//h4|//h5|//h6"
    "|//footer|//*[@id='versioninfo']|//a[contains(concat(' ', normalize-space(@class), ' '), ' headerlink ')]"
)
_DROP_CLASSES = ("toctree-wrapper", "navheader", "navfooter", "toc", "boring", "sphinxsidebar", "related",
                 "footer", "menu-bar", "nav-wrapper", "nav-wide-wrapper", "test-arrow")
_BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "br", "caption", "dd", "details", "div", "dl", "dt", "figcaption",
    "figure", "footer", "header", "hr", "li", "main", "ol", "p", "pre", "section", "summary", "table", "tbody",
    "td", "tfoot", "th", "thead", "tr", "ul",
})
_DOCBOOK_TOPS = ("book", "chapter", "article", "sect1", "section", "appendix", "preface", "part", "reference",
                 "refentry", "glossary", "index", "bibliography", "colophon", "set")


def _has_class(name: str) -> str:
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


def html_reference(data: bytes | str) -> str:
    """The text of an HTML page's main content element, chrome and headings removed."""
    import lxml.html

    root = lxml.html.document_fromstring(data)
    for element in root.iter():  # adjacent blocks must not glue their words together
        if isinstance(element.tag, str) and element.tag.lower() in _BLOCK_TAGS:
            element.text = "\n" + (element.text or "")
            element.tail = "\n" + (element.tail or "")
    candidates = (
        root.xpath("//div[@role='main']") or root.xpath(f"//div[{_has_class('body')}]")  # Sphinx
        or root.xpath("//main")  # mdBook and most modern sites
        or root.xpath("//body/div[" + " or ".join(_has_class(c) for c in _DOCBOOK_TOPS) + "]")  # DocBook
        or root.xpath("//body") or [root]
    )
    for node in candidates:
        drop = node.xpath(_DROP_XPATH.replace("//", ".//")) + node.xpath(
            ".//*[" + " or ".join(_has_class(c) for c in _DROP_CLASSES) + "]")
        for element in drop:
            if element.getparent() is not None:
                element.drop_tree()
    return "\n".join(node.text_content() for node in candidates)


_FRONT_MATTER = re.compile(r"\A---[ \t]*\n.*?\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_LONE_TAG_LINE = re.compile(r"^[ \t]*<(?:/?[A-Za-z][\w-]*(?:\s[^<>]*)?/?)>[ \t]*$", re.MULTILINE)


def markdown_reference(text: str) -> str:
    """The text of a Markdown page as markdown-it-py renders it, headings left out."""
    from markdown_it import MarkdownIt

    text = _FRONT_MATTER.sub("", text.removeprefix("\ufeff"), count=1)
    text = _LONE_TAG_LINE.sub("", text)
    html = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"]).render(text)
    if not html.strip():
        return ""
    return html_reference(f"<html><body><main>{html}</main></body></html>")


_RST_ADORNMENT = re.compile(r"^([=\-~^\"'`*+#:._<>])\1{2,}\s*$")
_RST_TABLE_RULE = re.compile(r"^\s*(?:[+|][-=+:| ]*[+|]|=+(?:\s+=+)+|-+(?:\s+-+)+)\s*$")
_RST_DIRECTIVE = re.compile(r"^(\s*)\.\.\s+([\w:.-]+)::(.*)$")
_RST_EXPLICIT = re.compile(r"^(\s*)\.\.(?:\s|$)")
_RST_OPTION = re.compile(r"^\s+:[\w -]+:(?:\s.*)?$")
_RST_CODE = frozenset({"code-block", "code", "sourcecode", "doctest", "testcode", "testoutput", "console",
                       "parsed-literal", "literalinclude", "productionlist"})
_RST_HIDDEN = frozenset({
    "toctree", "contents", "index", "image", "include", "raw", "only", "meta", "highlight", "currentmodule",
    "module", "role", "default-role", "sectionauthor", "moduleauthor", "tabularcolumns", "autosummary", "automodule",
    "autoclass", "autofunction", "setting", "templatetag", "templatefilter", "fieldlookup", "django-admin",
    "lookup", "signal", "ticket", "target-notes", "title", "class", "csv-table",
})
_RST_ARG_SHOWN = frozenset({  # directives whose argument is shown as text (a signature, a version, a title)
    "function", "method", "classmethod", "staticmethod", "attribute", "data", "exception", "decorator",
    "decoratormethod", "describe", "object", "versionadded", "versionchanged", "deprecated", "admonition",
    "topic", "sidebar", "rubric", "figure", "django-admin-option", "option", "envvar", "cmdoption", "glossary",
})
# `:role:` directive `class` is rST's class directive (no text); Sphinx's Python class directive
# is `py:class`/`class` in domain-aware docs: Django writes `.. class:: Name` for model classes.
_RST_ROLE = re.compile(r"(?::[A-Za-z][\w.+-]*)+:`([^`]+)`")
_RST_LINK = re.compile(r"`([^`<]*?)\s*<[^<>`]+>`__?")
_RST_FOOTNOTE_REF = re.compile(r"\[(?:#[\w-]*|\*|\d+)\]_")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _body_end(lines: list[str], k: int, base: int) -> int:
    """The index after the indented block starting at k (more indented than base; blanks inside)."""
    last = k - 1
    while k < len(lines):
        if lines[k].strip():
            if _indent(lines[k]) <= base:
                break
            last = k
        k += 1
    return last + 1


def _role_text(match: re.Match) -> str:
    inner = match.group(1).strip()
    titled = re.match(r"(?s)(.*?)\s*<[^<>]+>$", inner)
    if titled and titled.group(1):
        return titled.group(1)
    inner = inner.lstrip("!")
    if inner.startswith("~"):
        inner = inner[1:].rsplit(".", 1)[-1]
    return inner


def rst_reference(text: str) -> str:
    """The words a reader of the rendered reStructuredText page sees (see the module docstring)."""
    lines = text.removeprefix("\ufeff").splitlines()
    prose: list[str] = []  # inline markup is resolved in these
    code: list[str] = []  # kept as written
    k = 0
    while k < len(lines):
        line = lines[k]
        stripped = line.strip()
        nxt = lines[k + 1].strip() if k + 1 < len(lines) else ""
        if _RST_ADORNMENT.match(stripped) and k + 2 < len(lines) and lines[k + 2].strip() == stripped and nxt:
            k += 3  # overlined title
            continue
        if (stripped and _RST_ADORNMENT.match(nxt) and len(nxt) >= min(len(stripped), 3) and _indent(line) == 0
                and not _RST_ADORNMENT.match(stripped) and (k == 0 or not lines[k - 1].strip())):
            k += 2  # underlined title
            continue
        if _RST_ADORNMENT.match(stripped) or _RST_TABLE_RULE.match(line):
            k += 1
            continue
        directive = _RST_DIRECTIVE.match(line)
        if directive:
            base, name, arg = len(directive.group(1)), directive.group(2).lower(), directive.group(3).strip()
            short = name.split(":")[-1]
            j = k + 1
            while j < len(lines) and _RST_OPTION.match(lines[j]) and _indent(lines[j]) > base:
                j += 1
            end = _body_end(lines, j, base)
            if short in _RST_HIDDEN and name != "py:class":
                k = end
            elif short in _RST_CODE:
                code.extend(lines[j:end])
                k = end
            elif name.startswith("|") or "|" in line.split("::")[0]:
                k = end  # substitution definition
            else:
                if arg and (short in _RST_ARG_SHOWN or name.endswith(("class", "function", "method"))):
                    prose.append(arg)
                k = j  # the body is prose (notes, warnings, descriptions): read on
            continue
        explicit = _RST_EXPLICIT.match(line)
        if explicit:  # comment, target, footnote, citation, substitution definition
            footnote = re.match(r"\s*\.\.\s+\[[^\]]+\]\s+(.*)$", line)
            end = _body_end(lines, k + 1, len(explicit.group(1)))
            if footnote:  # a footnote's text is shown
                prose.append(footnote.group(1))
                prose.extend(lines[k + 1:end])
            k = end
            continue
        if stripped.endswith("::"):
            prose.append(line.rstrip()[:-2])
            body = k + 1
            while body < len(lines) and not lines[body].strip():
                body += 1
            if body < len(lines) and _indent(lines[body]) > _indent(line):
                end = _body_end(lines, body, _indent(line))
                code.extend(lines[body:end])
                k = end
            else:
                k += 1
            continue
        if stripped.startswith(">>>"):
            end = k
            while end < len(lines) and lines[end].strip():
                end += 1
            code.extend(lines[k:end])
            k = end
            continue
        prose.append(line)
        k += 1
    shown = "\n".join(prose)
    shown = _RST_ROLE.sub(_role_text, shown)
    shown = _RST_LINK.sub(lambda m: m.group(1), shown)
    shown = _RST_FOOTNOTE_REF.sub("", shown)
    return shown + "\n" + "\n".join(code)


def looks_like_rst(text: str) -> bool:
    """Whether a .txt file is reStructuredText (directives, roles or underlined titles)."""
    return bool(re.search(r"^\.\. [\w:-]+::|:\w+:`|^\S.*\n[=\-~^]{3,}\s*$", text, re.MULTILINE))


def reference_text(data: bytes, relpath: str) -> str:
    suffix = Path(relpath).suffix.lower()
    if suffix in (".html", ".htm", ".xhtml"):
        return html_reference(data)
    text = data.decode("utf-8", "replace")
    if suffix in (".md", ".markdown", ".mdx"):
        return markdown_reference(text)
    if suffix in (".rst", ".rest") or (suffix == ".txt" and looks_like_rst(text)):
        return rst_reference(text)
    return text


# ---------------------------------------------------------------------------------------------
# Pages and corpora


@dataclass
class Page:
    name: str
    recall: float
    reference_words: int
    junk: dict[str, int]
    prose_lines: list[str] = field(default_factory=list)
    missing: list[tuple[str, int]] = field(default_factory=list)  # most-missed reference words
    skipped: str = ""


def measure_file(path: str, relpath: str) -> Page:
    data = Path(path).read_bytes()
    reference = words(reference_text(data, relpath))
    try:
        doc = read_stored(data, relpath)
    except SkippedFile as why:
        return Page(relpath, 0.0, sum(reference.values()), dict.fromkeys(JUNK, 0), skipped=str(why))
    units = quotable_units(doc)
    stored = words(" ".join(text for _, text, _ in units))
    prose = [text for _, text, kind in units if kind != markup.CODE]
    missing = (reference - stored).most_common(12)
    rst = markup.markup_of(relpath, data[:markup.SNIFF_BYTES].decode("utf-8", "replace")) == "rst"
    return Page(relpath, recall(stored, reference), sum(reference.values()), junk_counts("\n".join(prose), rst),
                [line for text in prose for line in text.splitlines()], missing)


def measure_pdf(path: Path) -> list[Page]:
    """One Page per PDF page: pypdf's text of the page against the stored units starting on it."""
    from pypdf import PdfReader

    data = path.read_bytes()
    reference_pages = [page.extract_text() or "" for page in PdfReader(path).pages]
    doc = read_stored(data, path.name)
    units = quotable_units(doc)
    page_starts = list(doc.pages) or [0]
    stored_pages: list[list[tuple[str, str]]] = [[] for _ in page_starts]
    for offset, text, kind in units:
        stored_pages[max(0, bisect.bisect_right(page_starts, offset) - 1)].append((text, kind))
    running = repeated_lines([text.splitlines() for text in reference_pages])
    pages = []
    for number, (ref_text, stored_units) in enumerate(zip(reference_pages, stored_pages, strict=False), 1):
        reference = words("\n".join(line for line in ref_text.splitlines() if header_key(line) not in running))
        stored = words(" ".join(text for text, _ in stored_units))
        prose = [text for text, kind in stored_units if kind != markup.CODE]
        pages.append(Page(f"{path.name} p. {number}", recall(stored, reference), sum(reference.values()),
                          junk_counts("\n".join(prose)), [line for text in prose for line in text.splitlines()],
                          (reference - stored).most_common(12)))
    return pages


def missing_runs(reference: str, stored: str, count: int = 3, shortest: int = 2) -> list[str]:
    """The longest runs of reference words that the stored text does not have in that order:
    what a converter engineer should look for on the page."""
    from difflib import SequenceMatcher

    ref, got = _WORD.findall(reference.lower()), _WORD.findall(stored.lower())
    runs, at = [], 0
    for block in SequenceMatcher(None, ref, got, autojunk=False).get_matching_blocks():
        if block.a - at >= shortest:
            runs.append(ref[at:block.a])
        at = block.a + block.size
    runs.sort(key=len, reverse=True)
    return [" ".join(run[:14]) + (" …" if len(run) > 14 else "") + f" ({len(run)} words)" for run in runs[:count]]


def explain(path: str, relpath: str) -> list[str]:
    """missing_runs of one corpus file."""
    data = Path(path).read_bytes()
    try:
        units = quotable_units(read_stored(data, relpath))
    except SkippedFile:
        units = []
    return missing_runs(reference_text(data, relpath), " ".join(text for _, text, _ in units))


def corpus_files(folder: Path) -> list[tuple[str, str]]:
    return [(str(f), f.relative_to(folder).as_posix()) for f in iter_candidate_files(folder)
            if not LICENCE_FILE.match(f.name)]


def summarise(name: str, pages: list[Page], header_share: float, header_minimum: int, worst: int) -> dict:
    junk = Counter()
    for page in pages:
        junk.update(page.junk)
    # A line another detector explains (a lone </aside> on every page) is counted there, not twice.
    plain = [[line for line in p.prose_lines if not any(junk_counts(line).values())] for p in pages]
    junk["repeated_header"] = count_repeated_headers(plain, header_share, header_minimum)
    ranked = sorted(pages, key=lambda p: (p.recall, p.name))
    return {
        "corpus": name,
        "pages": len(pages),
        "skipped": [[p.name, p.skipped] for p in pages if p.skipped],
        "empty_reference": [p.name for p in pages if not p.reference_words],  # recall 1.0 by convention
        "mean_recall": sum(p.recall for p in pages) / len(pages) if pages else 0.0,
        "share_good": sum(p.recall >= GOOD_RECALL for p in pages) / len(pages) if pages else 0.0,
        "lowest": [ranked[0].name, ranked[0].recall] if pages else ["", 0.0],
        "junk": {k: junk[k] for k in JUNK},
        "worst": [{"page": p.name, "recall": p.recall, "reference_words": p.reference_words,
                   "missing": p.missing, **({"skipped": p.skipped} if p.skipped else {})} for p in ranked[:worst]],
    }


def table(rows: list[dict]) -> str:
    head = ("| corpus | pages | mean recall | pages ≥ 0.98 | lowest page | " + " | ".join(JUNK_HEADERS) + " |")
    out = [head, "|" + "---|" * (5 + len(JUNK))]
    for r in rows:
        lowest, low = r["lowest"]
        out.append(f"| {r['corpus']} | {r['pages']} | {r['mean_recall']:.3f} | {r['share_good']:.0%} | "
                   f"{low:.3f} `{lowest}` | " + " | ".join(str(r["junk"][k]) for k in JUNK) + " |")
    return "\n".join(out)


def _measure(args: tuple[str, str]) -> Page:
    return measure_file(*args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", action="append", choices=CORPORA, help="only this corpus (repeatable)")
    parser.add_argument("--pdf", action="append", default=[], type=Path, help="also measure this PDF (repeatable)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    parser.add_argument("--worst", type=int, default=3, help="lowest-recall pages listed per corpus")
    parser.add_argument("--jobs", type=int, default=2, help="processes (default 2)")
    parser.add_argument("--shared", type=Path, default=SHARED, help="folder holding the corpora")
    args = parser.parse_args()
    corpora = args.corpus or ([] if args.pdf else list(CORPORA))
    started = time.perf_counter()
    rows = []
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for name in corpora:
            files = corpus_files(args.shared / name)
            pages = list(pool.map(_measure, files, chunksize=2))
            rows.append(summarise(name, pages, 0.8, 5, args.worst))
            where = dict((rel, path) for path, rel in files)
            for w in rows[-1]["worst"]:
                w["missing_runs"] = explain(where[w["page"]], w["page"]) if w["recall"] < 1 else []
    for pdf in args.pdf:
        rows.append(summarise(pdf.name, measure_pdf(pdf), 0.5, 3, args.worst))
    seconds = time.perf_counter() - started
    if args.json:
        print(json.dumps({"seconds": round(seconds, 1), "corpora": rows}, indent=2, ensure_ascii=False))
        return
    print(table(rows), flush=True)
    for r in rows:
        for w in r["worst"]:
            missed = ", ".join(f"{word}×{n}" for word, n in w["missing"][:8])
            note = f" (skipped: {w['skipped']})" if "skipped" in w else ""
            print(f"  {r['corpus']}: {w['recall']:.3f} {w['page']} of {w['reference_words']} words{note}; "
                  f"most missed: {missed}", file=sys.stderr)
            for run in w.get("missing_runs", []):
                print(f"      missing: {run}", file=sys.stderr)
    print(f"{seconds:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
