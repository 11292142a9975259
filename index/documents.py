"""Read a file into a Document: front matter, title, author, sections, fields, and the
blocks of its markup (code to quote whole, markup to leave out; index/markup.py).

Any file is read whatever its extension says; the extension only chooses how its markup is
read (.rst as reStructuredText, .md as Markdown, anything else as plain text with headings).
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

import ftfy
import yaml

from index.errors import SkippedFile
from index.markup import ATX_HEADING, MARKUP, Block, Layout, markup_of, read_layout

# Repairs mojibake but leaves everything else (quotes, widths, HTML entities) as written,
# so quoted excerpts read like the source.
_FIX_CONFIG = ftfy.TextFixerConfig(
    unescape_html=False,
    remove_terminal_escapes=True,
    fix_encoding=True,
    restore_byte_a0=True,
    replace_lossy_sequences=True,
    decode_inconsistent_utf8=True,
    fix_c1_controls=True,
    fix_latin_ligatures=False,
    fix_character_width=False,
    uncurl_quotes=False,
    fix_line_breaks=False,
    fix_surrogates=True,
    remove_control_chars=False,
    normalization=None,
)

_FRONT_MATTER_END = re.compile(r"^(?:---|\.\.\.)[ \t]*$", re.MULTILINE)
_WIKI_IMAGE = re.compile(r"\[\[(?:Image|File):[^\]]*\]\]\s*")
_TITLE_MAX_CHARS = 150

# Front-matter keys that describe the file rather than state facts worth quoting.
_META_KEYS = frozenset(
    {"title", "author", "authors", "publisher", "links", "link", "img", "image", "images",
     "url", "slug", "layout", "draft", "id", "type", "page", "permalink", "template"}
)
_MEDIA_VALUE = re.compile(r"^\S+\.(?:jpe?g|png|gif|svg|webp)$|^https?://\S+$", re.IGNORECASE)


@dataclass(frozen=True)
class Section:
    """A run of the document text under one heading path."""

    path: tuple[str, ...]
    start: int
    end: int


FIELD_SEPARATOR = ": "


@dataclass(frozen=True)
class Field:
    """A front-matter fact, e.g. ``Result: Russian victory``."""

    name: str
    value: str

    @property
    def text(self) -> str:
        return f"{self.name}{FIELD_SEPARATOR}{self.value}"


@dataclass(frozen=True)
class Document:
    path: str  # as shown to users: docs folder joined with the path inside it
    relpath: str  # path inside its docs folder
    title: str
    author: str
    text: str  # the body after front matter, mojibake repaired; excerpts quote this
    sha256: str
    sections: tuple[Section, ...]
    fields: tuple[Field, ...]
    blocks: tuple[Block, ...] = ()  # code quoted whole, markup neither quoted nor matched


def fix_text(text: str) -> str:
    return ftfy.fix_text(text, _FIX_CONFIG)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_file_bytes(path: Path, max_bytes: int) -> bytes:
    """Read a candidate document, raising SkippedFile with the reason it cannot be used."""
    if path.is_symlink() and not path.exists():
        raise SkippedFile("broken symbolic link")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise SkippedFile(f"{size:,} bytes is over the {max_bytes:,}-byte size cap (max_file_bytes)")
        return path.read_bytes()
    except PermissionError:
        raise SkippedFile("permission denied") from None
    except OSError as err:
        raise SkippedFile(f"cannot be read ({err.strerror or err})") from None


def parse_document(data: bytes, path: str, relpath: str) -> Document:
    """Turn a file's bytes into a Document, or raise SkippedFile saying why not."""
    if not data.strip():
        raise SkippedFile("empty file")
    if b"\x00" in data[:8192]:
        raise SkippedFile("binary file (contains NUL bytes)")
    try:
        raw = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise SkippedFile(f"not valid UTF-8 (byte {err.start})") from None
    raw = raw.removeprefix("\ufeff")
    front, body = _split_front_matter(raw)
    body = fix_text(body)
    if not body.strip() and not front:
        raise SkippedFile("empty file")
    layout = read_layout(body, markup_of(relpath))
    title = (_front_str(front, "title") or _leading_heading(body, layout) or _first_line_title(body)
             or Path(relpath).name)
    author = _front_str(front, "author") or _front_str(front, "publisher")
    return Document(
        path=path,
        relpath=relpath,
        title=title,
        author=author,
        text=body,
        sha256=sha256_bytes(data),
        sections=_sections(body, layout, title),
        fields=tuple(_fields(front)),
        blocks=layout.blocks,
    )


def load_document(file: Path, path: str, relpath: str, max_bytes: int) -> Document:
    return parse_document(read_file_bytes(file, max_bytes), path, relpath)


def _split_front_matter(raw: str) -> tuple[dict, str]:
    first_line, _, rest = raw.partition("\n")
    if first_line.rstrip() != "---":
        return {}, raw
    end = _FRONT_MATTER_END.search(rest)
    if end is None:
        raise SkippedFile("front matter starts with '---' but has no closing '---'")
    try:
        front = yaml.safe_load(rest[: end.start()])
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 2}" if mark is not None else ""
        problem = getattr(err, "problem", None) or "syntax error"
        raise SkippedFile(f"front matter is not valid YAML{where}: {problem}") from None
    if front is None:
        front = {}
    if not isinstance(front, dict):
        raise SkippedFile(f"front matter is a YAML {type(front).__name__}, not a mapping of keys")
    body = rest[end.end():].removeprefix("\n")
    return front, body


def _front_str(front: dict, key: str) -> str:
    value = front.get(key)
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return " ".join(fix_text(str(value)).split())
    return ""


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


def _humanise(key: str) -> str:
    words = re.sub(r"(?<=[a-z])(?=[A-Z0-9])|_|-", " ", key).split()
    return " ".join(words).capitalize() if words else key


def _fields(front: dict) -> list[Field]:
    fields: list[Field] = []

    def walk(name: str, value) -> None:
        if isinstance(value, dict):
            if "text" in value and not isinstance(value["text"], (dict, list)):
                walk(name, value["text"])
                return
            for key, sub in value.items():
                if str(key).lower() not in _META_KEYS:
                    walk(str(key), sub)
        elif isinstance(value, list):
            for item in value:
                walk(name, item)
        elif isinstance(value, (str, int, float)) and not isinstance(value, bool):
            text = _WIKI_IMAGE.sub("", fix_text(str(value)))
            text = " ".join(text.split())
            if text and not _MEDIA_VALUE.match(text):
                fields.append(Field(_humanise(name), text))

    for key, value in front.items():
        if str(key).lower() not in _META_KEYS:
            walk(str(key), value)
    return fields


def iter_candidate_files(folder: Path) -> list[Path]:
    """Every file below folder, sorted, skipping hidden files/folders and editor leftovers."""
    found: list[Path] = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if is_ignored_name(name):
                continue
            found.append(Path(root) / name)
    return found


def is_ignored_name(name: str) -> bool:
    return (
        name.startswith(".")
        or name.endswith(("~", ".swp", ".swo", ".swx", ".tmp", ".part"))
        or name.startswith("#")
    )
