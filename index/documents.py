"""Turn a converter's output (index/converters/) into a Document: title, sections, and the blocks
of its markup (code to quote whole, markup to leave out; index/markup.py). Also which files in a
docs folder are candidates, and reading them within the size cap.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from index.converters.base import FIELD_SEPARATOR, Converted, Field
from index.converters.text import convert_text
from index.errors import SkippedFile
from index.markup import ATX_HEADING, MARKUP, Block, Heading, Layout, heading_text, read_layout

_TITLE_MAX_CHARS = 150


@dataclass(frozen=True)
class Section:
    """A run of the document text under one heading path."""

    path: tuple[str, ...]
    start: int
    end: int


@dataclass(frozen=True)
class HeadingMark:
    """A heading of the document, where a link to its section lands: its words as the section
    path names them, its level, where it starts in the text, and the id the file gives it ("":
    none; a site's generator derives it from the words, bot/links.py)."""

    start: int
    level: int
    title: str
    anchor: str = ""


__all__ = ["FIELD_SEPARATOR", "Field", "Document", "HeadingMark", "Section", "build_document", "convert_text",
           "parse_document"]


@dataclass(frozen=True)
class Document:
    path: str  # as shown to users: docs folder joined with the path inside it
    relpath: str  # path inside its docs folder
    title: str
    author: str
    text: str  # the body after front matter, mojibake repaired, or a converter's text; excerpts quote this
    sha256: str
    sections: tuple[Section, ...]
    fields: tuple[Field, ...]
    blocks: tuple[Block, ...] = ()  # code quoted whole, markup neither quoted nor matched
    pages: tuple[int, ...] = ()  # where each page starts in text (PDF); () when the format has none
    converter: str = ""  # the converter's name/version that read it
    headings: tuple[HeadingMark, ...] = ()
    first_line: int = 0  # the file's line (from 1) where text starts, when text is its own lines; 0: converted


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_file_bytes(path: Path, max_bytes: int, root: Path | None = None, outside_allowed: bool = False) -> bytes:
    """Read a candidate document, raising SkippedFile with the reason it cannot be used.

    Only regular files are read, and at most max_bytes of them: a FIFO would block for ever and
    /dev/zero never ends. A symbolic link that leads out of its docs folder (root) is not
    followed unless outside_allowed: a link to /etc/passwd or a .env file must not become
    quotable text."""
    if path.is_symlink() and not path.exists():
        raise SkippedFile("broken symbolic link")
    if root is not None and not outside_allowed:
        real = path.resolve()
        if not real.is_relative_to(root.resolve()):
            raise SkippedFile("symbolic link to a file outside the docs folder; not read "
                              "(follow_links_outside_docs: true allows it)")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except PermissionError:
        raise SkippedFile("permission denied") from None
    except OSError as err:
        raise SkippedFile(f"cannot be read ({err.strerror or err})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise SkippedFile("not a regular file (a FIFO, socket or device); not read")
        if info.st_size > max_bytes:
            raise SkippedFile(f"{info.st_size:,} bytes is over the {max_bytes:,}-byte size cap (max_file_bytes)")
        with os.fdopen(fd, "rb", closefd=False) as file:
            data = file.read(max_bytes + 1)
        if len(data) > max_bytes:  # it grew while being read
            raise SkippedFile(f"over the {max_bytes:,}-byte size cap (max_file_bytes)")
        return data
    except OSError as err:
        raise SkippedFile(f"cannot be read ({err.strerror or err})") from None
    finally:
        os.close(fd)


def build_document(converted: Converted, sha256: str, path: str, relpath: str, converter: str = "") -> Document:
    """A Document from a converter's output: its sections from the outline the file declares,
    else from its markup's headings."""
    body = converted.text
    layout = read_layout(body, converted.markup)
    if converted.outline:
        declared = tuple(Heading(e.offset, e.offset + e.length, e.level, e.title) for e in converted.outline)
        layout = Layout(declared, layout.blocks)
    title = (converted.title or _leading_heading(body, layout) or _first_line_title(body)
             or Path(relpath).name)
    return Document(
        path=path,
        relpath=relpath,
        title=title,
        author=converted.author,
        text=body,
        sha256=sha256,
        sections=_sections(body, layout, title),
        fields=converted.fields,
        blocks=layout.blocks,
        pages=converted.pages,
        converter=converter,
        headings=_heading_marks(layout, converted.anchors),
        first_line=converted.first_line,
    )


def _heading_marks(layout: Layout, anchors: tuple[tuple[str, str], ...]) -> tuple[HeadingMark, ...]:
    """The layout's headings with the ids the converter found for them, matched in order by
    their words (a converter's heading that the layout did not read as one is passed over)."""
    marks, at = [], 0
    for heading in layout.headings:
        anchor = ""
        for k in range(at, len(anchors)):
            if heading_text(anchors[k][0]) == heading.title:
                anchor, at = anchors[k][1], k + 1
                break
        marks.append(HeadingMark(heading.start, heading.level, heading.title, anchor))
    return tuple(marks)


def parse_document(data: bytes, path: str, relpath: str) -> Document:
    """Read a text file into a Document, or raise SkippedFile saying why not."""
    return build_document(convert_text(data, relpath), sha256_bytes(data), path, relpath)


def load_document(file: Path, path: str, relpath: str, max_bytes: int) -> Document:
    return parse_document(read_file_bytes(file, max_bytes), path, relpath)


def _first_line_title(body: str) -> str:
    for line in body.splitlines():
        line = line.strip()
        if not line or line.startswith("!["):
            continue
        if len(line) > _TITLE_MAX_CHARS + 8:  # no title, not even as "###### title"
            return ""
        heading = ATX_HEADING.match(line)
        if heading:
            line = heading.group(2)
        return line if len(line) <= _TITLE_MAX_CHARS else ""
    return ""


def _leading_heading(body: str, layout: Layout) -> str:
    """The first heading, when only markup stands before it (an rST page's title)."""
    if not layout.headings:
        return ""
    first = layout.headings[0]
    before, at = [], 0
    for block in layout.blocks:
        if block.start >= first.start:
            break
        before.append(body[at:block.start])
        at = block.end if block.kind == MARKUP else block.start
    before.append(body[at:first.start])
    title = first.title
    return title if not "".join(before).strip() and len(title) <= _TITLE_MAX_CHARS else ""


def _sections(body: str, layout: Layout, title: str) -> tuple[Section, ...]:
    """Runs of text under one heading path; a page-title heading is left out of the path (the
    citation names the title already)."""
    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    start = 0
    path: tuple[str, ...] = ()
    for heading in layout.headings:
        if heading.start > start:
            sections.append(Section(path, start, heading.start))
        while stack and stack[-1][0] >= heading.level:
            stack.pop()
        stack.append((heading.level, heading.title))
        path = tuple(name for _, name in stack)
        if path and path[0] == title:
            path = path[1:]
        start = heading.end
    if len(body) > start:
        sections.append(Section(path, start, len(body)))
    return tuple(s for s in sections if body[s.start:s.end].strip())


def iter_candidate_files(folder: Path) -> list[Path]:
    """Every file below folder, sorted, skipping hidden files/folders, editor leftovers and site
    assets (styles, scripts, fonts, images)."""
    found: list[Path] = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if is_ignored_name(name):
                continue
            found.append(Path(root) / name)
    return found


# What a saved documentation site holds beside its pages: styles, scripts, fonts and images.
# They are not documents, so they are passed over rather than listed as skipped one by one.
SITE_ASSET_SUFFIXES = (".css", ".js", ".mjs", ".map", ".woff", ".woff2", ".ttf", ".otf", ".eot", ".ico", ".svg",
                       ".png", ".jpg", ".jpeg", ".gif", ".webp", ".avif", ".bmp")


def is_ignored_name(name: str) -> bool:
    return (
        name.startswith(".")
        or name.endswith(("~", ".swp", ".swo", ".swx", ".tmp", ".part"))
        or name.startswith("#")
        or name.lower().endswith(SITE_ASSET_SUFFIXES)
    )
