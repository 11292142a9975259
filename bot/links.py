"""A citation -> the address where people read it: the page, the section, the quoted words.

A collection's `links` setting names where its documents are published (a docs site, or a
repository view). The address is built from that template and what the index knows of the
document, never from its text as markup: the page's own heading ids (HTML), or the heading
ids the site's generator derives from the heading's words (GitHub, GitLab, MkDocs, Sphinx);
the quoted words as a text fragment (``#:~:text=start,end``) so a browser scrolls to them and
marks them; source line ranges for a repository view; ``#page=N`` for a PDF. Every piece a
document supplies is percent-encoded, so it cannot add a target, a scheme or markup.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import PurePosixPath
from urllib.parse import quote

from bot.render import segments
from bot.types import Answer, Citation, Excerpt
from index.errors import ConfigError
from index.generation import DocumentInfo

PLACEHOLDERS = {
    "path": "the file's path inside its docs folder (`tutorial/venv.html`)",
    "stem": "that path without its suffix, an index or README page naming its folder, as sites that serve "
            "folders address pages (`tutorial/venv`; `tutorial/index.md`: `tutorial`)",
    "base": "the path without its suffix, as it is (`tutorial/index`), as `{base}.html` for Sphinx's pages",
    "rev": "the git commit whose copy of the file is the one indexed (docs folders in a git checkout)",
    "first": "the excerpt's first line in the file (Markdown, rST and text files)",
    "last": "the excerpt's last line in the file",
}
LINE_PLACEHOLDERS = frozenset({"first", "last"})
HEADING_RULES = ("none", "github", "gitlab", "mkdocs", "sphinx")
_INDEX_STEMS = frozenset({"index", "readme", "_index"})
# The scheme and host are written out, never filled in: a file's path cannot choose where a link goes.
_URL_SHAPE = re.compile(r"^https?://[^/\s?#{}]+(?:[/?#]|$)")
# A template is an address: these would end it, or end the Markdown link it is shown in.
_NOT_IN_URL = re.compile(r"[\s<>\"'`()\[\]\\^|]")
FRAGMENT_WORDS = 6  # words of the quote at each end of a text fragment (at least three: see text_directive)


@dataclass(frozen=True)
class LinkSettings:
    """A collection's `links:` setting (README, Citation links)."""

    url: str  # the template: https://docs.python.org/3.11/{path}
    headings: str = "none"  # how the site names the headings of Markdown/rST files: HEADING_RULES
    text_fragments: bool = True  # mark the quoted words (#:~:text=) on web pages


def parse_link_settings(value, where: str) -> LinkSettings | None:
    """The `links` value of a config (a template, or {url, headings, text_fragments}); errors name where."""
    if value is None:
        return None
    if isinstance(value, str):
        value = {"url": value}
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a URL template or {{url: ..., headings: ..., text_fragments: ...}}")
    unknown = [k for k in value if k not in ("url", "headings", "text_fragments")]
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}; known keys: url, headings, text_fragments")
    url = value.get("url")
    if not isinstance(url, str) or not url:
        raise ConfigError(f"{where}.url: a URL template is needed, e.g. https://docs.example.org/{{path}}")
    check_template(url, f"{where}.url")
    headings = value.get("headings", "none")
    if not isinstance(headings, str) or headings.lower() not in HEADING_RULES:
        raise ConfigError(f"{where}.headings: {headings!r} is not one of {', '.join(HEADING_RULES)}")
    fragments = value.get("text_fragments", True)
    if not isinstance(fragments, bool):
        raise ConfigError(f"{where}.text_fragments: {fragments!r} must be true or false")
    return LinkSettings(url, headings.lower(), fragments)


