"""Index building: bad input, incremental updates, incompatibility, the CLI contract."""

import json
import os

import pytest

from bot.cli import main
from index.errors import DocsError, IndexIncompatible
from index.generation import Compatibility
from index.store import load_generation
from tests.conftest import SEEDS


def write(folder, name, text):
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_bad_files_are_skipped_and_the_rest_indexed(make_service, tmp_path):
    service = make_service(max_file_bytes=2000)
    docs = tmp_path / "docs"
    write(docs, "good.md", "# Otters\nSea otters hold hands while they sleep.\n")
    write(docs, "binary.bin", b"\x00\x01\x02binary")
    write(docs, "latin1.txt", b"caf\xe9")
    write(docs, "empty.txt", "")
    write(docs, "badyaml.md", "---\ntitle: [oops\n---\nText.\n")
    write(docs, "list.md", "---\n- 1\n---\nText.\n")
    write(docs, "big.txt", "x " * 5000)
    os.symlink(docs / "missing.txt", docs / "dangling.txt")
    write(docs, ".hidden.md", "secret")
    write(docs, "notes.md~", "editor backup")
    report = service.reindex()
    assert report.documents == 1
    reasons = {s.path.split("/")[-1]: s.reason for s in report.skipped}
    assert set(reasons) == {"binary.bin", "latin1.txt", "empty.txt", "badyaml.md", "list.md", "big.txt", "dangling.txt"}
    assert "binary" in reasons["binary.bin"]
    assert "UTF-8" in reasons["latin1.txt"]
    assert "YAML" in reasons["badyaml.md"] and "line" in reasons["badyaml.md"]
    assert "mapping" in reasons["list.md"]
    assert "size cap" in reasons["big.txt"]
    assert "symbolic link" in reasons["dangling.txt"]
    assert service.ask("What do sea otters do while they sleep?").answered


def test_nothing_indexable_is_an_error_and_keeps_the_old_index(make_service, tmp_path):
    service = make_service()
    docs = tmp_path / "docs"
    good = write(docs, "good.md", "Penguins live in the Southern Hemisphere.\n")
    service.reindex()
    good.write_bytes(b"\x00\x00")
    report = service.reindex()  # a document that turns bad keeps its last good version
    assert report.documents == 1 and "previous version" in report.skipped[0].reason
    assert service.ask("Where do penguins live?").answered
    good.unlink()
    write(docs, "junk.bin", b"\x00junk")
    with pytest.raises(DocsError, match="nothing to index"):
        service.reindex()
    assert service.ask("Where do penguins live?").answered


def test_incremental_update_embeds_only_what_changed(make_service, tmp_path):
    service = make_service()
    docs = tmp_path / "docs"
    write(docs, "a.md", "# Alpha\nThe alpha reactor was commissioned in 1961.\n")
    write(docs, "b.md", "# Beta\nThe beta bridge spans the Kolyma river.\n")
    first = service.reindex()
    assert first.added == (f"{docs}/a.md", f"{docs}/b.md") and first.embedded == first.passages
    noop = service.reindex()
    assert not noop.wrote and noop.embedded == 0 and noop.unchanged == 2
    write(docs, "a.md", "# Alpha\nThe alpha reactor was shut down in 1989.\n")
    changed = service.reindex()
    assert changed.changed == (f"{docs}/a.md",) and changed.unchanged == 1
    assert changed.embedded == 1  # one sentence passage, nothing of b.md
    (docs / "b.md").rename(docs / "c.md")
    renamed = service.reindex()
    assert renamed.removed == (f"{docs}/b.md",) and renamed.added == (f"{docs}/c.md",)
    answer = service.ask("When was the alpha reactor shut down?")
    assert "1989" in answer.excerpts[0].text
    assert all(e.citation.path != "b.md" for e in service.ask("What does the beta bridge span?").excerpts)
    assert {d.relpath for d in service.documents()} == {"a.md", "c.md"}


def test_other_model_or_chunking_is_incompatible(seeds_service):
    index_dir = seeds_service.index_dir
    with pytest.raises(IndexIncompatible, match="rebuild"):
        load_generation(index_dir, Compatibility("some/other-model", seeds_service.compatibility.chunking))
    with pytest.raises(IndexIncompatible, match="chunking"):
        load_generation(index_dir, Compatibility(seeds_service.embedder.model_name, {"max_tokens": 1}))


