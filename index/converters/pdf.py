"""PDF: the text layer of every page in reading order (pdfium, through pypdfium2), pages joined by
a blank line; the bookmarks as headings, or, in a PDF without bookmarks, the lines set in larger
type. Runs isolated (index/converters/isolation.py).

What is quoted is the extracted text, cleaned of what a reader skips: a word hyphenated at a
line end is whole again (pdfium marks such hyphens U+FFFE; soft hyphens U+00AD), running headers
and footers (lines that repeat, numbers aside, at the top or bottom of many pages) and page
numbers are left out, and so are the entries of a table of contents ("1.2 Foo . . . . 12")."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from index.converters.base import Converted, Converter, Limits, OutlineEntry
from index.errors import SkippedFile

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_LEADER_DOTS = re.compile(r"(?:\. ?){4,}\s*\w*\s*$")
# pdfium writes U+FFFE (older builds 0x02) for a hyphen it found at a line end, and joins the
# lines; U+00AD is a soft hyphen: a place a word may be split, never a character of it.
_LINE_END_HYPHENS = "\ufffe\x02"
_SOFT_HYPHEN = "\u00ad"
_HYPHEN_MARKS = _LINE_END_HYPHENS + _SOFT_HYPHEN
_WORD = re.compile(r"[^\W_]+")
_MARKED_WORD = re.compile(rf"([^\W_]*)([{_HYPHEN_MARKS}])([^\W_]*)")
_HYPHENATED = re.compile(r"(?<![^\W_])([^\W_]+)-(?=([^\W_]+))")
_ROMAN = re.compile(r"(?=[ivxlcdm])m{0,3}(?:cm|cd|d?c{0,3})(?:xc|xl|l?x{0,3})(?:ix|iv|v?i{0,3})", re.I)
_EDGE_LINES = 3  # running headers and footers are looked for in this many lines at each end of a page
_RUNNING_SHARE = 0.4  # ... and must stand there on this share of the pages (and on 3 at least)
# A table of contents' entry: a title, dot leaders and a page number ("1.2 Foo . . . . 12"), or a
# title and a page number ("1 GNU/Linux tutorials 1").
_PAGE_REF = re.compile(r"\s(\d{1,5}|[ivxlcdm]{1,8})$", re.I)
_LEADERS = re.compile(r"(?:(?:[.·] ?){4,}|(?:… ?){2,})$")
_TOC_MIN_ENTRIES = 3  # consecutive entries, one with leaders at least ...
_TOC_MIN_PLAIN = 5  # ... or this many without any, their page numbers in order
_SENTENCE_END = (".", ":", ";", "!", "?", ",")
_MAX_OUTLINE_DEPTH = 6
_HEADING_MAX_CHARS = 150
HEADING_SIZE_RATIO = 1.15  # a heading's type is at least this much larger than the body's


def convert_pdf(data: bytes, relpath: str, limits: Limits) -> Converted:
    import pypdfium2  # imported here: only the conversion child process needs it

    try:
        pdf = pypdfium2.PdfDocument(data)
    except pypdfium2.PdfiumError as err:
        if "password" in str(err).lower():
            raise SkippedFile("encrypted PDF: it needs a password to open") from None
        raise SkippedFile(f"not a readable PDF ({str(err).splitlines()[0]})") from None
    try:
        count = len(pdf)
        if count > limits.max_pages:
            raise SkippedFile(f"{count:,} pages is over the {limits.max_pages:,}-page limit (max_pages)")
        read: list[list[RawLine]] = []
        for index in range(count):
            page = pdf[index]
            try:
                textpage = page.get_textpage()
                read.append(_raw_lines(textpage))
                textpage.close()
            finally:
                page.close()
        vocabulary = _vocabulary(read)
        top, bottom = _running_lines(read)
        pieces: list[str] = []
        pages: list[int] = []
        at = 0
        lines: list[Line] = []  # every line with its font size, for headings when there are no bookmarks
        in_contents = False
        for number, raw in enumerate(read, start=1):
            kept, in_contents = _without_contents(_without_running(raw, top, bottom), in_contents, count, number)
            text, page_lines = _page_text(kept, vocabulary)
            if not text:  # nothing left to quote (a contents page): it starts where the next page does
                pages.append(at + 2 if pieces else at)
                continue
            if pieces:
                pieces.append("\n\n")
                at += 2
            pages.append(at)
            pieces.append(text)
            lines.extend(Line(at + offset, size, words) for offset, size, words in page_lines)
            at += len(text)
        body = "".join(pieces)
        pages = [min(start, len(body)) for start in pages]
        if not body.strip():
            raise SkippedFile("no text layer: scanned PDF; OCR not supported")
        metadata = pdf.get_metadata_dict(skip_empty=True)
        outline = _outline(pdf, body, pages) or _headings_by_size(lines)
    finally:
        pdf.close()
    return Converted(text=body, markup="text", title=" ".join(metadata.get("Title", "").split()),
                     author=" ".join(metadata.get("Author", "").split()), pages=tuple(pages), outline=outline)


@dataclass(frozen=True)
class Line:
    offset: int  # in the document text
    size: float  # the font size most of its characters have
    words: str


@dataclass(frozen=True)
class RawLine:
    """A line as pdfium gives it, hyphen marks still in, with how many of its visible characters
    have each font size."""

    words: str
    sizes: Counter


def _raw_lines(textpage) -> list[RawLine]:
    """The page's lines in reading order, trailing spaces trimmed; a line that ends in a hyphen
    mark is joined with the next (pdfium mostly has joined them already)."""
    import pypdfium2.raw as pdfium_c  # only the conversion child process needs it

    raw = textpage.get_text_range()
    sizes = [pdfium_c.FPDFText_GetFontSize(textpage.raw, i) for i in range(len(raw))]
    lines: list[RawLine] = []
    start = 0
    for match in _LINE_BREAK.finditer(raw + "\n"):
        end = match.start()
        words = raw[start:end].replace("\x00", "").rstrip(" \t")
        counted = Counter(round(sizes[i], 1) for i in range(start, min(end, len(sizes)))
                          if not raw[i].isspace() and raw[i] != "\x00")
        if lines and lines[-1].words.endswith(tuple(_HYPHEN_MARKS)) and words.lstrip()[:1].isalnum():
            lines[-1] = RawLine(lines[-1].words + words.lstrip(), lines[-1].sizes + counted)
        else:
            lines.append(RawLine(words, counted))
        start = match.end()
    return lines


def _page_text(lines: list[RawLine], vocabulary: Vocabulary) -> tuple[str, list[tuple[int, float, str]]]:
    """The page's text: its lines, hyphenated words joined, blank edges trimmed; and each line's
    offset in it and font size."""
    kept = [(line.sizes.most_common(1)[0][0] if line.sizes else 0.0, _unhyphenate(line.words, vocabulary))
            for line in lines]
    while kept and not kept[0][1].strip():
        kept.pop(0)
    while kept and not kept[-1][1].strip():
        kept.pop()
    text, found, at = [], [], 0
    for size, words in kept:
        found.append((at, size, words))
        text.append(words)
        at += len(words) + 1
    return "\n".join(text), found


# ----------------------------------------------------------------------- words split at a line end


@dataclass(frozen=True)
class Vocabulary:
    """How the document writes its words elsewhere: whole (lower-case) and hyphenated pairs."""

    words: Counter
    pairs: Counter


def _vocabulary(pages: list[list[RawLine]]) -> Vocabulary:
    words: Counter = Counter()
    pairs: Counter = Counter()
    for lines in pages:
        for line in lines:
            plain = _MARKED_WORD.sub(" ", line.words)  # a split word says nothing about how it is written
            words.update(w.lower() for w in _WORD.findall(plain))
            pairs.update((m.group(1).lower(), m.group(2).lower()) for m in _HYPHENATED.finditer(plain))
    return Vocabulary(words, pairs)


def _unhyphenate(words: str, vocabulary: Vocabulary) -> str:
    """Hyphen marks resolved: a soft hyphen goes; a hyphen pdfium found at a line end goes when
    it split a word ("exam-ple"), and stays when the word is written with it ("non-free")."""
    if not any(mark in words for mark in _HYPHEN_MARKS):
        return words

    def joined(match: re.Match) -> str:
        left, mark, right = match.groups()
        if mark == _SOFT_HYPHEN or not left:
            return left + right
        if not right:
            return left + "-"
        compound = match.start() >= 2 and words[match.start() - 1] == "-" and words[match.start() - 2].isalnum()
        return left + ("-" if _keeps_hyphen(left, right, compound, vocabulary) else "") + right

    return _MARKED_WORD.sub(joined, words)


def _keeps_hyphen(left: str, right: str, compound: bool, vocabulary: Vocabulary) -> bool:
    whole = vocabulary.words[(left + right).lower()]
    hyphened = vocabulary.pairs[(left.lower(), right.lower())]
    if whole != hyphened:  # the document writes it one way more often
        return hyphened > whole
    if right[0].isupper() and not left[-1].isupper():  # "well-Known"
        return True
    if left[-1].isdigit() or right[0].isdigit() or compound:  # "x86-64", "fonts-crosextra-carlito"
        return True
    # two words the document uses on their own ("time-consuming"), not a prefix or syllables
    return min(len(left), len(right)) >= 3 and bool(vocabulary.words[left.lower()]) and bool(
        vocabulary.words[right.lower()])


# --------------------------------------------------------------------- running headers and footers


def _edge_key(words: str) -> str | None:
    """What a running header or footer keeps from page to page: its words, numbers (arabic or
    roman) aside. None for a line with neither words nor numbers."""
    kept: list[str] = []
    numbered = False
    for token in _WORD.findall(words.lower()):
        if any(ch.isdigit() for ch in token) or _ROMAN.fullmatch(token):
            numbered = True
        else:
            kept.append(token)
    return " ".join(kept) if kept or numbered else None


def _edges(lines: list[RawLine]) -> tuple[list[RawLine], list[RawLine]]:
    body = [line for line in lines if line.words.strip()]
    return body[:_EDGE_LINES], body[::-1][:_EDGE_LINES]


def _running_lines(pages: list[list[RawLine]]) -> tuple[frozenset[str], frozenset[str]]:
    """The keys of the lines that stand among the first (last) few lines of many pages."""
    top: Counter = Counter()
    bottom: Counter = Counter()
    for lines in pages:
        first, last = _edges(lines)
        top.update({key for line in first if (key := _edge_key(line.words)) is not None})
        bottom.update({key for line in last if (key := _edge_key(line.words)) is not None})
    need = max(3, math.ceil(len(pages) * _RUNNING_SHARE))
    return (frozenset(k for k, n in top.items() if n >= need), frozenset(k for k, n in bottom.items() if n >= need))


def _without_running(lines: list[RawLine], top: frozenset[str], bottom: frozenset[str]) -> list[RawLine]:
    start = _running_count(lines, top)
    end = len(lines) - _running_count(lines[start:][::-1], bottom)
    return lines[start:end]


def _running_count(lines: list[RawLine], keys: frozenset[str]) -> int:
    """How many lines from the start are running ones (blank lines among them), each key once:
    the title page's title under the running header "Title i" stays."""
    count, seen, looked = 0, set(), 0
    for n, line in enumerate(lines):
        if not line.words.strip():
            continue
        key = _edge_key(line.words)
        if looked == _EDGE_LINES or key is None or key not in keys or key in seen:
            break
        looked += 1
        seen.add(key)
        count = n + 1
    return count


