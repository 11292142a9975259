"""One test suite for both stores (index/generation.py): the embedded FAISS store, and Qdrant
through qdrant-client's local mode. With CITEBOT_QDRANT_URL set, the same tests also run
against that real Qdrant server. Nothing is mocked: real model, real files, real Qdrant code."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import yaml

from bot.chat.limits import UNAVAILABLE
from bot.config import Settings, as_display, load_settings
from bot.service import CitebotService
from index.errors import ConfigError, StoreUnavailable
from index.generation import Compatibility
from index.qdrant_store import QdrantPlace, QdrantStore, _Qdrant, forget_client
from index.terms import terms
from tests.conftest import EVAL_DATA, SEEDS
from tests.waiting import GUARD_SECONDS

SERVER = os.environ.get("CITEBOT_QDRANT_URL", "")
KINDS = ["faiss", "qdrant-local", pytest.param("qdrant-server", marks=pytest.mark.skipif(
    not SERVER, reason="CITEBOT_QDRANT_URL is not set: no Qdrant server to test against (this machine cannot run one)"))]


def store_settings(kind: str, root: Path, docs: list[str], prefix: str = "") -> Settings:
    settings = replace(Settings(), docs=tuple(docs), index_dir=str(root / "index"))
    if kind == "qdrant-local":
        return replace(settings, store="qdrant", qdrant_path=str(root / "qdrant"))
    if kind == "qdrant-server":
        return replace(settings, store="qdrant", qdrant_url=SERVER,
                       qdrant_api_key=os.environ.get("CITEBOT_QDRANT_API_KEY") or None,
                       qdrant_prefix=prefix or f"citebot-test-{uuid.uuid4().hex[:8]}-")
    return settings


@pytest.fixture
def make(tmp_path, embedder):
    """A service over tmp_path/docs on the store kind asked for; Qdrant clients and server
    collections are removed afterwards."""
    made: list[CitebotService] = []

    def build(kind: str, **overrides) -> CitebotService:
        docs = tmp_path / "docs"
        docs.mkdir(exist_ok=True)
        service = CitebotService(replace(store_settings(kind, tmp_path, [str(docs)]), **overrides), embedder)
        made.append(service)
        return service

    yield build
    for service in made:
        store = service.store
        if isinstance(store, QdrantStore):
            if store.place.url:
                for name in store.names():
                    store._call.client.delete_collection(name)
            forget_client(store.place)


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def versioned(service: CitebotService, root: Path, code: str):
    write(root / "docs" / "vault.md", f"# Vault\n\nThe vault code is {code}.\n")
    write(root / "docs" / "garden.md", "# Garden\n\nThe garden has forty apple trees. The gate is painted green.\n")
    return service.reindex()


@pytest.mark.parametrize("kind", KINDS)
def test_answers_quote_the_stored_text_verbatim(make, tmp_path, kind):
    service = make(kind)
    versioned(service, tmp_path, "1111")
    answer = service.ask("What is the vault code?")
    top = answer.excerpts[0]
    assert "1111" in top.text and top.citation.file.endswith("vault.md")
    generation = service.searcher.generation
    for e in answer.excerpts:
        assert generation.document_text(e.citation.file)[e.citation.start:e.citation.end] == e.text
        assert e.text in (tmp_path / "docs" / e.citation.path).read_text(encoding="utf-8")
    assert [d.relpath for d in service.documents()] == ["garden.md", "vault.md"]
    status = service.status()
    assert (status.documents, status.generation) == (2, 1)
    assert service.verify() > 0


@pytest.mark.parametrize("kind", KINDS)
def test_an_update_reuses_unchanged_documents_and_keeps_one_previous_generation(make, tmp_path, kind):
    service = make(kind)
    versioned(service, tmp_path, "1111")
    garden = str(tmp_path / "docs" / "garden.md")
    before = service.searcher.generation.document_rows(garden)
    report = versioned(service, tmp_path, "2222")
    assert (report.changed, report.unchanged, report.embedded) == ((str(tmp_path / "docs" / "vault.md"),), 1, 1)
    after = service.searcher.generation.document_rows(garden)
    assert after.passages == before.passages and after.text == before.text
    np.testing.assert_allclose(after.vectors, before.vectors, atol=1e-6)  # copied, not re-embedded
    assert "2222" in service.ask("What is the vault code?").excerpts[0].text

    versioned(service, tmp_path, "3333")
    store = service.store
    assert len(store.names()) == 2 and store.current_name() == store.names()[-1]
    old = store.open(name=store.previous_name())  # the previous one stays until the next build
    assert old.number == 2 and "2222" in old.document_text(str(tmp_path / "docs" / "vault.md"))


@pytest.mark.parametrize("kind", KINDS)
def test_a_build_that_fails_halfway_leaves_the_current_generation(make, tmp_path, kind):
    service = make(kind)
    versioned(service, tmp_path, "1111")
    store, current = service.store, service.store.current_name()
    rows = service.searcher.generation.document_rows(str(tmp_path / "docs" / "garden.md"))

    def failing():
        yield rows
        raise OSError("the embedding worker died")

    with pytest.raises(Exception), store.lock():
        store.write(service.compatibility, service.embedder.dimension, service.settings.docs, failing())
    assert store.current_name() == current and store.names() == [current]
    service.open()
    assert "1111" in service.ask("What is the vault code?").excerpts[0].text


@pytest.mark.parametrize("kind", KINDS)
def test_a_reader_keeps_its_generation_and_another_process_follows_the_new_one(make, tmp_path, kind, embedder):
    writer = make(kind)
    versioned(writer, tmp_path, "1111")
    reader = CitebotService(writer.settings, embedder)  # a second replica: same store, its own service
    assert "1111" in reader.ask("What is the vault code?").excerpts[0].text
    held = reader.searcher.generation
    versioned(writer, tmp_path, "2222")
    # An answer already under way reads the generation it started with, whole.
    assert "1111" in held.document_text(str(tmp_path / "docs" / "vault.md"))
    assert not reader.follow_current(now=0.0)  # checked at most every reload_check_seconds
    assert reader.follow_current(now=1e12)
    assert "2222" in reader.ask("What is the vault code?").excerpts[0].text


def test_a_question_never_waits_for_a_build_to_follow_another_process(make, tmp_path, embedder):
    import threading

    writer = make("faiss")
    versioned(writer, tmp_path, "1111")
    reader = CitebotService(writer.settings, embedder)
    reader.ask("What is the vault code?")
    versioned(writer, tmp_path, "2222")
    followed = []
    with reader._reindex_lock:  # as while this process builds a generation of its own
        asking = threading.Thread(target=lambda: followed.append(reader.follow_current(now=1e12)))
        asking.start()
        asking.join(timeout=GUARD_SECONDS)  # a guard against hanging the suite, not a speed check
        assert not asking.is_alive() and followed == [False]
    assert reader.follow_current(now=2e12)  # once the build is done, it follows
    assert "2222" in reader.ask("What is the vault code?").excerpts[0].text


def _questions(name: str) -> list[str]:
    data = yaml.safe_load((EVAL_DATA / name).read_text(encoding="utf-8"))
    return [q["question"] for q in data["questions"]]


def _qdrant_copy(service: CitebotService, root: Path) -> CitebotService:
    """The same documents in Qdrant's local mode, copied from the FAISS generation's rows (the
    indexer's reuse path: nothing is embedded again)."""
    settings = replace(service.settings, store="qdrant", qdrant_path=str(root / "qdrant"), index_dir=str(root / "lock"))
    copy = CitebotService(settings, service.embedder)
    source = service.searcher.generation
    with copy.store.lock():
        copy.store.write(service.compatibility, service.embedder.dimension, service.settings.docs,
                         (source.document_rows(d.path) for d in source.documents()))
    return copy


@pytest.mark.parametrize("fixture, questions", [
    ("seeds_service", "izium_dev.yaml"), ("discordpy_service", "discordpy_dev.yaml")])
def test_both_stores_give_the_same_answers(request, tmp_path, fixture, questions):
    faiss_service = request.getfixturevalue(fixture)
    qdrant_service = _qdrant_copy(faiss_service, tmp_path)
    try:
        for question in _questions(questions):
            a, b = faiss_service.ask(question), qdrant_service.ask(question)
            assert a.answered == b.answered, question
            assert [(e.citation.file, e.citation.start, e.citation.end) for e in a.excerpts] == \
                   [(e.citation.file, e.citation.start, e.citation.end) for e in b.excerpts], question
            for x, y in zip(a.excerpts, b.excerpts):
                assert abs(x.score - y.score) < 1e-4, question
    finally:
        forget_client(qdrant_service.store.place)


def test_the_lexical_half_scores_alike_in_both_stores(seeds_service, tmp_path):
    qdrant_service = _qdrant_copy(seeds_service, tmp_path)
    try:
        ours, theirs = seeds_service.searcher.generation, qdrant_service.searcher.generation
        query = seeds_service.embedder.encode_queries(["x"])[0]
        for question in _questions("izium_dev.yaml"):
            a, b = ours.candidates(query, question, 20), theirs.candidates(query, question, 20)
            assert a.lexical_ids[:5] == b.lexical_ids[:5], question
            np.testing.assert_allclose(a.lexical_scores, b.lexical_scores, rtol=1e-4)
            words = terms(question) + ["zzzunseen"]
            assert theirs.term_weights(words) == pytest.approx(ours.term_weights(words), rel=1e-6)
    finally:
        forget_client(qdrant_service.store.place)


def _refused_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"  # closed again: nothing listens there


def test_an_unreachable_qdrant_is_one_line_naming_it(tmp_path, embedder, capsys, monkeypatch):
    url = _refused_url()
    settings = replace(store_settings("faiss", tmp_path, [str(SEEDS)]), store="qdrant", qdrant_url=url,
                       qdrant_timeout_seconds=2.0)
    with pytest.raises(StoreUnavailable, match=f"Qdrant at {url} cannot be reached"):
        CitebotService(settings, embedder).ensure_index()

    from bot.cli import main
    for key, value in {"CITEBOT_STORE": "qdrant", "CITEBOT_QDRANT_URL": url, "CITEBOT_QDRANT_TIMEOUT_SECONDS": "2"}.items():
        monkeypatch.setenv(key, value)
    code = main(["status", "--index-dir", str(tmp_path / "index")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and url in err and "Traceback" not in err


async def test_qdrant_lost_mid_question_fails_that_question_and_the_bot_stays_up(make, tmp_path):
    from bot.discord.app import create_bot
    from bot.discord.payload import unescape
    from bot.library import SHORTHAND, Library
    from tests.test_discord_bot import Recorder

    service = make("qdrant-local")
    versioned(service, tmp_path, "1111")
    settings = replace(service.settings, cooldown_seconds=0, feedback_file=str(tmp_path / "feedback.jsonl"))
    bot = create_bot(settings, Library(settings, service.embedder, services={SHORTHAND: service}), sync_commands=False)
    await bot._async_setup_hook()
    await bot.setup_hook()
    await asyncio.wait_for(bot.warm_up, GUARD_SECONDS)
    cog = bot.get_cog("CitebotCog")
    generation = service.searcher.generation
    working = generation._call
    gone = QdrantPlace(url=_refused_url(), path=None, api_key=None, prefix="citebot-", timeout=2.0)
    generation._call = _Qdrant(gone)  # the server went away after the index was opened
    try:
        with pytest.raises(StoreUnavailable, match="cannot be reached while searching"):
            service.ask("What is the vault code?")
        lost = Recorder()
        await cog.ask.callback(cog, lost, "What is the vault code?")
        assert lost.sent[-1][:2] == ("followup", UNAVAILABLE) and lost.sent[-1][2]["ephemeral"]
    finally:
        generation._call = working
        forget_client(gone)
    back = Recorder()
    await cog.ask.callback(cog, back, "What is the vault code?")
    assert back.sent[-1][0] == "followup" and "1111" in unescape(back.sent[-1][2]["embed"].description)
    await bot.close()


@pytest.mark.parametrize("values, message", [
    ({"store": "qdrant"}, "store: qdrant needs qdrant_url"),
    ({"store": "qdrant", "qdrant_url": "http://q:6333", "qdrant_path": "q"}, "both set"),
    ({"store": "qdrant", "qdrant_url": "q:6333"}, "must be an http:// or https:// URL"),
    ({"qdrant_prefix": "my prefix/"}, "qdrant_prefix"),
    ({"store": "milvus"}, "is not one of faiss, qdrant"),
])
def test_store_settings_are_checked(tmp_path, values, message):
    path = tmp_path / "citebot.yaml"
    path.write_text(yaml.safe_dump(values), encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as caught:
        load_settings(str(path), environ={})
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_the_api_key_comes_from_the_environment_and_is_never_shown(tmp_path):
    path = tmp_path / "citebot.yaml"
    path.write_text("store: qdrant\nqdrant_url: https://qdrant.example:6333\n", encoding="utf-8")
    settings = load_settings(str(path), environ={"CITEBOT_QDRANT_API_KEY": "s3cret-key"})
    assert settings.qdrant_api_key == "s3cret-key"
    assert "s3cret-key" not in repr(as_display(settings))


def test_each_collection_has_its_own_qdrant_names(tmp_path, embedder):
    from bot.library import Library

    path = tmp_path / "citebot.yaml"
    path.write_text(yaml.safe_dump({
        "store": "qdrant", "qdrant_path": str(tmp_path / "qdrant"), "index_dir": str(tmp_path / "index"),
        "collections": {"north": {"docs": [str(SEEDS)], "guilds": [1]},
                        "south": {"docs": [str(SEEDS)], "guilds": [2]}}}), encoding="utf-8")
    library = Library(load_settings(str(path), environ={}), embedder)
    aliases = {name: library.service(name).store.alias for name in library.names}
    assert aliases == {"north": "citebot-north-current", "south": "citebot-south-current"}
    forget_client(library.service("north").store.place)


def test_compatibility_is_checked_in_qdrant_too(make, tmp_path):
    service = make("qdrant-local")
    versioned(service, tmp_path, "1111")
    from index.errors import IndexIncompatible
    with pytest.raises(IndexIncompatible, match="some/other-model"):
        service.store.open(Compatibility("some/other-model", service.compatibility.chunking))


def test_a_large_document_goes_in_bounded_requests_and_comes_back_whole(make, tmp_path):
    from index.generation import DocumentInfo, DocumentRows
    from index.chunking import Passage

    service = make("qdrant-local")
    store = service.store
    text = "Lighthouse keepers logged the weather every hour. " * 400_000  # 20 MB, the file size cap
    passage = Passage("docs/log.md", (), "text", text[:51], 0, 51, ((0, 50),))
    dim = service.embedder.dimension
    vector = np.ones((1, dim), np.float32) / np.sqrt(dim)
    rows = DocumentRows(DocumentInfo("docs/log.md", "log.md", "Log", "", "0" * 64, 1, 0.0), text, [passage], vector,
                        [vector.copy()])
    sent = []
    upsert = store._call.client.upsert

    def measured(name, points, **kwargs):  # the real call, with the size of what a server would receive
        sent.append(sum(len(p.model_dump_json()) for p in points))
        return upsert(name, points, **kwargs)

    store._call.client.upsert = measured
    try:
        with store.lock():
            store.write(service.compatibility, dim, service.settings.docs, [rows])
    finally:
        store._call.client.upsert = upsert
    assert max(sent) < 16 << 20 and sum(sent) > len(text)  # Qdrant's default request limit is 32 MB
    generation = store.open()
    assert generation.document_text("docs/log.md") == text
    assert generation.documents()[0].title == "Log"


@pytest.mark.parametrize("kind", ["qdrant-local", KINDS[2]])
def test_a_lost_collection_is_one_line_and_the_next_build_restores_the_index(make, tmp_path, kind):
    from index.errors import IndexCorrupt

    service = make(kind)
    versioned(service, tmp_path, "1111")
    assert "1111" in service.ask("What is the vault code?").excerpts[0].text
    store = service.store
    store._call.client.delete_collection(store.current_name())  # an operator's mistake, or a lost volume
    with pytest.raises(IndexCorrupt, match="run: citebot index --rebuild") as caught:
        service.ask("What is the vault code?")  # the open generation's collection is gone
    assert "\n" not in str(caught.value)
    report = service.ensure_index()  # as `citebot run` and the first question after a restart do
    assert report is not None and report.wrote
    assert "1111" in service.ask("What is the vault code?").excerpts[0].text


async def test_a_bot_whose_qdrant_is_down_at_start_comes_up_and_says_the_index_is_unavailable(tmp_path, embedder):
    from bot.discord.app import create_bot
    from bot.library import Library
    from tests.test_discord_bot import Recorder

    settings = replace(store_settings("faiss", tmp_path, [str(SEEDS)]), store="qdrant", qdrant_url=_refused_url(),
                       qdrant_timeout_seconds=2.0, cooldown_seconds=0, feedback_file=str(tmp_path / "feedback.jsonl"))
    bot = create_bot(settings, Library(settings, embedder), sync_commands=False)
    await bot._async_setup_hook()
    await bot.setup_hook()  # opens the one collection: refused, and the bot carries on
    await asyncio.wait_for(bot.warm_up, GUARD_SECONDS)
    cog = bot.get_cog("CitebotCog")
    asked = Recorder()
    await cog.ask.callback(cog, asked, "When was Izium recaptured?")
    assert asked.sent[-1][:2] == ("followup", UNAVAILABLE)
    await bot.close()


@pytest.mark.parametrize("kind", ["qdrant-local", KINDS[2]])
def test_a_point_missing_from_the_collection_is_reported_by_status_and_verify(make, tmp_path, kind):
    from index.errors import IndexCorrupt
    from index.qdrant_store import _point_id

    service = make(kind)
    versioned(service, tmp_path, "1111")
    store = service.store
    assert not service.status().warning
    store._call.client.delete(store.current_name(), [_point_id("document", str(tmp_path / "docs" / "vault.md"))],
                              wait=True)
    assert "holds" in service.status().warning and "run: citebot index --rebuild" in service.status().warning
    with pytest.raises(IndexCorrupt, match="holds"):
        service.verify()
