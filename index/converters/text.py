"""The text converter: any file no other converter claims, read as UTF-8 text with optional
YAML front matter (its title, author and facts), mojibake repaired. How its markup is read later:
.rst as reStructuredText, .md as Markdown, a .txt or suffix-less file by what it holds
(index/markup.py sniff_markup), anything else as plain text."""

from __future__ import annotations

import re

import ftfy
import yaml

from index.converters.base import Converted, Converter, Field, Limits, looks_like
from index.errors import SkippedFile
from index.markup import markup_of

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
# Front-matter keys that describe the file rather than state facts worth quoting.
_META_KEYS = frozenset(
    {"title", "author", "authors", "publisher", "links", "link", "img", "image", "images",
     "url", "slug", "layout", "draft", "id", "type", "page", "permalink", "template"}
)
_MEDIA_VALUE = re.compile(r"^\S+\.(?:jpe?g|png|gif|svg|webp)$|^https?://\S+$", re.IGNORECASE)


def fix_text(text: str) -> str:
    return ftfy.fix_text(text, _FIX_CONFIG)


def convert_text(data: bytes, relpath: str, limits: Limits | None = None) -> Converted:
    """The text converter: UTF-8 text, with YAML front matter and Markdown/rST structure."""
    if not data.strip():
        raise SkippedFile("empty file")
    if b"\x00" in data:  # anywhere: a NUL deep inside must not be quoted either
        kind = looks_like(data[:16])
        raise SkippedFile(f"binary file ({kind}); no converter reads this suffix" if kind
                          else "binary file (contains NUL bytes)")
    try:
        raw = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise SkippedFile(f"not valid UTF-8 (byte {err.start})") from None
    raw = raw.removeprefix("\ufeff")
    try:
        front, body = _split_front_matter(raw)
        fields = tuple(_fields(front))
    except RecursionError:
        raise SkippedFile("front matter is nested too deeply to read") from None
    # The body is the file's own lines after the front matter: a link can name them.
    first_line = raw[:len(raw) - len(body)].count("\n") + 1
    body = fix_text(body)
    if not body.strip() and not front:
        raise SkippedFile("empty file")
    return Converted(text=body, markup=markup_of(relpath, body), title=_front_str(front, "title"),
                     author=_front_str(front, "author") or _front_str(front, "publisher"), fields=fields,
                     first_line=first_line)


def _uses_aliases(text: str) -> bool:
    """Whether YAML text refers to an anchor (*name). Read as parser events, which expand
    nothing: a few hundred bytes of nested aliases (a "billion laughs") would expand to millions
    of values when loaded, and front matter has no use for them."""
    return any(isinstance(event, yaml.AliasEvent) for event in yaml.parse(text, Loader=yaml.SafeLoader))


def _split_front_matter(raw: str) -> tuple[dict, str]:
    first_line, _, rest = raw.partition("\n")
    if first_line.rstrip() != "---":
        return {}, raw
    end = _FRONT_MATTER_END.search(rest)
    if end is None:
        raise SkippedFile("front matter starts with '---' but has no closing '---'")
    try:
        if _uses_aliases(rest[: end.start()]):
            raise SkippedFile("front matter uses YAML aliases (*name), which are not read")
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



TEXT = Converter(name="text", version=2, suffixes=(), convert=convert_text, isolated=False, label="text")
