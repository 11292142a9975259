"""HTML: a documentation page's main content, as Markdown without escapes. Runs isolated.

Published documentation is generated, so its main content sits in an element the generator
names (Sphinx's ``div[role=main]``, mdBook's ``#content main``, DocBook's ``div.chapter`` …);
that element is read whole, with only the generator's chrome removed inside it (permalinks,
hidden code lines, navigation, "edit this page"). BeautifulSoup parses (the standard library's
parser) and soupsieve selects; markdownify writes the Markdown, with hooks here so that the
stored text is what the page says: headings as ``#`` lines (sections), ``<pre>`` as whole
fenced blocks, inline code in backticks on one line, list items, definition terms and their
definitions, table rows, admonitions, footnotes and captions as prose, and no backslash
escapes, emphasis marks, link targets or images.
"""

from __future__ import annotations

import re
from functools import cache

from index.converters.base import Converted, Converter, Limits
from index.errors import SkippedFile
from index.markup import WRITTEN_MARKDOWN

_HTML_HINT = re.compile(rb"<(?:!doctype\s+html|html|head|body|title|div|p|h[1-6]|article|main)[\s>]", re.IGNORECASE)

# The main content element, most specific first: the first selector that matches wins.
_MAIN_CONTENT = (
    ".theme-doc-markdown",  # Docusaurus (inside its <article>, after the breadcrumbs)
    "article.md-content__inner", "div.md-content",  # MkDocs Material
    "#content main",  # mdBook
    "div[role=main]", "div.body",  # Sphinx
    # DocBook XSL: one combined selector, so the outermost division on the page wins (the
    # generic class names only on a page that names DocBook as its generator).
    "div.book, div.chapter, div.appendix, div.preface, div.sect1, div.qandaset, div.refentry",
    "main article", "[role=main]", "main", "article",  # Hugo, Jekyll, Furo, plain pages
)

# Never content, wherever they are.
_CHROME = ", ".join((
    "script, style, noscript, template, svg, canvas, iframe, object, embed, link, meta",
    "button, input, select, textarea, form, nav, dialog, [hidden]",
    ".headerlink, .hash-link, a.anchor, a.heading-anchor, .footnote-backref, [data-footnote-backref], .reversefootnote",
    # Sphinx
    "div.related, div.sphinxsidebar, div.footer, div.clearer, div.rst-footer-buttons",
    # DocBook XSL
    "div.navheader, div.navfooter, div.toc, div.list-of-tables, div.list-of-figures, div.list-of-examples",
    # mdBook
    "#menu-bar, .menu-bar, #sidebar, .sidebar-scrollbox, .theme-popup, #searchbar, .search-wrapper, "
    ".nav-wrapper, .nav-chapters, .mobile-nav-chapters, span.boring",
    # MkDocs Material and the MkDocs themes
    ".md-source-file, .md-feedback, a.md-content__button, .md-content__button, .md-tags, .md-clipboard, "
    ".linenos, .linenodiv, .md-dialog, .md-footer",
    # Docusaurus
    ".theme-doc-breadcrumbs, .theme-doc-footer, .theme-edit-this-page, .theme-last-updated, "
    ".theme-doc-toc-mobile, .theme-doc-version-badge, .theme-doc-version-banner, .pagination-nav, "
    "[class*=buttonGroup]",
    # Any generator
    ".breadcrumbs, .breadcrumb, [aria-label=breadcrumbs], [aria-label=Breadcrumbs], .edit-this-page, .edit-page",
))
# Site chrome when no generator's content element is found and the whole <body> is read.
_PAGE_CHROME = "header, footer, aside, [role=navigation], [role=banner], [role=contentinfo], .sidebar"
_KEEP_ASIDE = ".footnote, .footnote-list, [role=doc-footnote], .admonition, .note, .warning, .tip"
_PERMALINK_TEXT = frozenset({"¶", "#", "§", "🔗", "\u200b", ""})
_FOOTNOTE_REFS = ("sup.footnote-reference, sup:has(> a.footnote-ref), sup:has(> a[data-footnote-ref]), "
                  "a.footnote-reference, a.footnote-ref, a[data-footnote-ref]")
_FOOTNOTES = "aside.footnote, div.footnote-definition, dl.footnote"
_FOOTNOTE_LABEL = ":scope > .label, :scope > .footnote-definition-label, :scope > dt.label"
# Containers markdownify reads as inline; as <div> they separate the blocks they hold.
_BLOCK_CONTAINERS = ("aside", "figure", "figcaption", "main", "details", "summary", "header", "footer",
                     "center", "address", "hgroup", "fieldset", "legend", "caption")
