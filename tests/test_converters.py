"""PDF, HTML and Word files through the real converters, index, model and answer path; bad files
cost one skipped file with a one-line reason, never the index."""

from __future__ import annotations

import io
import re
import shutil
import sys
import textwrap
import zipfile
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from bot.render import citation_line
from index.converters import BUILT_IN, TEXT, Registry, registry
from index.converters.base import Limits
from index.converters.isolation import ConversionWorker
from index.converters.docx import DOCX
from index.converters.html import HTML
from index.converters.pdf import PDF
from index.documents import build_document, sha256_bytes

FORMATS = Path(__file__).resolve().parent / "data" / "formats"
REAL_FILES = ("harbour_handbook.pdf", "meeting_notes.docx", "widgets_install.html")


@pytest.fixture(scope="module")
def formats_service(tmp_path_factory, embedder):
    from bot.config import Settings
    from bot.service import CitebotService

    root = tmp_path_factory.mktemp("formats")
    docs = root / "docs"
    docs.mkdir()
    for name in REAL_FILES:
        shutil.copy(FORMATS / name, docs / name)
    (docs / "notes.md").write_text("# Release notes\n\nVersion 2.1 adds the opus extra.\n")
    service = CitebotService(replace(Settings(), docs=(str(docs),), index_dir=str(root / "index")), embedder)
    report = service.ensure_index()
    return service, report


def _verbatim(service, answer) -> None:
    generation = service.searcher.generation
    for e in answer.excerpts:
        if e.kind == "text":
            text = generation.document_text(e.citation.file)
            assert text[e.citation.start:e.citation.end] == e.text


def test_every_format_is_indexed_and_quoted_verbatim(formats_service):
    service, report = formats_service
    assert report.skipped == ()
    assert report.documents == 4
    converters = {d.relpath: d.converter for d in service.documents()}
    assert converters == {"harbour_handbook.pdf": PDF.key, "meeting_notes.docx": DOCX.key,
                          "widgets_install.html": HTML.key, "notes.md": TEXT.key}
    for question in ("how much does a berth cost per night?", "how do I get voice support?",
                     "who migrates the website to the new host?"):
        answer = service.ask(question)
        assert answer.answered, question
        _verbatim(service, answer)


def test_pdf_answers_cite_the_page_and_the_bookmarked_heading(formats_service):
    service, _ = formats_service
    answer = service.ask("how much does a berth cost per night for visiting boats?")
    top = answer.excerpts[0]
    assert "14 euros per night" in top.text
    assert top.citation.file.endswith("harbour_handbook.pdf")
    assert (top.citation.page, top.citation.section) == (2, "2 Mooring fees")
    assert top.citation.title == "Harbour Operations Handbook" and top.citation.author == "Harbour Board"
    assert "p. 2" in citation_line(top.citation)
    assert answer.to_dict()["excerpts"][0]["citation"]["page"] == 2
    emergency = service.ask("which VHF channel reaches the harbour master?").excerpts[0]
    assert "channel 12" in emergency.text and emergency.citation.page == 3


def test_html_keeps_the_article_and_drops_the_site_chrome(formats_service):
    service, _ = formats_service
    text = service.searcher.generation.document_text(next(
        d.path for d in service.documents() if d.relpath == "widgets_install.html"))
    assert "Voice needs the optional" in text
    for chrome in ("Join our chat", "Search the docs", "Privacy policy", "window.analytics", "font-family", "Navigation"):
        assert chrome not in text
    answer = service.ask("how do I install voice support on Debian?")
    top = answer.excerpts[0]
    assert top.citation.section == "Voice support" and top.citation.page is None
    assert answer.to_dict()["excerpts"][0]["citation"]["page"] is None
    assert "sudo apt install libopus0\npython -m pip install \"widgets[opus]\"" in text  # <pre> kept whole
    assert any("libopus0" in e.text for e in answer.excerpts)


def test_word_headings_become_sections_and_tables_rows(formats_service):
    service, _ = formats_service
    answer = service.ask("who owns migrating the website to the new host?")
    row = next(e for e in answer.excerpts if "Priya Natarajan" in e.text)
    assert "Migrate the website to the new host" in row.text
    assert row.citation.section == "Action items"
    assert row.citation.title == "Website team meeting, 28 November"


