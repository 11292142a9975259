"""Keeping the index current: crash safety, corruption, locking, watching, hot swap."""

import errno
import os
import shutil
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from bot.watch import watch_and_reindex
from index.errors import IndexCorrupt, IndexLocked, IndexWriteError
from index.store import index_lock, load_generation, read_current_name
from tests.conftest import ROOT
from tests.waiting import GUARD_SECONDS, eventually, eventually_async


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def versioned(service, tmp_path, version):
    write(tmp_path / "docs" / "vault.md", f"# Vault\nThe vault code is {version}.\n")
    write(tmp_path / "docs" / "garden.md", "# Garden\nThe garden has forty apple trees.\n")
    return service.reindex()


def code_in_answer(service):
    answer = service.ask("What is the vault code?")
    return answer.excerpts[0].text if answer.answered else ""


@pytest.mark.parametrize("fault, expect_new", [("writing", False), ("before-current", False), ("after-current", True)])
def test_killed_indexer_leaves_a_loadable_index(make_service, tmp_path, fault, expect_new):
    service = make_service()
    versioned(service, tmp_path, "1111")
    write(tmp_path / "docs" / "vault.md", "# Vault\nThe vault code is 2222.\n")
    env = {**os.environ, "CITEBOT_FAULT": fault, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "bot.cli", "index", "--docs", service.settings.docs[0], "--index-dir",
         str(service.index_dir)], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == -9, proc.stderr  # died by SIGKILL at the fault point
    service.open()
    assert ("2222" if expect_new else "1111") in code_in_answer(service)
    report = service.reindex()  # the next run cleans up and catches up
    assert not list(service.index_dir.glob("tmp-*"))
    assert "2222" in code_in_answer(service)
    assert report.embedded == (0 if expect_new else 1)