def check_template(url: str, where: str) -> None:
    if not _URL_SHAPE.match(url):
        raise ConfigError(f"{where}: {url!r} must start with http:// or https:// and a host written out, then / "
                          "(placeholders come after the host)")
    if bad := _NOT_IN_URL.search(url):
        raise ConfigError(f"{where}: {url!r} holds {bad.group()!r}, which cannot stand in a link; percent-encode it")
    try:
        fields = list(string.Formatter().parse(url))
    except ValueError as err:
        raise ConfigError(f"{where}: {url!r} is not a template ({err}); write a literal brace as {{{{ or }}}}") from None
    for _, name, spec, conversion in fields:
        if name is None:
            continue
        if name not in PLACEHOLDERS or spec or conversion:
            raise ConfigError(f"{where}: {{{name}{'!' + conversion if conversion else ''}{':' + spec if spec else ''}}} "
                              f"is not a placeholder; known: {', '.join('{' + p + '}' for p in PLACEHOLDERS)}")


# ----------------------------------------------------------------------------------- heading ids


def _github_slug(words: str) -> str:
    """github-slugger (GitHub, Docusaurus): lower case, everything but letters, marks, digits,
    connectors, '-' and ' ' removed, each space a '-'."""
    kept = "".join(c for c in words.lower() if c in "- " or unicodedata.category(c)[0] in "LM"
                   or unicodedata.category(c) in ("Nd", "Nl", "Pc"))
    return kept.replace(" ", "-")


def _gitlab_slug(words: str) -> str:
    """GitLab's Markdown: lower case, what is not a word character, '-' or ' ' removed, spaces
    to '-', runs of '-' squeezed to one."""
    kept = re.sub(r"[^\w\- ]", "", words.strip().lower())
    return re.sub(r"-{2,}", "-", kept.replace(" ", "-"))


def _numbered(slug: Callable[[str], str]) -> Callable[[Sequence[str]], list[str]]:
    """GitHub's and GitLab's duplicates: foo, foo-1, foo-2."""
    def ids(titles: Sequence[str]) -> list[str]:
        seen: dict[str, int] = {}
        out = []
        for title in titles:
            base = result = slug(title)
            while result in seen:
                seen[base] = seen.get(base, 0) + 1
                result = f"{base}-{seen[base]}"
            seen.setdefault(result, 0)
            out.append(result)
        return out
    return ids


_EXPLICIT_ID = re.compile(r"\s*\{:?\s*#([\w:.-]+)[^{}]*\}\s*$")  # "## Title {#id}" or "{: #id}" (attr_list)


def _mkdocs_ids(titles: Sequence[str]) -> list[str]:
    """Python-Markdown's table of contents (MkDocs): an id written after the heading (attr_list),
    else its own slugify, with foo_1 duplicates."""
    from markdown.extensions.toc import slugify, unique

    explicit = [_EXPLICIT_ID.search(title) for title in titles]
    used = {m.group(1) for m in explicit if m}
    return [m.group(1) if m else unique(slugify(title, "-"), used) for title, m in zip(titles, explicit)]


def _sphinx_ids(titles: Sequence[str]) -> list[str]:
    """Sphinx, through docutils: make_id of the title; a title whose id is taken, or which has
    none, gets docutils' numbered id (id1, id2, ...)."""
    from docutils.nodes import make_id

    used: set[str] = set()
    counter = 0
    out = []
    for title in titles:
        made = make_id(" ".join(title.split()))
        while not made or made in used:
            counter += 1
            made = f"id{counter}"
        used.add(made)
        out.append(made)
    return out


_RULES: dict[str, Callable[[Sequence[str]], list[str]]] = {
    "github": _numbered(_github_slug), "gitlab": _numbered(_gitlab_slug), "mkdocs": _mkdocs_ids, "sphinx": _sphinx_ids,
}


def heading_ids(titles: Sequence[str], rule: str) -> list[str]:
    """The id each heading of a page gets from its words, in page order, under a generator's rule."""
    return _RULES[rule](titles) if rule in _RULES else ["" for _ in titles]


@lru_cache(maxsize=512)
def _derived_ids(titles: tuple[str, ...], rule: str) -> tuple[str, ...]:
    return tuple(heading_ids(titles, rule))


