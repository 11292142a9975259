"""Conversion throughput per format, and the index time of a mixed folder against the same content
as plain text.

    python bench/convert.py

Black's Markdown docs (tests/data/black_docs, MIT) are written out three more ways: as PDFs
(reportlab, a bookmark per heading, about 60 lines a page), as HTML pages inside site chrome
(navigation, sidebar, footer, scripts), and as Word files (heading styles, code as paragraphs).
Prints pages/s and MB/s per format through the real converters (PDF, HTML, Word in the bounded
child process, text in process), then indexes a mixed folder (each file in one of the four
formats, in turn) and the same files as Markdown, with the real model (figures go in
docs/benchmarks.md). Needs reportlab (the test extra).
"""

from __future__ import annotations

import html
import re
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.config import Settings  # noqa: E402
from bot.service import CitebotService  # noqa: E402
from index.converters import registry  # noqa: E402
from index.converters.base import Limits  # noqa: E402
from index.converters.isolation import ConversionWorker  # noqa: E402
from index.converters.text import convert_text  # noqa: E402
from index.errors import SkippedFile  # noqa: E402

SOURCE = Path(__file__).resolve().parents[1] / "tests" / "data" / "black_docs"
HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
FENCE = "```"
LINES_PER_PAGE = 60
REPEAT = 4  # the corpus written this many times, for steadier timings


def blocks(markdown: str) -> list[tuple[str, str, int]]:
    """(kind, text, level) for headings, code and paragraphs: just enough Markdown for a bench."""
    out, para, code, in_code = [], [], [], False
    for line in markdown.splitlines():
        if line.strip().startswith(FENCE):
            if in_code:
                out.append(("code", "\n".join(code), 0))
                code = []
            in_code = not in_code
            continue
        if in_code:
            code.append(line)
            continue
        heading = HEADING.match(line)
        if heading or not line.strip():
            if para:
                out.append(("p", " ".join(para), 0))
                para = []
            if heading:
                out.append(("h", heading.group(2), len(heading.group(1))))
            continue
        para.append(line.strip())
    if para:
        out.append(("p", " ".join(para), 0))
    return out


def write_pdf(parts, path: Path, title: str) -> int:
    from reportlab.pdfgen import canvas
    from textwrap import wrap

    pdf = canvas.Canvas(str(path))
    pdf.setTitle(title)
    y, pages, marks = 780, 1, 0
    for kind, text, level in parts:
        lines = text.splitlines() if kind == "code" else wrap(text, 95) or [""]
        if kind == "h":
            key = f"m{marks}"
            marks += 1
            pdf.bookmarkPage(key)
            pdf.addOutlineEntry(text[:80], key, level=0)
        for line in lines:
            if y < 60:
                pdf.showPage()
                pages, y = pages + 1, 780
            pdf.setFont("Courier" if kind == "code" else ("Helvetica-Bold" if kind == "h" else "Helvetica"), 9)
            pdf.drawString(50, y, line[:110])
            y -= 12
        y -= 6
    pdf.showPage()
    pdf.save()
    return pages


def write_html(parts, path: Path, title: str) -> None:
    body = []
    for kind, text, level in parts:
        if kind == "h":
            body.append(f"<h{level}>{html.escape(text)}</h{level}>")
        elif kind == "code":
            body.append(f"<pre><code>{html.escape(text)}</code></pre>")
        else:
            body.append(f"<p>{html.escape(text)}</p>")
    chrome = ("<header><nav><a href='/'>Home</a> | <a href='/docs'>Docs</a> | <a href='/blog'>Blog</a></nav></header>"
              "<div class='sidebar'><ul>" + "".join(f"<li><a href='#'>Page {n}</a></li>" for n in range(30)) + "</ul></div>")
    path.write_text(f"<!DOCTYPE html><html><head><title>{html.escape(title)}</title><script>var a = 1;</script>"
                    f"<style>body {{ margin: 0; }}</style></head><body>{chrome}<main><article>{''.join(body)}</article>"
                    "</main><footer>© The authors. <a href='/privacy'>Privacy</a></footer></body></html>")


def write_docx(parts, path: Path, title: str) -> None:
    import docx

    document = docx.Document()
    document.core_properties.title = title
    for kind, text, level in parts:
        if kind == "h":
            document.add_heading(text, level=min(level, 9))
        else:
            document.add_paragraph(text)
    document.save(str(path))


def main() -> None:
    sources = sorted(p for p in SOURCE.rglob("*.md"))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folders = {name: root / name for name in ("md", "pdf", "html", "docx", "mixed")}
        for folder in folders.values():
            folder.mkdir()
        pdf_pages = 0
        for copy in range(REPEAT):
            for n, source in enumerate(sources):
                text = source.read_text()
                parts = blocks(text)
                title = next((t for k, t, _ in parts if k == "h"), source.stem)
                stem = f"{copy}-" + source.relative_to(SOURCE).with_suffix("").as_posix().replace("/", "-")
                (folders["md"] / f"{stem}.md").write_text(text)
                pdf_pages += write_pdf(parts, folders["pdf"] / f"{stem}.pdf", title)
                write_html(parts, folders["html"] / f"{stem}.html", title)
                write_docx(parts, folders["docx"] / f"{stem}.docx", title)
                fmt = ("md", "pdf", "html", "docx")[(n + copy) % 4]
                (folders["mixed"] / f"{stem}.{fmt}").write_bytes((folders[fmt] / f"{stem}.{fmt}").read_bytes())

        print(f"{len(sources) * REPEAT} documents per format ({len(sources)} of Black's docs, {REPEAT} times); "
              f"PDF: {pdf_pages} pages")
        print("| format | files | MB in | seconds | files/s | MB/s | pages/s |")
        print("|---|---|---|---|---|---|---|")
        converters = registry()
        with ConversionWorker(Limits()) as worker:
            worker.convert(converters.by_name("html"), b"<html><body><p>warm up</p></body></html>", "w.html")
            for fmt in ("md", "pdf", "html", "docx"):
                files = sorted(folders[fmt].iterdir())
                size = sum(f.stat().st_size for f in files) / 1e6
                started, skipped = time.perf_counter(), 0
                for f in files:
                    data = f.read_bytes()
                    converter = converters.choose(f.name, data[:4096])
                    try:
                        if converter.isolated:
                            worker.convert(converter, data, f.name)
                        else:
                            convert_text(data, f.name)
                    except SkippedFile:  # e.g. a page of nothing but a table of contents
                        skipped += 1
                seconds = time.perf_counter() - started
                pages = f"{pdf_pages / seconds:.0f}" if fmt == "pdf" else "–"
                print(f"| {fmt} | {len(files)}{f' ({skipped} skipped)' if skipped else ''} | {size:.2f} | {seconds:.2f} | {len(files) / seconds:.0f} | "
                      f"{size / seconds:.2f} | {pages} |")

        print("\n| folder | documents | passages | index seconds |")
        print("|---|---|---|---|")
        for name in ("md", "mixed"):
            settings = replace(Settings(), docs=(str(folders[name]),), index_dir=str(root / f"index-{name}"))
            service = CitebotService(settings)
            if name == "md":
                service.embedder.encode_queries(["warm up"])
            started = time.perf_counter()
            report = service.reindex()
            seconds = time.perf_counter() - started
            skipped = f" ({len(report.skipped)} skipped)" if report.skipped else ""
            print(f"| {name} | {report.documents}{skipped} | {report.passages} | {seconds:.1f} |")


if __name__ == "__main__":
    main()
