"""Production hardening: untrusted files, bad questions and config, damaged indexes, degraded
running, and stopping and starting the real processes (`citebot index --watch`, `citebot run`)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import load_settings
from bot.discord.payload import sources_payload
from bot.watch import watch_and_reindex
from index.errors import ConfigError
from index.generation import DocumentInfo
from index.store import read_current_name
from tests.waiting import GUARD_SECONDS, eventually

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
CITEBOT = str(Path(sys.executable).parent / "citebot")


def run_cli(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def cli_for(service) -> list[str]:
    return ["--docs", service.settings.docs[0], "--index-dir", service.settings.index_dir]


# ------------------------------------------------------------------------------- untrusted files


def test_links_out_of_the_docs_folder_fifos_and_devices_are_not_read(make_service, tmp_path):
    secret = tmp_path / "outside" / ".env"
    secret.parent.mkdir()
    secret.write_text("DISCORD_TOKEN=MTIzNDU2.secret-token-value\n")
    service = make_service()
    docs = tmp_path / "docs"
    (docs / "good.md").write_text("The harbour office opens at 07:30.\n")
    (docs / "token.txt").symlink_to(secret)
    (docs / "zero.txt").symlink_to("/dev/zero")
    os.mkfifo(docs / "pipe.txt")
    (docs / "inside.txt").symlink_to(docs / "good.md")  # a link that stays inside is fine
    report = service.reindex()  # would hang on the FIFO, or read /dev/zero for ever
    reasons = {Path(s.path).name: s.reason for s in report.skipped}
    assert reasons["token.txt"].startswith("symbolic link to a file outside the docs folder")
    assert reasons["zero.txt"].startswith("symbolic link to a file outside the docs folder")
    assert reasons["pipe.txt"] == "not a regular file (a FIFO, socket or device); not read"
    assert {d.relpath for d in service.documents()} == {"good.md", "inside.txt"}
    answer = service.ask("What is the bot token?")
    assert all("secret-token" not in e.text and "secret-token" not in e.citation.title for e in answer.excerpts)


def test_links_out_are_read_only_when_the_config_says_so(make_service, tmp_path):
    shared = tmp_path / "shared.md"
    shared.write_text("The shared handbook says the gate closes at nine.\n")
    service = make_service(follow_links_outside_docs=True)
    (tmp_path / "docs" / "handbook.md").symlink_to(shared)
    assert service.reindex().skipped == ()
    assert "nine" in service.ask("when does the gate close?").excerpts[0].text


ALIAS_BOMB = ("---\na: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
              + "".join(f"{chr(98 + n)}: &{chr(98 + n)} [" + ",".join([f"*{chr(97 + n)}"] * 9) + "]\n"
                        for n in range(8))
              + "---\nThe body says little.\n")


def test_odd_files_are_skipped_and_the_rest_is_indexed(make_service, tmp_path):
    service = make_service()
    docs = tmp_path / "docs"
    (docs / "good.md").write_text("The harbour office opens at 07:30.\n")
    (docs / "bomb.md").write_text(ALIAS_BOMB)  # 9 levels of aliases: 387 million strings
    (docs / "deep.md").write_text("---\nx: " + "[" * 1000 + "]" * 1000 + "\n---\nbody\n")
    (docs / os.fsdecode(b"caf\xe9.txt")).write_text("latin-1 name\n")
    (docs / "nul.txt").write_bytes(b"clean text. " * 1000 + b"\x00hidden" + b" more text." * 10)
    report = service.reindex()
    reasons = {Path(s.path).name: s.reason for s in report.skipped}
    assert reasons["bomb.md"] == "front matter uses YAML aliases (*name), which are not read"
    assert reasons["deep.md"] == "front matter is nested too deeply to read"
    assert reasons["caf\ufffd.txt"] == "file name is not valid UTF-8; rename it to index it"
    assert reasons["nul.txt"] == "binary file (contains NUL bytes)"
    assert [d.relpath for d in service.documents()] == ["good.md"]


def test_names_that_act_on_a_terminal_are_shown_escaped(make_service, tmp_path, capsys):
    service = make_service()
    docs = tmp_path / "docs"
    (docs / "evil\x1b[31mred\u202etxt.md").write_text("The harbour office opens at 07:30.\n")
    (docs / "line\nbreak.md").write_bytes(b"\x00binary")
    code, out, _ = run_cli(capsys, "index", *cli_for(service))
    assert code == 0
    assert "\x1b" not in out and "\u202e" not in out and "line\\nbreak.md" in out
    answer_out = run_cli(capsys, "ask", *cli_for(service), "when does the harbour office open?")[1]
    assert "\x1b" not in answer_out and "evil\\x1b[31mred\\u202etxt.md" in answer_out
    info = DocumentInfo("docs/a\u202etxt.md", "a\u202etxt.md", "T\x1b[2J", "", "0" * 64, 1, 0.0)
    description = sources_payload([info]).embed["description"]
    assert "\u202e" not in description and "\x1b" not in description


def test_the_same_folder_spelled_another_way_embeds_nothing(make_service, tmp_path, monkeypatch, capsys):
    make_service()  # makes tmp_path/docs
    (tmp_path / "docs" / "a.md").write_text("The harbour office opens at 07:30.\n")
    index = str(tmp_path / "index")
    assert run_cli(capsys, "index", "--docs", str(tmp_path / "docs"), "--index-dir", index)[0] == 0
    monkeypatch.chdir(tmp_path)
    code, out, _ = run_cli(capsys, "index", "--docs", "./docs", "--index-dir", index)
    assert code == 0 and "passages embedded: 0" in out


def test_status_says_when_the_docs_changed_since_the_build(make_service, tmp_path, capsys):
    service = make_service()
    (tmp_path / "docs" / "a.md").write_text("The harbour office opens at 07:30.\n")
    service.reindex()
    assert "stale:" not in run_cli(capsys, "status", "--index-dir", service.settings.index_dir,
                                   "--config", _config(tmp_path, service))[1]
    time.sleep(0.01)
    (tmp_path / "docs" / "b.md").write_text("Visiting boats pay 14 euros.\n")
    code, out, err = run_cli(capsys, "status", "--config", _config(tmp_path, service))
    assert code == 0 and "stale:      the docs changed since the index was built (1 added, 0 changed, 0 removed)" in out
    assert "the docs changed" in run_cli(capsys, "ask", *cli_for(service), "when does the office open?")[2]


def _config(tmp_path: Path, service) -> str:
    path = tmp_path / "citebot.yaml"
    path.write_text(f"docs: [{service.settings.docs[0]}]\nindex_dir: {service.settings.index_dir}\n")
    return str(path)


# ------------------------------------------------------------------------------- questions


def test_a_long_question_is_answered_and_a_batch_goes_on(seeds_service, capsys, monkeypatch):
    long_question = ("when did Ukrainian forces recapture the town of Izium in the Kharkiv region during the "
                     "counteroffensive of the autumn of the year of the war " * 9)  # about 290 model tokens
    assert len(long_question) > 434
    code, out, err = run_cli(capsys, "ask", *cli_for(seeds_service), long_question)
    assert code == 0 and "Sources" in out and "Traceback" not in err
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO(long_question + "\nwho is the deputy mayor of Izium?\n"))
    code, out, err = run_cli(capsys, "ask", *cli_for(seeds_service), "--json", "-")
    assert code == 0 and len(out.strip().splitlines()) == 2


def test_an_empty_question_says_what_is_wrong(seeds_service, capsys):
    code, out, err = run_cli(capsys, "ask", *cli_for(seeds_service), "   ")
    assert code == 2 and err.count("\n") == 1 and "the question is empty" in err


# ------------------------------------------------------------------------------- damaged index


def test_a_damaged_current_generation_is_said_in_ask_and_status(make_service, tmp_path, capsys):
    service = make_service()
    docs = tmp_path / "docs"
    (docs / "a.md").write_text("The harbour office opens at 07:30.\n")
    service.reindex()
    (docs / "b.md").write_text("Visiting boats pay 14 euros per night.\n")
    service.reindex()
    current = service.index_dir / read_current_name(service.index_dir)
    data = bytearray((current / "vectors.f32").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (current / "vectors.f32").write_bytes(bytes(data))
    code, out, err = run_cli(capsys, "ask", *cli_for(service), "how much do visiting boats pay?")
    assert code == 0 and "serving the previous generation meanwhile" in err and "vectors.f32" in err
    code, out, _ = run_cli(capsys, "status", "--config", _config(tmp_path, service))
    assert "damaged:" in out and "answers come from the previous generation" in out


def test_a_corrupted_current_pointer_is_one_line(make_service, tmp_path, capsys):
    service = make_service()
    (tmp_path / "docs" / "a.md").write_text("The harbour office opens at 07:30.\n")
    service.reindex()
    (service.index_dir / "CURRENT").write_bytes(b"\xff\xfe\x00garbage")
    code, _, err = run_cli(capsys, "status", "--index-dir", str(service.index_dir))
    assert code == 2 and err.count("\n") == 1 and "does not name a generation" in err


def test_a_full_disk_at_the_sqlite_write_is_one_line_and_the_old_index_serves(make_service, tmp_path, capsys,
                                                                             monkeypatch):
    import sqlite3

    service = make_service()
    (tmp_path / "docs" / "a.md").write_text("The harbour office opens at 07:30.\n")
    service.reindex()
    (tmp_path / "docs" / "b.md").write_text("Visiting boats pay 14 euros per night.\n")

    class FullDisk(sqlite3.Connection):
        def executemany(self, *args):
            raise sqlite3.OperationalError("database or disk is full")

    real_connect = sqlite3.connect
    monkeypatch.setattr(sqlite3, "connect", lambda *a, **k: real_connect(*a, **{**k, "factory": FullDisk}))
    code, _, err = run_cli(capsys, "index", *cli_for(service))
    monkeypatch.undo()
    assert code == 2 and err.count("\n") == 1 and "disk full; the previous index is unchanged" in err
    assert "07:30" in service.ask("when does the office open?").excerpts[0].text


# ------------------------------------------------------------------------------- config


@pytest.mark.parametrize("text, environ, message", [
    ("threshold: .nan\n", {}, "threshold: nan must be a finite number"),
    ("", {"CITEBOT_THRESHOLD": "nan"}, "threshold: nan must be a finite number"),
    ("cooldown_seconds: .nan\n", {}, "cooldown_seconds: nan must be a finite number"),
    ("guild_ids: [1.5]\n", {}, "guild_ids: [1.5] must be a list of numeric ids"),
    ('log_format: "%(message)"\n', {}, "log_format: '%(message)' is not a logging format"),
    ("a: " + "[" * 2000 + "]" * 2000 + "\n", {}, "nested too deeply to be a config file"),
    ("device: tpu\n", {}, "device: 'tpu' is not one of auto, cpu, cuda, mps"),
])
def test_values_that_make_no_sense_are_refused_in_one_line(tmp_path, text, environ, message):
    path = tmp_path / "citebot.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_settings(str(path), environ=environ)
    assert message in str(caught.value) and "\n" not in str(caught.value)


# ------------------------------------------------------------------------------- degraded running


def test_an_unwritable_cache_shows_in_status(seeds_service, capsys, monkeypatch, tmp_path):
    blocked = tmp_path / "cache-is-a-file"
    blocked.write_text("")
    monkeypatch.setenv("CITEBOT_CACHE_DIR", str(blocked / "sub"))
    code, out, _ = run_cli(capsys, "status", "--index-dir", seeds_service.settings.index_dir)
    assert code == 0
    assert f"reader:     off — cache not writable: {blocked / 'sub'}" in out
    monkeypatch.undo()
    assert "reader:     on" in run_cli(capsys, "status", "--index-dir", seeds_service.settings.index_dir)[1]


def test_the_device_setting_reaches_the_model(embedder):
    from index.embedding import resolve_device

    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") in ("cpu", "cuda", "mps")
    assert str(embedder.model.device).startswith(resolve_device("auto"))


def test_the_watcher_survives_a_failing_reindex(make_service, tmp_path, monkeypatch):
    service = make_service()
    (tmp_path / "docs" / "a.md").write_text("one\n")
    service.reindex()
    real, calls, errors, reports = service.reindex, [], [], []

    def flaky():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("a bug in re-indexing")
        return real()

    monkeypatch.setattr(service, "reindex", flaky)
    stop = threading.Event()
    watcher = threading.Thread(target=watch_and_reindex, args=([service], reports.append),
                               kwargs={"stop_event": stop, "on_error": errors.append})
    watcher.start()

    def write_and_wait(name: str, seen: list) -> None:
        # Saved again until the watcher, which may start listening late on a loaded machine, sees it.
        eventually(lambda: bool(seen), nudge=lambda: (tmp_path / "docs" / name).write_text(name + "\n"))

    try:
        write_and_wait("b.md", errors)  # the first re-index fails
        write_and_wait("c.md", reports)  # and watching goes on
    finally:
        stop.set()
        watcher.join(GUARD_SECONDS)
    assert "a bug in re-indexing" in str(errors[0]) and reports and reports[-1].documents == 3


def test_voice_library_warnings_are_not_logged(seeds_service, caplog):
    from bot.discord.app import create_bot
    from bot.library import Library

    with caplog.at_level(logging.WARNING):
        create_bot(seeds_service.settings, Library(seeds_service.settings, seeds_service.embedder))
    assert not [r for r in caplog.records if "voice" in r.getMessage()]


# ------------------------------------------------------------------------------- real processes


def start(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([CITEBOT, *args], env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def wait_for_line(process: subprocess.Popen, needle: str, seconds: float = GUARD_SECONDS) -> list[str]:
    seen, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line and process.poll() is not None:
            break
        seen.append(line)
        if needle in line:
            return seen
    raise AssertionError(f"{needle!r} never appeared: {''.join(seen)[-2000:]}")


def stop_and_wait(process: subprocess.Popen) -> tuple[int, str]:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=GUARD_SECONDS)  # a guard against hanging; how fast is bench/ work
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError("did not stop after SIGTERM")
    return process.returncode, process.stderr.read()


@pytest.fixture
def process_env(embedder, tmp_path):
    env = {**os.environ, "CITEBOT_COOLDOWN_SECONDS": "0"}
    env.pop("DISCORD_TOKEN", None)
    return env


def test_sigterm_stops_index_watch_cleanly(seeds_service, process_env, tmp_path):
    process = start(["index", "--watch", *cli_for(seeds_service)], process_env, tmp_path)
    wait_for_line(process, "watching for changes")
    code, rest = stop_and_wait(process)
    assert code == 0 and "Traceback" not in rest


def test_sigterm_during_a_build_leaves_no_half_generation(process_env, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    for n in range(400):
        (docs / f"d{n}.md").write_text(f"# Place {n}\n\n" + f"The mill of place {n} was rebuilt in {1800 + n}. " * 30)
    index = tmp_path / "index"
    process = start(["index", "--docs", str(docs), "--index-dir", str(index)], {**process_env,
                    "CITEBOT_LOG_LEVEL": "DEBUG"}, tmp_path)
    for _ in range(600):  # until a generation is being written
        if index.exists() and any(p.name.startswith("tmp-") for p in index.iterdir()):
            break
        time.sleep(0.1)
    code, rest = stop_and_wait(process)
    assert code == 0 and "Traceback" not in rest
    assert not [p for p in index.iterdir() if p.name.startswith("tmp-")]
    assert not (index / "CURRENT").exists()  # nothing half-built became current


@pytest.fixture
def refused_discord(tmp_path):
    """Points discord.py at a port where nothing listens (no network is needed, or used)."""
    site = tmp_path / "refused"
    site.mkdir()
    (site / "sitecustomize.py").write_text("import discord.http\ndiscord.http.Route.BASE = 'http://127.0.0.1:9/api/v10'\n")
    return str(site)


def test_run_against_a_refused_port_retries_then_says_so_in_one_line(seeds_service, process_env, refused_discord,
                                                                     tmp_path):
    env = {**process_env, "DISCORD_TOKEN": "not.a.real-token", "PYTHONPATH": refused_discord,
           "CITEBOT_CONNECT_RETRY_SECONDS": "2"}
    process = start(["run", *cli_for(seeds_service)], env, tmp_path)
    try:
        _, err = process.communicate(timeout=GUARD_SECONDS)
    finally:
        process.kill()
    assert process.returncode == 2 and "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("citebot: error:")]
    assert len(errors) == 1 and "cannot reach Discord" in errors[0] and "connect_retry_seconds" in errors[0]
    assert "retrying in 1 s" in err


def test_sigterm_stops_run_cleanly(seeds_service, process_env, refused_discord, tmp_path):
    env = {**process_env, "DISCORD_TOKEN": "not.a.real-token", "PYTHONPATH": refused_discord,
           "CITEBOT_CONNECT_RETRY_SECONDS": "600"}
    process = start(["run", *cli_for(seeds_service)], env, tmp_path)
    wait_for_line(process, "cannot reach Discord")
    code, rest = stop_and_wait(process)
    assert code == 0 and "Traceback" not in rest


def test_a_moved_file_keeps_its_vectors(make_service, tmp_path):
    service = make_service()
    docs = tmp_path / "docs"
    (docs / "old.md").write_text("# Harbour\n\nThe harbour office opens at 07:30.\n")
    service.reindex()
    (docs / "old.md").rename(docs / "new.md")
    report = service.reindex()
    assert report.embedded == 0 and report.added == (f"{docs}/new.md",) and report.removed == (f"{docs}/old.md",)
    top = service.ask("when does the harbour office open?").excerpts[0]
    assert top.citation.file == f"{docs}/new.md" and "07:30" in top.text


async def test_a_reindex_in_the_bot_runs_in_a_thread_that_cannot_hold_up_exit():
    from bot.watch import off_loop_abandonable

    seen = {}

    def work():
        seen["daemon"] = threading.current_thread().daemon
        return 42

    assert await off_loop_abandonable(work) == 42 and seen["daemon"] is True

    def fails():
        raise ValueError("disk on fire")

    with pytest.raises(ValueError, match="disk on fire"):
        await off_loop_abandonable(fails)


def test_run_with_qdrant_unreachable_comes_up_and_says_so_in_one_line(process_env, refused_discord, tmp_path):
    from tests.test_stores import _refused_url

    qdrant = _refused_url()
    env = {**process_env, "DISCORD_TOKEN": "not.a.real-token", "PYTHONPATH": refused_discord,
           "CITEBOT_CONNECT_RETRY_SECONDS": "600", "CITEBOT_STORE": "qdrant", "CITEBOT_QDRANT_URL": qdrant,
           "CITEBOT_DOCS": str(SEEDS), "CITEBOT_INDEX_DIR": str(tmp_path / "index")}
    process = start(["run"], env, tmp_path)
    seen = wait_for_line(process, "cannot reach Discord")  # it went on to log in
    warnings = [line for line in seen if f"Qdrant at {qdrant} cannot be reached" in line]
    assert len(warnings) == 1 and "The index is unavailable" in warnings[0]
    code, rest = stop_and_wait(process)
    assert code == 0 and "Traceback" not in "".join(seen) + rest