def section_anchor(doc: DocumentInfo, offset: int | None, rule: str) -> str:
    """The id of the heading whose section holds offset: the page's own (HTML), else the one
    the generator derives ("" when neither is known)."""
    at = doc.heading_at(offset)
    if at is None:
        return ""
    own = doc.headings[at].anchor
    if own or doc.first_line == 0:  # a converted page has only the ids it wrote itself
        return own
    return _derived_ids(tuple(h.title for h in doc.headings), rule)[at]


# ----------------------------------------------------------------------------------- text fragment


_SOURCE_WORD = re.compile(r"[\w.,;:!?()%+=/@&-]+")
_NOT_ON_PAGE = re.compile(r"[`*|\[\]<>\\\ufffc]")  # what a converter writes around words (code, tables, links)


def _safe(word: str, converted: bool) -> bool:
    """A word the page shows exactly as stored. A page's own text (converted from HTML) is what
    it shows, less the marks the converter wrote; a source's text (Markdown, rST) loses its marks
    and its quotes, dashes and ellipses may be typeset ("" -> “”, -- -> –, ... -> …)."""
    if not any(c.isalnum() for c in word):
        return False
    if converted:
        return not _NOT_ON_PAGE.search(word)
    return (bool(_SOURCE_WORD.fullmatch(word)) and "--" not in word and "..." not in word
            and not word.startswith("_") and not word.endswith("_"))


def _runs(line: str, converted: bool, code: bool = False) -> list[list[str]]:
    """Runs of consecutive words the page shows as stored. In code, white space is kept as it
    is written, so a run also ends where words are not one space apart."""
    runs: list[list[str]] = [[]]
    for match in re.finditer(r"(\s*)(\S+)", line):
        gap, word = match.groups()
        if code and runs[-1] and gap != " ":
            runs.append([])
        word = word if code else word.strip("`")  # inline code shows without its backticks
        if _safe(word, converted or code):  # code is shown as written, in every format
            runs[-1].append(word)
        elif runs[-1]:
            runs.append([])
    return [r for r in runs if r]


_HIDDEN = "\ufffc"  # stands where inline markup was: no page shows it, so a word holding it is never matched


def _flagged(e: Excerpt) -> Excerpt:
    """The excerpt with its inline markup (a role, link syntax, a tag) kept in place as _HIDDEN
    characters: the words beside it are shown otherwise on the page (`:meth:` adds "()", `:doc:`
    shows the page's title), so they cannot be matched."""
    chars = list(e.text)
    for a, b in e.inline:
        chars[a:b] = _HIDDEN * (b - a)
    return replace(e, text="".join(chars), inline=())


def text_directive(e: Excerpt, converted: bool = False) -> str:
    """`text=start,end` for the excerpt's words, percent-encoded as the text fragments spec
    asks ("" when no run of three words reads the same on the page). converted: the document's
    text was converted from the page itself (HTML), not read from its source."""
    runs = [run for part in segments(_flagged(e)) for line in part.text.split("\n")
            for run in _runs(line, converted, code=part.kind == "code") if len(run) >= 3]
    if not runs:
        return ""
    # The browser marks the first place the start words occur: three common words ("to create a")
    # may stand earlier on the page, so a run of four or more starts the fragment where there is one.
    runs = runs[next((k for k, run in enumerate(runs) if len(run) >= 4), 0):]
    if len(runs) == 1 and len(runs[0]) <= FRAGMENT_WORDS * 2:
        return "text=" + _encoded(" ".join(runs[0]))
    start, end = runs[0][:FRAGMENT_WORDS], runs[-1][-FRAGMENT_WORDS:]
    return "text=" + _encoded(" ".join(start)) + "," + _encoded(" ".join(end))


def _encoded(words: str) -> str:
    """Percent-encoded for a text directive: '-', ',' and '&' have meaning there too."""
    return quote(words, safe="").replace("-", "%2D")


# ----------------------------------------------------------------------------------- the link


def _unsuffixed(relpath: str) -> PurePosixPath:
    path = PurePosixPath(relpath)
    return path.with_suffix("") if path.suffix else path


def _stem(relpath: str) -> str:
    stem = _unsuffixed(relpath)
    if stem.name.lower() in _INDEX_STEMS:
        stem = stem.parent
    return "" if str(stem) == "." else str(stem)