_MAX_DEPTH = 300  # elements nested deeper than this are not a document (markdownify recurses)
_OPEN, _CLOSE = "\ue000", "\ue001"  # mark fence lines while lists indent them; never left in the text
_FENCE_OPEN = re.compile(rf"^[ \t]*{_OPEN}(.*)$")
_FENCE_CLOSE = re.compile(rf"^[ \t]*{_CLOSE}(.*)$")


def convert_html(data: bytes, relpath: str, limits: Limits) -> Converted:
    from bs4 import BeautifulSoup  # imported here: only the conversion child process needs them

    if b"\x00" in data[:8192]:
        raise SkippedFile("binary file, not HTML (contains NUL bytes)")
    soup = BeautifulSoup(data, "html.parser")
    for s in soup.find_all(string=re.compile(f"[{_OPEN}{_CLOSE}]")):
        s.replace_with(s.replace(_OPEN, "").replace(_CLOSE, ""))
    if _depth(soup) > _MAX_DEPTH:  # before any selector: descendant selectors are slow on deep trees
        raise SkippedFile(f"HTML nested over {_MAX_DEPTH} elements deep")
    root = _main_content(soup)
    if root is None:
        raise SkippedFile("no main content found in the HTML page")
    _mark_anchors(root)  # before the permalinks that name some of them are removed
    _clean(root)
    writer = _markdown_class()()
    try:
        text = _tidy(writer.convert_soup(root))
    except RecursionError:  # _depth bounds the nesting; this is only the last guard
        raise SkippedFile(f"HTML nested over {_MAX_DEPTH} elements deep") from None
    if not text.strip():
        raise SkippedFile("no main content found in the HTML page")
    return Converted(text=text, markup=WRITTEN_MARKDOWN, title=_title(soup, root, text), author=_author(soup),
                     anchors=tuple(writer.anchors))


def sniff_html(head: bytes) -> bool:
    return b"\x00" not in head and _HTML_HINT.search(head[:4096]) is not None


# ----------------------------------------------------------------------------- finding and cleaning


_DOCBOOK_MORE = ("div.book, div.set, div.part, div.chapter, div.appendix, div.preface, div.article, div.reference, "
                 "div.refentry, div.glossary, div.bibliography, div.index, div.sect1, div.section, div.qandaset")


def _main_content(soup):
    generator = soup.find("meta", attrs={"name": "generator"})
    docbook = generator is not None and "docbook" in str(generator.get("content", "")).lower()
    for selector in ((_DOCBOOK_MORE,) if docbook else ()) + _MAIN_CONTENT:
        found = soup.select_one(selector)
        if found is not None and found.get_text(strip=True):
            return found
    body = soup.body or soup
    for chrome in body.select(_PAGE_CHROME):
        if not _attached(chrome, body) or (chrome.name == "header" and chrome.find("h1")):
            continue
        if not (chrome.name == "aside" and chrome.css.match(_KEEP_ASIDE)):
            chrome.decompose()
    return body if body.get_text(strip=True) else None


