"""Shared fixtures: the real model, loaded once per test session, and a real seeds index."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from bot.config import Settings
from bot.service import CitebotService
from index.embedding import DEFAULT_MODEL, shared_embedder

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
EVAL_DATA = Path(__file__).resolve().parent / "data"  # copied from shared/eval, so any clone can test
WIKI_SEED = "000_75998707e5f25e0c.txt"


@pytest.fixture(scope="session")
def embedder(tmp_path_factory):
    # The question encoder is exported once per test session into a folder of its own.
    os.environ["CITEBOT_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    return shared_embedder(DEFAULT_MODEL)


@pytest.fixture(scope="session")
def seeds_service(tmp_path_factory, embedder):
    """A service over a copy of seeds/, indexed once for the whole session. Do not modify."""
    root = tmp_path_factory.mktemp("seeds")
    docs = root / "seeds"
    shutil.copytree(SEEDS, docs)
    settings = replace(Settings(), docs=(str(docs),), index_dir=str(root / "index"))
    service = CitebotService(settings, embedder)
    service.ensure_index()
    return service


@pytest.fixture
def make_service(tmp_path, embedder):
    """A fresh service over a docs folder of the test's own (tmp_path/docs)."""

    def make(**overrides) -> CitebotService:
        docs = tmp_path / "docs"
        docs.mkdir(exist_ok=True)
        settings = replace(Settings(), docs=(str(docs),), index_dir=str(tmp_path / "index"), **overrides)
        return CitebotService(settings, embedder)

    return make


@pytest.fixture(scope="session")
def discordpy_service(tmp_path_factory, embedder):
    """A service over discord.py's documentation (reStructuredText), indexed once. Do not modify."""
    root = tmp_path_factory.mktemp("discordpy")
    settings = replace(Settings(), docs=(str(EVAL_DATA / "discordpy_docs"),), index_dir=str(root / "index"))
    service = CitebotService(settings, embedder)
    service.ensure_index()
    return service