def test_the_suffix_chooses_and_the_content_must_agree():
    converters = registry()
    assert converters.choose("a/b.PDF", b"%PDF-1.7\n").name == "pdf"
    assert converters.choose("b.htm", b"<!DOCTYPE html><html>").name == "html"
    assert converters.choose("notes.rst", b"Title\n=====\n").name == "text"
    with pytest.raises(Exception, match=r"named \.pdf, but the content is PNG, not PDF"):
        converters.choose("photo.pdf", b"\x89PNG\r\n\x1a\n\x00\x00")
    with pytest.raises(Exception, match=r"named \.docx, but the content does not look like it, not Word"):
        converters.choose("notes.docx", b"plain text, not a zip")


def test_pdf_outline_gives_sections_and_offsets_give_pages():
    data = (FORMATS / "harbour_handbook.pdf").read_bytes()
    with ConversionWorker(Limits()) as worker:
        converted = worker.convert(PDF, data, "harbour_handbook.pdf")
    doc = build_document(converted, sha256_bytes(data), "d/h.pdf", "h.pdf", PDF.key)
    assert [s.path for s in doc.sections] == [("1 Opening hours",), ("2 Mooring fees",), ("3 Emergency procedures",)]
    assert len(doc.pages) == 3
    for n, start in enumerate(doc.pages):  # each page's heading opens its page's text
        assert doc.text[start:].startswith(("1 Opening hours", "2 Mooring fees", "3 Emergency procedures")[n])
    assert all("Opening hours" not in doc.text[s.start:s.end] for s in doc.sections)  # headings are not quoted


# ----------------------------------------------------------------------------------- bad input


