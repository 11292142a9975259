"""Settings: defaults, then citebot.yaml, then CITEBOT_* environment variables, then flags.

Every key is declared once, as a field of Settings whose metadata gives its kind, allowed
range or choices and its help; validation, `citebot config` and the README's configuration
table (reference_table(), checked by tests/test_shipping.py) all read that declaration.
"""

from __future__ import annotations

import logging
import math
import os
import re
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from bot.links import LinkSettings, parse_link_settings
from index.dense import DENSE_CHOICES, HNSW_ABOVE
from index.errors import ConfigError

CONFIG_FILE = "citebot.yaml"
ENV_PREFIX = "CITEBOT_"


def _key(default: Any, kind: str, help: str, low: float | None = None, high: float | None = None,
         choices: tuple[str, ...] = ()) -> Any:
    """A setting: its default, kind (str, int, float, bool, paths, ints), range or choices and help."""
    return field(default=default, metadata={"kind": kind, "low": low, "high": high, "choices": choices, "help": help})


_COLLECTION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")  # it names a folder under index_dir
_COLLECTION_KEYS = ("docs", "guilds", "channels", "links")


@dataclass(frozen=True)
class Collection:
    """A set of documents with its own index, answered in the guilds and channels mapped to it."""

    name: str
    docs: tuple[str, ...]
    guilds: tuple[int, ...] = ()
    channels: tuple[int, ...] = ()
    links: LinkSettings | None = None