def _depth(root) -> int:
    deepest, stack = 0, [(root, 0)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > _MAX_DEPTH:
            return deepest
        stack.extend((child, depth + 1) for child in node.find_all(recursive=False))
    return deepest


def _attached(node, root) -> bool:
    return any(parent is root for parent in node.parents)


def _clean(root) -> None:
    from bs4 import Comment, NavigableString

    for comment in root.find_all(string=lambda s: isinstance(s, Comment)):
        comment.extract()
    for chrome in root.select(_CHROME):
        if _attached(chrome, root):
            chrome.decompose()
    for link in root.select("h1 a, h2 a, h3 a, h4 a, h5 a, h6 a, dt a"):  # permalinks without a class
        if link.get_text(strip=True) in _PERMALINK_TEXT and str(link.get("href", "")).startswith("#"):
            link.decompose()
    for ref in root.select(_FOOTNOTE_REFS):
        if _attached(ref, root):
            label = " ".join(ref.get_text().split())
            ref.replace_with(NavigableString(label if label.startswith("[") else f"[{label}]"))
    for note in root.select(_FOOTNOTES):
        label = note.select_one(_FOOTNOTE_LABEL)
        if label is None:
            continue
        number = "".join(label.get_text().split())
        label.decompose()
        first = note.find(["p", "dd"]) or note
        first.insert(0, NavigableString((number if number.startswith("[") else f"[{number}]") + " "))
    for tag in root.find_all(_BLOCK_CONTAINERS):
        tag.name = "div"


_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_ANCHOR = "data-citebot-anchor"  # set on a heading here, read when it is written (never in the text)
_PERMALINK_CLASSES = frozenset({"headerlink", "header", "anchor", "hash-link", "heading-anchor", "anchorjs-link"})


def _mark_anchors(root) -> None:
    """Note on each heading the id a link to its section uses, as the page has it: the heading's
    own id (mdBook, MkDocs, Jekyll, Docusaurus), the target of its permalink (Sphinx), an empty
    named anchor inside it (DocBook), or the id of the section it opens."""
    for heading in root.find_all(_HEADINGS):
        anchor = _anchor_of(heading)
        if anchor:
            heading[_ANCHOR] = anchor


def _anchor_of(heading) -> str:
    if _is_id(own := heading.get("id")):
        return own
    for link in heading.find_all("a"):
        href = str(link.get("href", ""))
        classes = set(link.get("class") or ())
        if href.startswith("#") and _is_id(href[1:]) and (
                classes & _PERMALINK_CLASSES or link.get_text(strip=True) in _PERMALINK_TEXT):
            return href[1:]
    for named in heading.find_all("a"):
        for key in ("id", "name"):
            if not named.get("href") and _is_id(value := named.get(key)):
                return value
    parent = heading.parent
    if parent is not None and _is_id(parent_id := parent.get("id")) and parent.find(_HEADINGS) is heading:
        return parent_id
    return ""


def _is_id(value) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 200 and not any(c.isspace() for c in value)


# ------------------------------------------------------------------------------------ to Markdown


@cache  # the class is made once per conversion process, on its first HTML page
def _markdown_class():
    from markdownify import MarkdownConverter

    class Markdown(MarkdownConverter):
        """markdownify with the hooks citebot needs: no escapes, no emphasis marks, no link targets
        or images, whole fenced code blocks, inline code on one line, plain definition lists."""

        class Options(MarkdownConverter.DefaultOptions):
            escape_asterisks = False
            escape_underscores = False
            escape_misc = False
            heading_style = "atx"
            bullets = "-"
            wrap = True  # collapses whitespace in prose: a source line break never starts a line
            wrap_width = None
            table_infer_header = True
            strip_document = "strip"

        def __init__(self, **options):
            super().__init__(**options)
            self.anchors: list[tuple[str, str]] = []  # (heading words, id) of each heading written

        def convert_soup(self, soup):
            return self.process_tag(soup, parent_tags=set())

        def _plain(self, el, text, parent_tags):
            return text

        convert_a = convert_b = convert_strong = convert_em = convert_i = convert_del = convert_s = _plain
        convert_kbd = convert_sub = convert_sup = convert_q = convert_video = _plain

        def convert_img(self, el, text, parent_tags):
            return ""

        def convert_hr(self, el, text, parent_tags):
            return "\n\n"

        def convert_br(self, el, text, parent_tags):
            return " " if "_inline" in parent_tags else "\n"

        def convert_blockquote(self, el, text, parent_tags):
            return self.convert_div(el, text, parent_tags)

        def convert_hN(self, n, el, text, parent_tags):
            text = " ".join(text.split())
            if "_inline" in parent_tags or not text:
                return f" {text} " if text else ""
            self.anchors.append((text, str(el.get(_ANCHOR, ""))))
            return f"\n\n{'#' * max(1, min(6, n))} {text}\n\n"

        def convert_code(self, el, text, parent_tags):
            if "_noformat" in parent_tags:
                return text
            prefix, suffix, text = _chomp(" ".join(text.split()) if text.strip() else "")
            if not text:
                return prefix
            ticks = "`" * (max((len(m) for m in re.findall(r"`+", text)), default=0) + 1)
            padded = f" {text} " if ticks != "`" else text
            return f"{prefix}{ticks}{padded}{ticks}{suffix}"

        convert_samp = convert_tt = convert_code

        def convert_pre(self, el, text, parent_tags):
            code = _pre_text(el)
            if not code.strip():
                return ""
            if "_inline" in parent_tags:  # a <pre> in a table cell or heading: inline code
                return self.convert_code(el, code, parent_tags - {"_noformat"})
            longest = max((len(m) for m in re.findall(r"`+", code)), default=0)
            fence = "`" * max(3, longest + 1)
            return f"\n\n{_OPEN}{fence}{_language(el)}\n{code}\n{_CLOSE}{fence}\n\n"

        def convert_dt(self, el, text, parent_tags):
            text = " ".join(text.split())
            if "_inline" in parent_tags:
                return f" {text} "
            return f"\n\n{text}\n" if text else ""

        def convert_dd(self, el, text, parent_tags):
            text = text.strip("\n ")
            if "_inline" in parent_tags:
                return f" {text} "
            return f"\n{text}\n\n" if text else ""

        def convert_li(self, el, text, parent_tags):
            if "_inline" in parent_tags:
                return f" {text.strip()} "
            return super().convert_li(el, text, parent_tags)

        def convert_list(self, el, text, parent_tags):
            if "_inline" in parent_tags:
                return f" {text.strip()} "
            return super().convert_list(el, text, parent_tags)

        convert_ul = convert_ol = convert_list

        def convert_td(self, el, text, parent_tags):
            return " " + " ".join(text.split()) + " |" * _colspan(el)

        convert_th = convert_td

    return Markdown


def _chomp(text: str) -> tuple[str, str, str]:
    return (" " if text[:1] == " " else "", " " if text[-1:] == " " else "", text.strip())


def _colspan(el) -> int:
    span = str(el.get("colspan", "1"))
    return max(1, min(100, int(span))) if span.isascii() and span.isdigit() and len(span) <= 3 else 1


def _pre_text(pre) -> str:
    """A <pre> block's text as shown: <br> ends a line (Docusaurus writes lines that way)."""
    from bs4 import NavigableString

    for br in pre.find_all("br"):
        br.replace_with(NavigableString("\n"))
    text = pre.get_text().replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(line.rstrip() for line in lines)


def _language(pre) -> str:
    for node in (pre, pre.find("code"), pre.parent, pre.parent.parent if pre.parent else None):
        for name in (node.get("class") or []) if node is not None and hasattr(node, "get") else []:
            for prefix in ("language-", "highlight-", "lang-"):
                if name.startswith(prefix) and re.fullmatch(r"[\w+#.-]+", name[len(prefix):]):
                    return name[len(prefix):]
    return ""


def _tidy(markdown: str) -> str:
    """Fences back to the left margin (a list item indented them), trailing spaces off, at most
    one blank line between blocks outside code."""
    out: list[str] = []
    code_indent: str | None = None
    blank = 0
    for line in markdown.split("\n"):
        if code_indent is None and (opened := _FENCE_OPEN.match(line)):
            code_indent = line[:len(line) - len(line.lstrip(" \t"))]
            out.append(opened.group(1).rstrip())
            blank = 0
            continue
        if code_indent is not None:
            if closed := _FENCE_CLOSE.match(line):
                out.append(closed.group(1).rstrip())
                code_indent = None
            else:
                out.append(line[len(code_indent):] if line.startswith(code_indent) else line)
            continue
        line = _single_spaces(line.rstrip())
        if not line.strip():
            blank += 1
            if blank > 1 or not out:
                continue
            line = ""
        else:
            blank = 0
        out.append(line)
    return "\n".join(out).strip("\n") + "\n"


def _single_spaces(line: str) -> str:
    """Runs of spaces inside a prose line become one (two text nodes each brought their own);
    the line's indentation and inline code stay as they are."""
    indent = len(line) - len(line.lstrip(" "))
    parts = re.split(r"(`+.*?`+)", line[indent:])
    return line[:indent] + "".join(part if n % 2 else re.sub(r" {2,}", " ", part) for n, part in enumerate(parts))


# ------------------------------------------------------------------------------------ title, author


def _title(soup, root, text: str) -> str:
    # A leading "# heading" is taken as the title by the document reader (and left out of the
    # section path); otherwise the article's first h1, else the page's <title>.
    if text.startswith("# "):
        return ""
    h1 = root.find("h1")
    if h1 is not None and (words := " ".join(h1.get_text().replace("¶", "").split())):
        return words
    return " ".join(soup.title.get_text().split()) if soup.title is not None else ""


def _author(soup) -> str:
    meta = soup.find("meta", attrs={"name": re.compile(r"^author$", re.I)})
    return " ".join(str(meta.get("content", "")).split()) if meta is not None else ""


HTML = Converter(name="html", version=4, suffixes=(".html", ".htm", ".xhtml"), convert=convert_html,
                 sniff=sniff_html, label="HTML", modules=("bs4", "soupsieve", "markdownify"))