def _line_of(text: str, first_line: int, offset: int) -> int:
    return first_line + text.count("\n", 0, offset)


@dataclass(frozen=True)
class Linker:
    """Builds each citation's address from one collection's LinkSettings."""

    settings: LinkSettings

    @property
    def wants_lines(self) -> bool:
        return bool(_names(self.settings.url) & LINE_PLACEHOLDERS)

    def url(self, e: Excerpt, doc: DocumentInfo, text: str = "") -> str | None:
        """The address of an excerpt (None when the template needs what this document lacks: a
        commit for {rev}). text: the document's stored text, for {first} and {last}."""
        c = e.citation
        values = {"path": quote(c.path, safe="/"), "stem": quote(_stem(c.path), safe="/"),
                  "base": quote(str(_unsuffixed(c.path)), safe="/")}
        if "rev" in _names(self.settings.url):
            if not doc.revision:
                return None
            values["rev"] = doc.revision
        lines = doc.first_line > 0 and c.start is not None and c.end is not None and bool(text)
        if lines:
            values["first"] = str(_line_of(text, doc.first_line, c.start))
            values["last"] = str(_line_of(text, doc.first_line, max(c.start, c.end - 1)))
        template = self.settings.url
        if "#" in template:
            page, fragment = template.split("#", 1)
            if not lines and _names(fragment) & LINE_PLACEHOLDERS:
                fragment = ""  # no source lines to name: the file itself
            return _address(page, values) + (f"#{_fill(fragment, values)}" if fragment else "")
        if self.wants_lines and not lines:
            return None
        address = _address(template, values)
        if c.page is not None:
            return f"{address}#page={c.page}"
        anchor = section_anchor(doc, c.start, self.settings.headings)
        directive = (text_directive(e, converted=doc.first_line == 0)
                     if self.settings.text_fragments and e.kind == "text" else "")
        # Only unreserved characters stay: a page's id cannot add a directive (":~:") or end the link.
        fragment = quote(anchor, safe="-._~") + (f":~:{directive}" if directive else "")
        return f"{address}#{fragment}" if fragment else address

    def section_url(self, doc: DocumentInfo, offset: int | None) -> str | None:
        """The address of the section holding offset, without any quote (the gap report's
        "where to write the answer")."""
        c = Citation(0, doc.relpath, doc.path, doc.title, "", doc.author, offset, offset, doc.page_at(offset))
        return self.url(Excerpt("", "field", 0.0, c), doc)


def _names(template: str) -> set[str]:
    """The placeholders a (checked) template uses."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def _fill(template: str, values: dict[str, str]) -> str:
    out = []
    for literal, name, _, _ in string.Formatter().parse(template):
        out.append(literal)
        if name is not None:
            out.append(values.get(name, ""))
    return "".join(out)


def _address(template: str, values: dict[str, str]) -> str:
    """The template filled, its path without the '//' an empty {stem} leaves."""
    scheme, _, rest = _fill(template, values).partition("://")
    host, slash, path = rest.partition("/")
    path, mark, query = (slash + path).partition("?")
    return f"{scheme}://{host}{re.sub(r'/{2,}', '/', path)}{mark}{query}"  # an empty {stem} leaves no '//'


def with_links(answer: Answer, linker: Linker | None, document: Callable[[str], DocumentInfo | None],
               text_of: Callable[[str], str]) -> Answer:
    """The answer with each citation's url set (unchanged without a linker)."""
    if linker is None or not answer.excerpts:
        return answer
    documents = {path: document(path) for path in {e.citation.file for e in answer.excerpts}}  # each read once
    texts = {path: text_of(path) for path, doc in documents.items()
             if doc is not None and doc.first_line and linker.wants_lines}
    excerpts = []
    for e in answer.excerpts:
        doc = documents[e.citation.file]
        url = linker.url(e, doc, texts.get(doc.path, "")) if doc is not None else None
        excerpts.append(replace(e, citation=replace(e.citation, url=url)))
    return replace(answer, excerpts=tuple(excerpts))