def _zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", "<Types/>")
        with package.open("word/document.xml", "w", force_zip64=True) as member:
            zeros = b"\0" * (1 << 20)
            for _ in range(Limits().max_unpacked_bytes // len(zeros) + 8):
                member.write(zeros)
    return out.getvalue()


def _million_page_pdf() -> bytes:
    n = 1_000_000
    kids = b" ".join([b"3 0 R"] * n)
    return (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [" + kids
            + b"] /Count %d >> endobj\n3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >> endobj\n"
            b"trailer << /Root 1 0 R >>\n%%%%EOF\n" % n)


def _reportlab_pdf(**options) -> bytes:
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    pdf = canvas.Canvas(out, **options)
    if options.get("encrypt"):
        pdf.drawString(72, 720, "Secret plans for the harbour.")
    else:
        pdf.rect(72, 300, 400, 400, fill=1)  # a scan: marks on the page, no text layer
    pdf.showPage()
    pdf.save()
    return out.getvalue()


BAD_FILES = {
    "bomb.docx": (_zip_bomb, r"^unpacks to [\d,]+ bytes, over the [\d,]+-byte limit \(zip bomb\?\)$"),
    "million.pdf": (_million_page_pdf, r"^1,000,000 pages is over the 2,000-page limit \(max_pages\)$"),
    "locked.pdf": (lambda: _reportlab_pdf(encrypt="hunter2"), r"^encrypted PDF: it needs a password to open$"),
    "scan.pdf": (_reportlab_pdf, r"^no text layer: scanned PDF; OCR not supported$"),
    "photo.pdf": (lambda: b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, r"^named \.pdf, but the content is PNG, not PDF$"),
    "deep.html": (lambda: b"<html><body>" + b"<div>" * 100_000 + b"<p>deep words</p>" + b"</div>" * 100_000,
                  r"^HTML nested over \d+ elements deep$"),  # bounded before the recursive Markdown writer
    "binary.html": (lambda: bytes(range(256)) * 64, r"^named \.html, but the content does not look like it, not HTML$"),
    "fake.docx": (lambda: b"PK\x03\x04 not really a zip", r"^not a Word document \(not a valid zip package\)$"),
}


def test_bad_files_each_get_one_line_and_the_rest_is_indexed(make_service, tmp_path):
    service = make_service()
    docs = tmp_path / "docs"
    (docs / "good.md").write_text("# Harbour\n\nThe harbour office opens at 07:30.\n")
    for name, (make, _) in BAD_FILES.items():
        (docs / name).write_bytes(make())
    with open(docs / "huge.pdf", "wb") as sparse:  # 50 MB on a single page, as far as its size says
        sparse.truncate(50_000_000)
    report = service.reindex()
    reasons = {Path(s.path).name: s.reason for s in report.skipped}
    assert set(reasons) == {*BAD_FILES, "huge.pdf"}
    for name, (_, pattern) in BAD_FILES.items():
        assert "\n" not in reasons[name]
        assert re.match(pattern, reasons[name]), (name, reasons[name])
    assert "over the 20,000,000-byte size cap (max_file_bytes)" in reasons["huge.pdf"]
    assert [d.relpath for d in service.documents()] == ["good.md"]
    assert "07:30" in service.ask("when does the harbour office open?").excerpts[0].text


# ------------------------------------------------------- plugins, bounds, and the last good version

PLUGIN = '''
import time
from index.converters.base import Converted, Converter
from index.errors import SkippedFile

def convert(data, relpath, limits):
    text = data.decode()
    if text.startswith("boom"):
        raise ValueError("the parser choked on line 3")
    if text.startswith("sleep"):
        time.sleep(30)
    if text.startswith("hog"):
        hoard = bytearray(4 * 1024 ** 3)
    return Converted(text=text.upper(), markup="text", title="Log " + relpath)

LOG = Converter(name="log", version=1, suffixes=(".log",), convert=convert, label="log")
'''


@pytest.fixture
def log_plugin(tmp_path, monkeypatch):
    """A third-party converter for .log files, installed through the citebot.converters entry point."""
    site = tmp_path / "site"
    dist = site / "citebot_log-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: citebot-log\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[citebot.converters]\nlog = citebot_log:LOG\n")
    (site / "citebot_log.py").write_text(textwrap.dedent(PLUGIN))
    monkeypatch.syspath_prepend(str(site))
    registry.cache_clear()
    yield
    registry.cache_clear()
    sys.modules.pop("citebot_log", None)


def test_a_plugin_converter_is_used_and_its_failure_keeps_the_last_good_version(log_plugin, make_service, tmp_path):
    assert registry().choose("x.log", b"").name == "log"
    service = make_service(convert_seconds=3)
    docs = tmp_path / "docs"
    (docs / "a.md").write_text("The harbour office opens at 07:30.\n")
    (docs / "ship.log").write_text("the ferry docked at pier four at noon.\n")
    report = service.reindex()
    assert report.skipped == () and report.documents == 2
    assert "PIER FOUR" in service.ask("where did the ferry dock?").excerpts[0].text

    (docs / "ship.log").write_text("boom\n")
    (docs / "slow.log").write_text("sleep\n")
    (docs / "b.md").write_text("Visiting boats pay 14 euros per night.\n")
    report = service.reindex()
    reasons = {Path(s.path).name: s.reason for s in report.skipped}
    assert reasons["ship.log"] == ("the log converter failed: ValueError: the parser choked on line 3 "
                                   "(still answering from its previous version)")
    assert reasons["slow.log"] == "converting took over 3 s (convert_seconds)"
    assert {d.relpath for d in service.documents()} == {"a.md", "b.md", "ship.log"}
    assert "PIER FOUR" in service.ask("where did the ferry dock?").excerpts[0].text
    assert "14 euros" in service.ask("how much do visiting boats pay per night?").excerpts[0].text


def test_a_converter_over_its_memory_limit_costs_one_file(log_plugin):
    converter = registry().by_name("log")
    with ConversionWorker(Limits(memory_mb=512)) as worker:
        with pytest.raises(Exception, match=r"^converting needed over 512 MB \(convert_memory_mb\)$"):
            worker.convert(converter, b"hog\n", "x.log")
        assert worker.convert(converter, b"fine\n", "y.log").text == "FINE\n"  # the same child goes on


def test_a_new_converter_version_reconverts_only_its_files(make_service, tmp_path, monkeypatch):
    service = make_service()
    docs = tmp_path / "docs"
    shutil.copy(FORMATS / "harbour_handbook.pdf", docs)
    (docs / "a.md").write_text("The harbour office opens at 07:30.\n")
    service.reindex()
    newer = Registry(tuple(replace(c, version=c.version + 1) if c.name == "pdf" else c for c in BUILT_IN))
    monkeypatch.setattr("index.indexer.registry", lambda: newer)
    report = service.reindex()
    assert report.changed == (f"{docs}/harbour_handbook.pdf",) and report.unchanged == 1
    assert {d.relpath: d.converter for d in service.documents()}["harbour_handbook.pdf"] == f"pdf/{PDF.version + 1}"
    assert not service.reindex().wrote  # and only once


def test_a_merged_word_table_cell_is_read_once():
    import docx

    from index.converters.docx import convert_docx

    document = docx.Document()
    table = document.add_table(rows=2, cols=3)
    table.cell(0, 0).merge(table.cell(0, 2)).text = "Opening hours"
    for n, text in enumerate(("Monday", "Tuesday", "Wednesday")):
        table.cell(1, n).text = text
    out = io.BytesIO()
    document.save(out)
    text = convert_docx(out.getvalue(), "hours.docx", Limits()).text
    assert text.count("Opening hours") == 1 and "| Monday | Tuesday | Wednesday |" in text


def test_a_real_saved_docs_page_is_titled_by_its_heading_and_its_assets_are_passed_over(make_service, tmp_path):
    """rustdoc's own book (mdBook; MIT/Apache-2.0), saved with its scripts, styles and fonts: the
    page's <title> metadata reads "Keyboard shortcuts" (a help pop-up's heading)."""
    service = make_service()
    docs = tmp_path / "docs"
    shutil.copy(FORMATS / "rustdoc_what_is_rustdoc.html", docs / "what-is-rustdoc.html")
    for asset in ("book.js", "theme/css/general.css", "fonts/open-sans.woff2", "favicon.png", "logo.svg"):
        (docs / asset).parent.mkdir(parents=True, exist_ok=True)
        (docs / asset).write_bytes(b"body { color: red }" if asset.endswith(".css") else b"\x00\x01asset")
    report = service.reindex()
    assert report.skipped == () and [d.relpath for d in service.documents()] == ["what-is-rustdoc.html"]
    answer = service.ask("how do I generate documentation for my crate with rustdoc?")
    assert answer.answered and answer.excerpts[0].citation.title == "What is rustdoc?"
    text = service.searcher.generation.document_text(f"{docs}/what-is-rustdoc.html")
    assert "Keyboard shortcuts" not in text and "color: red" not in text


def test_a_pdf_without_bookmarks_takes_its_headings_from_larger_type():
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    pdf = canvas.Canvas(out)
    for heading, sub in (("Opening hours", "Winter"), ("Mooring fees", "Discounts")):
        pdf.setFont("Helvetica-Bold", 18)
        pdf.drawString(72, 760, heading)
        pdf.setFont("Helvetica", 11)
        pdf.drawString(72, 730, f"Text about {heading.lower()} for visiting boats.")
        pdf.drawString(72, 716, "Contents . . . . . . . . . . . 3")
        pdf.setFont("Helvetica-Bold", 13)
        pdf.drawString(72, 680, sub)
        pdf.setFont("Helvetica", 11)
        pdf.drawString(72, 660, "Members get a tenth off in winter.")
        pdf.showPage()
    pdf.save()
    data = out.getvalue()
    with ConversionWorker(Limits()) as worker:
        doc = build_document(worker.convert(PDF, data, "h.pdf"), sha256_bytes(data), "d/h.pdf", "h.pdf")
    assert [s.path for s in doc.sections] == [("Opening hours",), ("Opening hours", "Winter"), ("Mooring fees",),
                                              ("Mooring fees", "Discounts")]
    assert "Contents . ." in doc.text[doc.sections[0].start:doc.sections[0].end]  # a dotted leader line is text


# ------------------------------------------------------- a long manual: what a reader skips is not quoted

MANUAL = [  # (heading, body lines) of pages 2 to 6; page 1 is the table of contents
    ("1 Opening hours", ["The harbour office opens at 07:30 and closes at 19:00 from April to October.",
                         "In winter it closes at 16:00 and stays shut on Sundays."]),
    ("2 Mooring fees", ["Visiting boats pay 14 euros per night for a berth up to 10 metres; this is an exam-",
                        "ple of the low prices the harbour keeps for sailing clubs.",
                        "Crews of non-",
                        "members pay the same fee at the fuel dock after 18:00."]),
    ("3 Winter storage", ["Boats stored ashore over winter are lifted out by the crane in late Octo\u00ad",
                          "ber and launched again in the spring.",
                          "Non-members can store a boat ashore when there is room."]),
    ("4 Fuel dock", ["The fuel dock sells diesel and petrol from 08:00 to 18:00 every day."]),
    ("5 Emergencies", ["In an emergency, call the harbour master on VHF channel 12."]),
]


def _manual_pdf() -> bytes:
    """Six pages, each under the running header "Harbour Manual" and over its page number: a table
    of contents with dot leaders, then a section a page, bookmarked; words split at line ends."""
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    pdf = canvas.Canvas(out)
    pdf.setTitle("Harbour Manual")
    pages = [("Contents", [f"{heading} {' .' * 30} {n}" for n, (heading, _) in enumerate(MANUAL, start=2)]), *MANUAL]
    for n, (heading, lines) in enumerate(pages, start=1):
        pdf.setFont("Helvetica", 9)
        pdf.drawString(72, 800, "Harbour Manual")
        if n > 1:
            pdf.bookmarkPage(f"p{n}")
            pdf.addOutlineEntry(heading, f"p{n}", level=0)
        pdf.setFont("Helvetica-Bold", 16)
        pdf.drawString(72, 760, heading)
        pdf.setFont("Helvetica", 11)
        for k, line in enumerate(lines):
            pdf.drawString(72, 730 - 16 * k, line)
        pdf.setFont("Helvetica", 9)
        pdf.drawString(290, 40, str(n))
        pdf.showPage()
    pdf.save()
    return out.getvalue()


def test_a_manual_is_read_without_its_headers_page_numbers_contents_or_split_words():
    data = _manual_pdf()
    with ConversionWorker(Limits()) as worker:
        converted = worker.convert(PDF, data, "manual.pdf")
    doc = build_document(converted, sha256_bytes(data), "d/manual.pdf", "manual.pdf", PDF.key)
    text = doc.text
    assert not set(text) & {"\ufffe", "\u00ad", "\x02"}
    assert "this is an example of the low prices" in text  # "exam-" / "ple": one word again
    assert "late October and launched" in text  # a soft hyphen at the line end
    assert "Crews of non-members pay" in text  # the manual writes "Non-members": the hyphen stays
    assert "Harbour Manual" not in text and converted.title == "Harbour Manual"  # the running header
    assert not [line for line in text.splitlines() if line.strip().isdigit()]  # the page numbers
    assert "Contents" not in text and ". . . ." not in text  # the table of contents
    for _, lines in MANUAL:
        assert lines[-1].split()[-1] in text
    assert [s.path for s in doc.sections] == [(heading,) for heading, _ in MANUAL]
    assert len(doc.pages) == 6 and doc.pages[0] == doc.pages[1] == 0  # nothing left of page 1: it starts with 2
    for start, (heading, _) in zip(doc.pages[1:], MANUAL):
        assert text[start:].startswith(heading + "\n")


def test_a_manual_answer_cites_the_page_it_quotes(make_service, tmp_path):
    service = make_service()
    (tmp_path / "docs" / "manual.pdf").write_bytes(_manual_pdf())
    assert service.reindex().skipped == ()
    for question, words, page in (("how much does a berth cost per night for visiting boats?", "14 euros per night", 3),
                                  ("when are boats lifted out for winter storage?", "late October", 4),
                                  ("which VHF channel reaches the harbour master?", "channel 12", 6)):
        answer = service.ask(question)
        top = answer.excerpts[0]
        assert words in top.text and top.citation.page == page, (question, top.text, top.citation.page)
        assert "Harbour Manual" not in top.text
        _verbatim(service, answer)


def test_a_hyphen_at_a_line_end_stays_where_the_word_is_written_with_it():
    from index.converters.pdf import RawLine, _unhyphenate, _vocabulary

    vocabulary = _vocabulary([[RawLine("Use the non-free archive; the time is long and consuming.", Counter())]])
    for marked, read in (("an exam\ufffeple", "an example"), ("a dock\u00adside crane", "a dockside crane"),
                         ("the non\ufffefree archive", "the non-free archive"), ("well\ufffeKnown", "well-Known"),
                         ("x86\ufffe64", "x86-64"), ("fonts-crosextra\ufffecarlito", "fonts-crosextra-carlito"),
                         ("a time\ufffeconsuming step", "a time-consuming step"), ("pro\x02gram", "program"),
                         ("the end\ufffe", "the end-")):
        assert _unhyphenate(marked, vocabulary) == read, marked


def test_a_table_of_years_is_not_a_table_of_contents():
    from index.converters.pdf import RawLine, _without_contents

    leaders = ["Debian Project Leaders", "Ian Murdock August 1993", "Bruce Perens April 1996",
               "Ian Jackson January 1998", "Wichert Akkerman January 1999", "Ben Collins April 2001"]
    lines = [RawLine(words, Counter()) for words in leaders]
    assert _without_contents(lines, False, 261, 40) == (lines, False)
    contents = [RawLine(words, Counter()) for words in ("Contents", "1 Tutorials 1", "1.1 Console basics . . . . . . 1",
                                                  "1.2 The shell prompt . . . . . . 2", "2 Packages 37")]
    assert _without_contents(contents + lines[1:2], False, 261, 1) == (lines[1:2], False)
    assert _without_contents(contents, False, 261, 1) == ([], True)
    continued = [RawLine(words, Counter()) for words in ("A Appendix 232", "Preface", "This book is free.")]
    assert _without_contents(continued, True, 261, 2) == (continued[1:], False)  # the contents' last page
    # Five lines ending in growing numbers on page 50 are a table, not contents (contents point ahead).
    weeks = [RawLine(words, Counter()) for words in ("Results by week (cases):", "Week one 10", "Week two 12",
                                                   "Week three 15", "Week four 21", "Week five 30")]
    assert _without_contents(weeks, False, 300, 50) == (weeks, False)
    assert _without_contents(weeks[1:2], True, 300, 51) == (weeks[1:2], False)  # nor is "Week one 10" after contents
