"""Settings: defaults, then citebot.yaml, then CITEBOT_* environment variables, then flags.

Every key is declared once in _KEYS with its type, default, allowed range and a line of help;
the README's configuration reference lists the same keys.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import yaml

from index.dense import DENSE_CHOICES, HNSW_ABOVE
from index.errors import ConfigError

CONFIG_FILE = "citebot.yaml"
ENV_PREFIX = "CITEBOT_"


@dataclass(frozen=True)
class Settings:
    docs: tuple[str, ...] = ("seeds",)
    index_dir: str = ".citebot"
    model: str = "sentence-transformers/all-MiniLM-L6-v2"
    chunk_tokens: int = 200
    chunk_overlap: int = 40
    k: int = 3
    threshold: float = 0.08
    reader: bool = True
    max_file_bytes: int = 5_000_000
    dense_index: str = "auto"
    log_level: str = "INFO"
    log_format: str = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    watch: bool = False
    guild_ids: tuple[int, ...] = ()
    admin_roles: tuple[int, ...] = ()
    cooldown_seconds: float = 5.0
    max_in_flight: int = 4
    answer_mentions: bool = True
    answer_dms: bool = True
    feedback_file: str = ".citebot/feedback.jsonl"
    max_question_chars: int = 500


# key -> (kind, minimum, maximum, choices, help)
_KEYS: dict[str, tuple[str, float | None, float | None, tuple[str, ...], str]] = {
    "docs": ("paths", None, None, (), "folders of documents to index"),
    "index_dir": ("str", None, None, (), "where the built index lives (data, not code)"),
    "model": ("str", None, None, (), "sentence-transformers model: the bundled default, a local folder or a hub name"),
    "chunk_tokens": ("int", 32, 254, (), "largest passage, in model tokens"),
    "chunk_overlap": ("int", 0, 127, (), "tokens of trailing sentences repeated at the start of the next passage"),
    "k": ("int", 1, 10, (), "excerpts per answer"),
    "threshold": ("float", 0.0, 1.0, (), "lowest excerpt score that counts as an answer"),
    "reader": ("bool", None, None, (), "re-order excerpts and mark the answer with the trained reader (bot/reader.py); off: ranking and span model alone"),
    "max_file_bytes": ("int", 1, None, (), "larger files are skipped"),
    "dense_index": ("str", None, None, DENSE_CHOICES,
                    f"vector index: exact (flat) up to {HNSW_ABOVE:,} passages, approximate (hnsw) above; or force one"),
    "log_level": ("str", None, None, ("DEBUG", "INFO", "WARNING", "ERROR"), "logging level"),
    "log_format": ("str", None, None, (), "logging format (Python logging syntax)"),
    "watch": ("bool", None, None, (), "re-index when files in the docs folders change"),
    "guild_ids": ("ints", None, None, (), "Discord servers to sync slash commands to at once (else global)"),
    "admin_roles": ("ints", None, None, (), "role ids allowed to /reindex besides Manage Server"),
    "cooldown_seconds": ("float", 0.0, 3600.0, (), "per-user wait between questions"),
    "max_in_flight": ("int", 1, 64, (), "questions answered at once; more get 'busy, try again'"),
    "answer_mentions": ("bool", None, None, (), "answer @mentions in channels (needs the message content intent)"),
    "answer_dms": ("bool", None, None, (), "answer direct messages"),
    "feedback_file": ("str", None, None, (), "JSON-lines file for thumbs up/down votes"),
    "max_question_chars": ("int", 10, 4000, (), "longer questions are refused with a short reply"),
}


def describe_keys() -> list[tuple[str, str, Any, str]]:
    """(key, type, default, help) for every key, for docs and `citebot config`."""
    defaults = Settings()
    return [(k, spec[0], getattr(defaults, k), spec[4]) for k, spec in _KEYS.items()]


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
    return settings


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
    kind = _KEYS[key][0]
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
    kind, low, high, choices, _ = _KEYS[key]
    where = f"{source}: {key}"
    if kind == "paths":
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
            raise ConfigError(f"{where}: {value!r} must be a folder or a non-empty list of folders")
        return tuple(value)
    if kind == "ints":
        if not isinstance(value, list):
            value = [value]
        try:
            return tuple(int(v) for v in value if not isinstance(v, bool))
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: {value!r} must be a list of numeric ids") from None
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


def as_display(settings: Settings) -> dict[str, Any]:
    """The effective settings, as `citebot config` prints them (the token is never here)."""
    out = {}
    for f in fields(settings):
        value = getattr(settings, f.name)
        out[f.name] = list(value) if isinstance(value, tuple) else value
    out["discord_token"] = "set (hidden)" if os.environ.get("DISCORD_TOKEN") else "not set"
    return out