def run_cli(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_ask_json_contract(seeds_service, capsys):
    s = seeds_service.settings
    code, out, err = run_cli(capsys, "ask", "--docs", s.docs[0], "--index-dir", s.index_dir, "--json",
                             "when was Izium recaptured?")
    assert code == 0
    data = json.loads(out)
    assert set(data) >= {"question", "answered", "message", "excerpts"}
    e = data["excerpts"][0]
    assert set(e) >= {"text", "kind", "score", "citation"}
    assert set(e["citation"]) >= {"n", "path", "title", "section", "author", "start", "end"}
    assert e["citation"]["path"] in ("000_75998707e5f25e0c.txt", "004_10a9bbe1ad5d6276.txt")


def test_cli_ask_reads_questions_from_stdin(seeds_service, capsys, monkeypatch):
    import io

    s = seeds_service.settings
    monkeypatch.setattr("sys.stdin", io.StringIO("Who is the deputy mayor of Izium?\n\nWho wrote Hamlet?\n"))
    code, out, _ = run_cli(capsys, "ask", "--docs", s.docs[0], "--index-dir", s.index_dir, "--json", "-")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(lines) == 2
    assert "Volodymyr Matsokin" in lines[0]["excerpts"][0]["text"]
    assert lines[1]["answered"] is False


def test_cli_text_output_has_sources(seeds_service, capsys):
    s = seeds_service.settings
    code, out, _ = run_cli(capsys, "ask", "--docs", s.docs[0], "--index-dir", s.index_dir, "when was Izium recaptured?")
    assert code == 0
    assert "10 September 2022" in out and "Sources" in out
    assert "[1] Battle of Izium (2022) — Wikipedia" in out and "000_75998707e5f25e0c.txt" in out


def test_cli_status_and_index_report(seeds_service, capsys):
    s = seeds_service.settings
    code, out, _ = run_cli(capsys, "index", "--docs", s.docs[0], "--index-dir", s.index_dir, "--json")
    report = json.loads(out)
    assert code == 0 and report["embedded"] == 0 and report["documents"] == 2
    code, out, _ = run_cli(capsys, "status", "--index-dir", s.index_dir)
    assert code == 0 and "documents:  2" in out and "all-MiniLM-L6-v2" in out
    assert "formats:    text, Markdown, reStructuredText, AsciiDoc, PDF, HTML, Word" in out and "unreadable" not in out


def test_when_nothing_can_be_indexed_every_skipped_file_says_why(tmp_path, capsys):
    docs = tmp_path / "docs"
    write(docs, "scan.pdf", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    write(docs, "blank.md", "   \n")
    code, _, err = run_cli(capsys, "index", "--docs", str(docs), "--index-dir", str(tmp_path / "index"))
    lines = err.splitlines()
    assert code == 2 and lines[-1].startswith("citebot: error: nothing to index in") and "Traceback" not in err
    assert sorted(lines[:-1]) == [f"skipped {docs}/blank.md: empty file",
                                  f"skipped {docs}/scan.pdf: named .pdf, but the content is PNG, not PDF"]


def test_every_built_in_format_can_be_read_in_this_install():
    """Fails when a converter's library cannot be imported (as HTML could not on a fresh install
    whose lxml had dropped the module trafilatura imported)."""
    from index.converters import format_support

    assert [why for _, why in format_support() if why] == []


def test_a_format_whose_library_is_broken_is_named_by_status(seeds_service, capsys, monkeypatch):
    import sys

    from index.converters import registry

    broken = next(c for c in registry().converters if c.name == "html").modules[0]
    monkeypatch.setitem(sys.modules, broken, None)  # importing it now raises ImportError
    s = seeds_service.settings
    code, out, _ = run_cli(capsys, "status", "--index-dir", s.index_dir)
    assert code == 0 and "formats:    text, Markdown, reStructuredText, AsciiDoc, PDF, Word\n" in out
    assert f"unreadable: HTML files cannot be read here (ModuleNotFoundError: import of {broken} halted" in out


@pytest.mark.parametrize("args, message", [
    (["index", "--docs", "/nonexistent/docs"], "docs folder /nonexistent/docs does not exist"),
    (["status", "--index-dir", "/nonexistent/index"], "no index in /nonexistent/index"),
    (["index", "--docs", str(SEEDS), "--index-dir", "/proc/citebot-index"], "cannot be created"),
])
def test_cli_errors_are_one_line(capsys, args, message):
    code, out, err = run_cli(capsys, *args)
    assert code == 2
    assert err.count("\n") == 1 and message in err and "Traceback" not in err


def test_changed_chunking_forces_a_full_rebuild_and_says_why(make_service, tmp_path, embedder):
    from dataclasses import replace as change

    from bot.service import CitebotService

    service = make_service()
    write(tmp_path / "docs", "a.md", "# Alpha\nThe alpha reactor was commissioned in 1961. It ran for years.\n")
    first = service.reindex()
    smaller = CitebotService(change(service.settings, chunk_tokens=64, chunk_overlap=16), embedder)
    report = smaller.reindex()
    assert "chunking settings changed" in report.rebuild_reason
    assert report.embedded == report.passages and report.generation == first.generation + 1
    assert smaller.ask("When was the alpha reactor commissioned?").answered