# ------------------------------------------------------------------------------ tables of contents


def _contents_entry(words: str, pages: int) -> tuple[bool, int | None] | None:
    """For a table of contents' entry: whether it has dot leaders, and its page number (None when
    roman); else None. An entry without leaders names one of the document's pages ("Ian Murdock
    August 1993" is not an entry)."""
    line = words.strip()
    ref = _PAGE_REF.search(line)
    if ref is None or len(line) > 200 or (not ref.group(1).isdigit() and not _ROMAN.fullmatch(ref.group(1))):
        return None
    title = line[:ref.start()].rstrip()
    leaders = _LEADERS.search(title)
    if leaders:
        title = title[:leaders.start()].rstrip()
    elif title.endswith(_SENTENCE_END) or len(title) > 120 or (ref.group(1).isdigit() and int(ref.group(1)) > pages):
        return None
    if not any(ch.isalpha() for ch in title):
        return None
    return leaders is not None, int(ref.group(1)) if ref.group(1).isdigit() else None


def _title_like(words: str) -> bool:
    """A table of contents' own heading ("Contents") or an entry's first line, wrapped."""
    line = words.strip()
    return 0 < len(line) <= 120 and any(ch.isalpha() for ch in line) and not line.endswith(_SENTENCE_END)


def _without_contents(lines: list[RawLine], continued: bool, pages: int, page: int) -> tuple[list[RawLine], bool]:
    """The page (number `page` of `pages`) without its table of contents: runs of entries (three
    at least, one with dot leaders; or five in page order, pointing past this page, as contents
    do: "Week one 10 … Week five 30" on page 50 is a table), the heading above them, and, when the
    previous page's contents ran to its end, the entries this page opens with. Also says whether
    contents run to this page's end."""
    entries = [_contents_entry(line.words, pages) for line in lines]
    first = next((n for n, line in enumerate(lines) if line.words.strip()), len(lines))
    drop = [False] * len(lines)
    ends_in_contents = False
    n = 0
    while n < len(lines):
        if entries[n] is None:
            n += 1
            continue
        members, end = [], n
        while end < len(lines):
            if entries[end] is not None:
                members.append(entries[end])
            elif not (end + 1 < len(lines) and entries[end + 1] is not None and _title_like(lines[end].words)):
                break  # a line between entries is an entry's title, wrapped
            end += 1
        numbers = [number for _, number in members if number is not None]
        in_order = all(a <= b for a, b in zip(numbers, numbers[1:]))
        ahead = in_order and bool(numbers) and numbers[0] > page
        leaders = any(lead for lead, _ in members)
        if ((continued and n == first and (leaders or ahead)) or (len(members) >= _TOC_MIN_ENTRIES and leaders)
                or (len(members) >= _TOC_MIN_PLAIN and ahead)):
            start = n - 1 if n > first and _title_like(lines[n - 1].words) else n
            drop[start:end] = [True] * (end - start)
            ends_in_contents = all(not line.words.strip() for line in lines[end:])
        n = end
    return [line for line, dropped in zip(lines, drop) if not dropped], ends_in_contents