@dataclass(frozen=True)
class Settings:
    docs: tuple[str, ...] = _key(("seeds",), "paths", "folders of documents to index (one collection; see "
                                 "`collections` for several)")
    collections: tuple[Collection, ...] = _key((), "collections", "several document sets, each with its own index "
                                               "under `index_dir/<name>/` and the Discord guilds and channels it "
                                               "answers in: `name: {docs: [...], guilds: [...], channels: [...], links: ...}` "
                                               "(`links` as below); "
                                               "empty: one collection from `docs`, answered everywhere")
    links: LinkSettings | None = _key(None, "links", "where the documents of `docs` are published, so each citation "
                                      "links to its page, section and quoted words: a URL template, or `{url, headings, "
                                      "text_fragments}` (README, Citation links); with `collections`, set it per "
                                      "collection; null: citations name the file only")
    default_collection: str | None = _key(None, "str", "with `collections`: the collection for guilds and channels "
                                          "mapped to none; null: nothing is answered there")
    dm_collection: str | None = _key(None, "str", "with `collections`: the collection direct messages are "
                                     "answered from; null: none")
    collection_idle_minutes: float = _key(60.0, "float", "a collection's index not asked for this long is closed "
                                          "(memory follows what is used); 0: never", 0.0, 10080.0)
    index_dir: str = _key(".citebot", "str", "where the built index lives (data, not code; not in git)")
    model: str = _key("sentence-transformers/all-MiniLM-L6-v2", "str",
                      "the bundled model, a local model folder, or a hub name; another model means a full rebuild")
    device: str = _key("auto", "str", "where the model embeds passages: `auto` (a CUDA or Apple GPU when torch sees "
                       "one, else the CPU), `cpu`, `cuda` or `mps`; questions are encoded on the CPU (ONNX Runtime) "
                       "either way", choices=("auto", "cpu", "cuda", "mps"))
    chunk_tokens: int = _key(200, "int", "largest passage, in model tokens (the model reads 256)", 32, 254)
    chunk_overlap: int = _key(40, "int", "tokens of trailing sentences repeated at the start of the next passage",
                              0, 127)
    k: int = _key(3, "int", "excerpts per answer", 1, 10)
    threshold: float | None = _key(None, "float", "lowest score of the top excerpt that counts as an answer (the "
                                   "selector's probability that it answers; with `reader: false`, the ranking model's "
                                   "that it holds the answer); unset: the one calibrated with the model (see "
                                   "docs/benchmarks.md)", 0.0, 1.0)
    reader: bool = _key(True, "bool", "let the trained models choose: the selector (`bot/answering/selector.py`) "
                        "reads the question with the ranking's first candidates, puts the one that answers first and "
                        "declines when none does, and the reader (`bot/answering/reader.py`) marks the answer span; "
                        "`false`: the ranking and the span model alone")
    max_file_bytes: int = _key(20_000_000, "int", "larger files are skipped", 1)
    convert_seconds: float = _key(60.0, "float", "longest time converting one PDF, HTML or Word file may take; "
                                  "it is skipped after that", 1.0, 3600.0)
    convert_memory_mb: int = _key(1024, "int", "memory the process converting PDF, HTML and Word files may use; "
                                  "a file needing more is skipped", 256, 65536)
    max_pages: int = _key(2000, "int", "PDFs with more pages are skipped", 1)
    follow_links_outside_docs: bool = _key(False, "bool", "index files that symbolic links in the docs folders "
                                           "point to outside them (off: such links are skipped, so a link to a "
                                           "secret cannot be quoted)")
    dense_index: str = _key("auto", "str", f"vector index: exact (`flat`) up to {HNSW_ABOVE:,} passages, approximate "
                            "(`hnsw`) above; or force one", choices=DENSE_CHOICES)
    store: str = _key("faiss", "str", "where the index lives: `faiss` (embedded: folders under `index_dir`, no server) "
                      "or `qdrant` (a Qdrant server or cluster, or Qdrant's local mode; see README, Scaling out)",
                      choices=("faiss", "qdrant"))
    qdrant_url: str | None = _key(None, "str", "with `store: qdrant`: the server or cluster, e.g. "
                                  "`http://qdrant:6333`")
    qdrant_path: str | None = _key(None, "str", "with `store: qdrant`: a folder for Qdrant's embedded local mode "
                                   "instead of a server (tests and trials; one process at a time)")
    qdrant_api_key: str | None = _key(None, "str", "the Qdrant API key; set it in the environment "
                                      "(`CITEBOT_QDRANT_API_KEY`), not in the file")
    qdrant_prefix: str = _key("citebot-", "str", "start of every Qdrant collection and alias name this deployment "
                              "makes, so several deployments can share one cluster")
    qdrant_shards: int = _key(1, "int", "shards of each new Qdrant collection (a cluster spreads them over its "
                              "nodes)", 1, 1024)
    qdrant_replicas: int = _key(1, "int", "copies of each shard in a Qdrant cluster (2: one node can fail)", 1, 16)
    qdrant_timeout_seconds: float = _key(10.0, "float", "longest wait for one Qdrant request", 0.1, 600.0)
    reload_check_seconds: float = _key(10.0, "float", "how often a running bot checks whether another process (a "
                                       "separate `citebot index`, or another replica's) made a new index current, "
                                       "and switches to it; 0: never", 0.0, 86400.0)
    log_level: str = _key("INFO", "str", "DEBUG, INFO, WARNING or ERROR", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    log_format: str = _key("%(asctime)s %(levelname)s %(name)s: %(message)s", "str", "Python logging format")
    watch: bool = _key(False, "bool", "re-index when files in the docs folders change")
    connect_retry_seconds: float = _key(300.0, "float", "how long `citebot run` keeps retrying to reach Discord at "
                                        "start (DNS, refused, TLS errors), with growing waits, before it gives up",
                                        0.0, 86400.0)
    shard_count: int | None = _key(None, "int", "run the bot as one of this many Discord gateway shards (several "
                                   "replicas, each with its own `shard_id`, answer different servers); null: one "
                                   "process takes every server", 1, 16384)
    shard_id: int | None = _key(None, "int", "with `shard_count`: which shard this process is, from 0", 0, 16383)
    guild_ids: tuple[int, ...] = _key((), "ints", "Discord servers to sync slash commands to at once (else global)")
    admin_roles: tuple[int, ...] = _key((), "ints", "role ids allowed to `/reindex` besides Manage Server")
    cooldown_seconds: float = _key(5.0, "float", "per-user wait between questions", 0.0, 3600.0)
    max_in_flight: int = _key(4, "int", 'questions answered at once; more get "busy, try again"', 1, 64)
    answer_mentions: bool = _key(True, "bool", "answer @mentions in channels (needs the message content intent)")
    answer_dms: bool = _key(True, "bool", "answer direct messages")
    feedback_file: str = _key(".citebot/feedback.jsonl", "str", "JSON-lines file for 👍/👎 votes")
    max_question_chars: int = _key(500, "int", "longer questions get a short reply instead of an answer", 10, 4000)
    question_log: bool = _key(False, "bool", "keep the questions asked in Discord, per collection, for the docs-gap "
                              "report (`citebot gaps`, `/gaps`): the question, when, whether it was answered, the top "
                              "excerpt's citation and score, its vector and the votes; users and channels as hashes")
    question_log_days: float = _key(30.0, "float", "logged questions older than this are removed (hourly by the bot, "
                                    "and by `citebot forget`) and left out of reports", 1.0, 3650.0)
    gaps_low_score: float = _key(0.5, "float", "an answer whose top excerpt scores below this counts in the gap "
                                 "report, like a declined or 👎 one", 0.0, 1.0)
    gaps_channel: int | None = _key(None, "int", "a channel id: each week the bot posts there the top gaps of that "
                                    "channel's collection, of the questions asked in its server (shown to whoever "
                                    "can read the channel); null: no post", 1, None)


_KEYS = {f.name: f.metadata for f in fields(Settings)}
_DEFAULTS = {f.name: f.default for f in fields(Settings)}


def describe_keys() -> list[tuple[str, str, Any, str]]:
    """(key, kind, default, help) for every key, for docs and `citebot config`."""
    return [(f.name, f.metadata["kind"], f.default if f.default is not MISSING else None, f.metadata["help"])
            for f in fields(Settings)]


def reference_table() -> str:
    """The README's configuration table, made from the declarations above."""
    rows = ["| key | default | meaning |", "|---|---|---|"]
    for key, kind, default, help_text in describe_keys():
        shown = "{}" if kind == "collections" else _as_yaml(default)
        rows.append(f"| `{key}` | `{shown}` | {help_text} |")
    return "\n".join(rows)


def _as_yaml(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return "[" + ", ".join(map(str, value)) + "]"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def load_settings(config_path: str | None = None, environ: dict[str, str] | None = None,
                  overrides: dict[str, Any] | None = None) -> Settings:
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    path = Path(config_path) if config_path else Path(environ.get(f"{ENV_PREFIX}CONFIG", CONFIG_FILE))
    if config_path or path.exists():
        values.update(_read_yaml(path))
    for key in _KEYS:
        raw = environ.get(ENV_PREFIX + key.upper())
        if raw is not None:
            values[key] = _from_env(key, raw)
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = value
    settings = replace(Settings(), **{k: _check(k, v, source_of(k, path, environ, overrides)) for k, v in values.items()})
    if settings.chunk_overlap * 2 > settings.chunk_tokens:
        raise ConfigError(f"chunk_overlap: {settings.chunk_overlap} must be at most half of chunk_tokens ({settings.chunk_tokens})")
    check_collections(settings, str(path))
    if settings.collections and settings.links is not None:
        raise ConfigError(f"{source_of('links', path, environ, overrides)}: links: with collections, set links in "
                          "each collection (collections.<name>.links): each is published at its own address")
    check_store(settings, str(path))
    if (settings.shard_count is None) != (settings.shard_id is None):
        raise ConfigError(f"{path}: shard_count and shard_id are set together (this process's shard of how many)")
    if settings.shard_count is not None and settings.shard_id >= settings.shard_count:
        raise ConfigError(f"{path}: shard_id: {settings.shard_id} must be below shard_count ({settings.shard_count})")
    try:
        logging.Formatter(settings.log_format, validate=True)
    except (ValueError, TypeError) as err:
        raise ConfigError(f"{source_of('log_format', path, environ, overrides)}: log_format: {settings.log_format!r} "
                          f"is not a logging format ({err})") from None
    return settings


def check_collections(settings: Settings, where: str = "config") -> None:
    """What no single key can check: each guild and channel mapped once, the named defaults exist."""
    names = [c.name for c in settings.collections]
    for key in ("default_collection", "dm_collection"):
        chosen = getattr(settings, key)
        if chosen is not None and chosen not in names:
            known = f"configured: {', '.join(names)}" if names else "no collections are configured"
            raise ConfigError(f"{where}: {key}: no collection named {chosen!r} ({known})")
    for kind in ("guilds", "channels"):
        owner: dict[int, str] = {}
        for c in settings.collections:
            for place in getattr(c, kind):
                if place in owner:
                    raise ConfigError(f"{where}: collections.{c.name}.{kind}: {kind[:-1]} {place} is already mapped "
                                      f"to collection {owner[place]!r}; each {kind[:-1]} answers from one collection")
                owner[place] = c.name


_QDRANT_PREFIX = re.compile(r"^[A-Za-z0-9_-]{0,40}$")  # Qdrant names collections after it


def check_store(settings: Settings, where: str = "config") -> None:
    """The Qdrant keys: where the server is, exactly once, and a prefix Qdrant accepts in names."""
    if not _QDRANT_PREFIX.match(settings.qdrant_prefix):
        raise ConfigError(f"{where}: qdrant_prefix: {settings.qdrant_prefix!r} must be up to 40 letters, digits, "
                          "- and _")
    if settings.store != "qdrant":
        return
    if settings.qdrant_url and settings.qdrant_path:
        raise ConfigError(f"{where}: qdrant_url and qdrant_path are both set; a store is a server or a local "
                          "folder, not both")
    if not (settings.qdrant_url or settings.qdrant_path):
        raise ConfigError(f"{where}: store: qdrant needs qdrant_url (a server) or qdrant_path (a local folder)")
    if settings.qdrant_url and not re.match(r"^https?://[^\s/]+", settings.qdrant_url):
        raise ConfigError(f"{where}: qdrant_url: {settings.qdrant_url!r} must be an http:// or https:// URL")


def source_of(key: str, path: Path, environ, overrides) -> str:
    if overrides and overrides.get(key) is not None:
        return "command line"
    if ENV_PREFIX + key.upper() in environ:
        return f"environment {ENV_PREFIX}{key.upper()}"
    return str(path)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot be read ({getattr(err, 'strerror', None) or err})") from None
    try:
        data = yaml.safe_load(text)
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply to be a config file") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f" line {mark.line + 1}:" if mark is not None else ""
        raise ConfigError(f"{path}:{line} YAML syntax error: {getattr(err, 'problem', None) or err}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of keys, found a YAML {type(data).__name__}")
    unknown = [k for k in data if k not in _KEYS]
    if unknown:
        raise ConfigError(f"{path}: unknown key {unknown[0]!r}; known keys: {', '.join(_KEYS)}")
    return data


def _from_env(key: str, raw: str) -> Any:
    kind = _KEYS[key]["kind"]
    if kind == "collections":
        raise ConfigError(f"{ENV_PREFIX}{key.upper()}: collections are set in the config file, not the environment")
    if kind == "links":
        return raw  # a URL template; headings and text_fragments are set in the config file
    if kind in ("paths", "ints"):
        return [item.strip() for item in raw.split(",") if item.strip()]
    if kind == "bool":
        lowered = raw.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{ENV_PREFIX}{key.upper()}: {raw!r} is not a boolean (use true or false)")
    if kind == "int":
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{ENV_PREFIX}{key.upper()}: {raw!r} is not a whole number") from None
    if kind == "float":
        try:
            return float(raw)
        except ValueError:
            raise ConfigError(f"{ENV_PREFIX}{key.upper()}: {raw!r} is not a number") from None
    return raw


def _check(key: str, value: Any, source: str) -> Any:
    spec = _KEYS[key]
    kind, low, high, choices = spec["kind"], spec["low"], spec["high"], spec["choices"]
    where = f"{source}: {key}"
    if value is None and _DEFAULTS[key] is None:
        return None  # an optional setting left unset on purpose (threshold: null)
    if kind == "collections":
        return _collections(value, where)
    if kind == "links":
        return parse_link_settings(value, where)
    if kind == "paths":
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
            raise ConfigError(f"{where}: {value!r} must be a folder or a non-empty list of folders")
        return tuple(value)
    if kind == "ints":
        if not isinstance(value, list):
            value = [value]
        if not all(isinstance(v, int) and not isinstance(v, bool) or isinstance(v, str) and v.isdigit()
                   for v in value):
            raise ConfigError(f"{where}: {value!r} must be a list of numeric ids (whole numbers)")
        return tuple(int(v) for v in value)
    if kind == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: {value!r} must be true or false")
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: {value!r} must be a whole number")
    elif kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: {value!r} must be a number")
        value = float(value)
        if not math.isfinite(value):
            raise ConfigError(f"{where}: {value!r} must be a finite number")
    elif kind == "str":
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{where}: {value!r} must be a non-empty string")
        if choices:
            spelled = [c for c in choices if c.lower() == value.lower()]
            if not spelled:
                raise ConfigError(f"{where}: {value!r} is not one of {', '.join(choices)}")
            value = spelled[0]
    if low is not None and value < low or high is not None and value > high:
        allowed = f"from {low} to {high}" if high is not None else f"at least {low}"
        raise ConfigError(f"{where}: {value!r} is out of range; allowed {allowed}")
    return value


def _collections(value: Any, where: str) -> tuple[Collection, ...]:
    if value is None or value == {}:
        return ()
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a mapping of collection names to {{docs: [...], guilds: [...]}}")
    found = []
    for name, spec in value.items():
        at = f"{where}.{name}"
        if not isinstance(name, str) or not _COLLECTION_NAME.match(name):
            raise ConfigError(f"{at}: a collection name is letters, digits, - and _ (it names a folder)")
        if not isinstance(spec, dict):
            raise ConfigError(f"{at}: expected {{docs: [...], guilds: [...], channels: [...]}}")
        unknown = [k for k in spec if k not in _COLLECTION_KEYS]
        if unknown:
            raise ConfigError(f"{at}: unknown key {unknown[0]!r}; known keys: {', '.join(_COLLECTION_KEYS)}")
        docs = spec.get("docs")
        if isinstance(docs, str):
            docs = [docs]
        if not docs or not isinstance(docs, list) or not all(isinstance(d, str) and d for d in docs):
            raise ConfigError(f"{at}.docs: a collection needs a docs folder or a non-empty list of folders")
        ids = {}
        for kind in ("guilds", "channels"):
            raw = spec.get(kind) or []
            raw = raw if isinstance(raw, list) else [raw]
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in raw):
                raise ConfigError(f"{at}.{kind}: {raw!r} must be a list of numeric Discord ids")
            ids[kind] = tuple(raw)
        found.append(Collection(name, tuple(docs), ids["guilds"], ids["channels"],
                                parse_link_settings(spec.get("links"), f"{at}.links")))
    return tuple(found)


def as_display(settings: Settings) -> dict[str, Any]:
    """The effective settings, as `citebot config` prints them (the token is never here)."""
    out = {}
    for f in fields(settings):
        value = getattr(settings, f.name)
        if f.name == "collections":
            value = {c.name: {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(c).items() if k != "name"}
                     for c in value}
        elif f.name == "links" and value is not None:
            value = asdict(value)
        out[f.name] = list(value) if isinstance(value, tuple) else value
    out["qdrant_api_key"] = "set (hidden)" if settings.qdrant_api_key else None
    out["discord_token"] = "set (hidden)" if os.environ.get("DISCORD_TOKEN") else "not set"
    return out