def test_every_corrupted_file_is_detected_and_the_previous_generation_serves(make_service, tmp_path):
    service = make_service()
    versioned(service, tmp_path, "1111")
    versioned(service, tmp_path, "2222")
    current = service.index_dir / read_current_name(service.index_dir)
    pristine = tmp_path / "pristine"
    shutil.copytree(current, pristine)
    names = [p.relative_to(current).as_posix() for p in current.rglob("*") if p.is_file()]
    assert {"manifest.json", "passages.sqlite", "vectors.f32", "dense.faiss", "sentence_vectors.f16"} <= set(names)
    for name in names:
        for damage in ("truncate", "flip", "delete"):
            target = current / name
            if damage == "truncate":
                target.write_bytes(target.read_bytes()[: len(target.read_bytes()) // 2])
            elif damage == "flip":
                data = bytearray(target.read_bytes())
                data[len(data) // 2] ^= 0xFF
                target.write_bytes(bytes(data))
            else:
                target.unlink()
            with pytest.raises(IndexCorrupt) as caught:
                load_generation(service.index_dir)
            message = str(caught.value)
            assert (name in message or "manifest.json" in message) and "citebot index --rebuild" in message
            assert "\n" not in message
            service.open()  # falls back to the previous generation, still answers
            assert "1111" in code_in_answer(service) and "previous generation" in service.warning
            shutil.rmtree(current)
            shutil.copytree(pristine, current)
    service.open()
    assert service.warning == "" and "2222" in code_in_answer(service)


def test_faiss_padding_ids_never_index_passages(make_service, tmp_path):
    service = make_service()
    write(tmp_path / "docs" / "one.md", "Only one sentence is here.\n")
    service.reindex()
    searcher = service.searcher
    searcher.candidates = 50  # far more than the single passage: FAISS pads with -1
    hits = searcher.search("anything at all", k=10).hits
    assert len(hits) == 1


def test_second_indexer_is_told_the_index_is_locked(make_service, tmp_path):
    service = make_service()
    versioned(service, tmp_path, "1111")
    with index_lock(service.index_dir):
        with pytest.raises(IndexLocked, match="locked by another indexer"):
            with index_lock(service.index_dir, wait=False):
                pass


def test_disk_full_mid_rebuild_keeps_the_old_generation(make_service, tmp_path, monkeypatch):
    service = make_service()
    versioned(service, tmp_path, "1111")
    write(tmp_path / "docs" / "vault.md", "# Vault\nThe vault code is 3333.\n")

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "save", full)
    with pytest.raises(IndexWriteError, match="disk full; the previous index is unchanged"):
        service.reindex()
    monkeypatch.undo()
    assert not list(service.index_dir.glob("tmp-*"))
    assert "1111" in code_in_answer(service)


def test_watcher_debounces_a_burst_and_the_answer_follows_the_edit(make_service, tmp_path):
    service = make_service()
    versioned(service, tmp_path, "1111")
    vault = tmp_path / "docs" / "vault.md"
    reports, stop = [], threading.Event()
    watcher = threading.Thread(target=watch_and_reindex, args=([service], reports.append), kwargs={"stop_event": stop})
    watcher.start()
    try:
        # The watcher is listening once it has seen a save: save a first edit until it is answered.
        assert eventually(lambda: "4999" in code_in_answer(service),
                          nudge=lambda: write(vault, "# Vault\nThe vault code is 4999.\n"))
        before = len(reports)
        for i in range(50):  # an editor saving in a burst
            vault.write_text(f"# Vault\nThe vault code is {5000 + i}.\n", encoding="utf-8")
            (tmp_path / "docs" / ".vault.md.swp").write_text("swap", encoding="utf-8")
            time.sleep(0.005)
        # The last save is what gets answered (none after the last build is lost), and the burst
        # costs a few builds at most, however slowly a loaded machine delivered the saves.
        assert eventually(lambda: "5049" in code_in_answer(service))
        burst = reports[before:]
        assert 1 <= len(burst) <= 5 and any(r.changed for r in burst)
        assert sum(r.embedded for r in burst) <= 5
    finally:
        stop.set()
        watcher.join(timeout=GUARD_SECONDS)


def test_answers_during_rebuilds_each_come_from_one_generation(make_service, tmp_path):
    service = make_service()
    versioned(service, tmp_path, "1000")
    code_of_generation = {service.searcher.generation.number: "1000"}
    seen, errors, stop = [], [], threading.Event()

    def ask_continuously():
        while not stop.is_set():
            try:
                answer = service.ask("What is the vault code?")
                seen.append((answer.generation, answer.excerpts[0].text))
            except Exception as err:  # the test fails on any error, reported below
                errors.append(err)

    asker = threading.Thread(target=ask_continuously)
    asker.start()
    try:
        for version in ("2000", "3000", "4000"):
            report = versioned(service, tmp_path, version)
            code_of_generation[report.generation] = version
            # The asker reaches each new generation before the next build, however it is scheduled.
            assert eventually(lambda: bool(errors) or any(g == report.generation for g, _ in seen[-50:]))
    finally:
        stop.set()
        asker.join(timeout=GUARD_SECONDS)
    assert not errors
    generations = [g for g, _ in seen]
    assert generations == sorted(generations) and len(set(generations)) >= 2
    for generation, text in seen:
        assert code_of_generation[generation] in text


async def test_bot_watcher_reindexes_off_the_event_loop(make_service, tmp_path):
    import asyncio

    from bot.watch import watch_in_background

    service = make_service()
    versioned(service, tmp_path, "1111")
    stop = asyncio.Event()
    task = asyncio.create_task(watch_in_background(service, stop_event=stop))
    try:
        # Saved again until the watcher, which may start listening late on a loaded machine, sees it.
        assert await eventually_async(lambda: "8888" in code_in_answer(service),
                                      nudge=lambda: write(tmp_path / "docs" / "vault.md",
                                                          "# Vault\nThe vault code is 8888.\n"))
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=GUARD_SECONDS)