def _headings_by_size(lines: list[Line]) -> tuple[OutlineEntry, ...]:
    """Without bookmarks: short lines set clearly larger than the body text are headings, the
    larger the higher. The body size is the one most characters have."""
    weight: dict[float, int] = {}
    for line in lines:
        weight[line.size] = weight.get(line.size, 0) + len(line.words)
    if not weight:
        return ()
    body = max(weight, key=weight.get)
    found = [line for line in lines
             if line.size >= body * HEADING_SIZE_RATIO and 1 < len(line.words.strip()) <= _HEADING_MAX_CHARS
             and any(ch.isalpha() for ch in line.words) and not line.words.rstrip().endswith((".", ",", ";"))
             and not _LEADER_DOTS.search(line.words)]  # a table of contents' entries are not headings
    levels = sorted({line.size for line in found}, reverse=True)
    if sum(len(line.words) for line in found) * 3 > sum(weight.values()):
        return ()  # a third of the words in large type: a poster or slides, not headings
    return tuple(OutlineEntry(line.offset + len(line.words) - len(line.words.lstrip()),
                              min(levels.index(line.size) + 1, 6), line.words.strip(), len(line.words.strip()))
                 for line in found)


def _outline(pdf, body: str, pages: list[int]) -> tuple[OutlineEntry, ...]:
    """Bookmarks as headings, each placed where its title stands on its page (else at the page's
    start), in text order."""
    entries: list[OutlineEntry] = []
    for bookmark in pdf.get_toc(max_depth=_MAX_OUTLINE_DEPTH):
        title = " ".join((bookmark.get_title() or "").split())
        dest = bookmark.get_dest()
        index = dest.get_index() if dest is not None else None
        if not title or index is None or not 0 <= index < len(pages):
            continue
        start = pages[index]
        end = pages[index + 1] if index + 1 < len(pages) else len(body)
        found = body.find(title, start, end)
        level = bookmark.level + 1
        entries.append(OutlineEntry(found, level, title, len(title)) if found >= 0
                       else OutlineEntry(start, level, title))
    entries.sort(key=lambda e: e.offset)
    kept: list[OutlineEntry] = []
    for e in entries:  # a bookmark found inside another's title words is the same heading again
        if kept and kept[-1].offset <= e.offset < kept[-1].offset + kept[-1].length:
            continue
        kept.append(e)
    return tuple(kept)


PDF = Converter(name="pdf", version=3, suffixes=(".pdf",), convert=convert_pdf,
                sniff=lambda head: b"%PDF-" in head[:1024], label="PDF", modules=("pypdfium2",))
