"""Documentation pages as each generator publishes them (Sphinx, mdBook, DocBook, MkDocs
Material, Docusaurus), through the real HTML converter and the real index: the content is kept
whole (sections, code, definitions, footnotes, admonitions, captions) and the stored text holds
no markup but headings, fences, list bullets and table rows."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from index.converters.base import Limits
from index.converters.html import HTML, convert_html
from index.documents import build_document, sha256_bytes
from index.errors import SkippedFile
from index.markup import WRITTEN_MARKDOWN

FORMATS = Path(__file__).resolve().parent / "data" / "formats"

# For each page: headings that must become sections, a code block that must be kept whole
# (fence lines around it), a definition list's term and definition, a footnote's body, an
# admonition's title and body, and a caption; None where the generator's corpus has none.
PAGES = {
    "sphinx_python_introduction.html": dict(
        sections=("3.1. Using Python as a Calculator", "3.1.1. Numbers", "3.1.2. Strings"),
        code='print("""\\\nUsage: thingy [OPTIONS]\n     -h                        Display this usage message\n'
             '     -H hostname               Hostname to connect to\n""")',
        definition=("Text Sequence Type — str",
                    "Strings are examples of sequence types, and support the common operations supported by such types."),
        footnote="[1] Since `**` has higher precedence than `-`, `-3**2` will be interpreted as `-(3**2)`",
        admonition=("See also", "String Methods"),
        caption=None),
    "mdbook_rust_box.html": dict(
        sections=("Using Box<T> to Point to Data on the Heap", "Using a Box<T> to Store Data on the Heap",
                  "Hashing Functions"),
        code='fn main() {\n    let b = Box::new(5);\n    println!("b = {}", b);\n}',
        definition=None,
        footnote="[1] https://en.wikipedia.org/wiki/SipHash",
        admonition=("Note: We’re implementing a cons list that holds only `i32` values", ""),
        caption="Listing 15-1: Storing an `i32` value on the heap using a box"),
    "docbook_debian_compatibility.html": dict(
        sections=("4.3. How compatible is Debian with other distributions of Linux?",
                  "4.6. How should I install a non-Debian program?"),
        code="ln -s /usr/local/bin/foo /usr/bin/foo",
        definition=("You probably can:", "A program to unpack a Debian package onto a Linux host"),
        footnote="[1] The Linux Standard Base is a specification for allowing the same binary package",
        admonition=None,
        caption=None),
    "mkdocs_material_caching.html": dict(
        sections=("Cache lifetime",),
        code='[cache]\ncache_days = 30\npath = "~/.cache/ferry"',
        definition=("`ferry cache clear`", "Removes every cached wheel and prints how many bytes were freed."),
        footnote="Only wheels are cached; source distributions are built anew each time.",
        admonition=("Warning", "Clearing the cache while an install runs makes that install download everything again."),
        caption="Figure 1: a cached install takes four seconds instead of forty."),
    "docusaurus_deploy.html": dict(
        sections=("Build the site",),
        code="npm run build\nnpx ferry deploy --target pages",
        definition=("Pages", "Publishes the `build/` folder to the project's Pages branch."),
        footnote="The server must send `index.html` for folder addresses.",
        admonition=("tip", "Set `baseUrl` to the folder the site is served from"),
        caption="Table 1: deploy targets and the command that selects them"),
}

CHROME = {
    "sphinx_python_introduction.html": ("Table of Contents", "Report a Bug", "Theme", "Navigation", "©"),
    "mdbook_rust_box.html": ("Light", "Ayu", "Keyboard shortcuts", "Getting Started", "#![allow(unused)]", "fn main() {}"),
    "docbook_debian_compatibility.html": ("Table of Contents", "Prev", "Next", "Home"),
    "mkdocs_material_caching.html": ("Edit this page", "Was this page helpful", "June 3, 2026", "Installation",
                                     "Skip to content", "Made with Material"),
    "docusaurus_deploy.html": ("Edit this page", "Last updated", "Previous", "Introduction", "Copy", "On this page",
                               "Built with Docusaurus"),
}


def assert_no_markup(text: str) -> None:
    """Only Markdown structure: '#' headings, fence lines, bullets and table rows; no escapes,
    no permalinks, no HTML tags, no fence inside a line."""
    assert "¶" not in text and "\ue000" not in text and "\ue001" not in text
    in_code = False
    for line in text.splitlines():
        if line.startswith("```"):
            in_code = not in_code
            continue
        if in_code:
            continue
        assert "```" not in line, line
        prose = re.sub(r"(`+).+?\1", "", line)
        assert not re.search(r"</?[a-zA-Z!][^>]*>", prose), line  # an HTML tag (">>>" prompts are text)
        assert not re.search(r"\\[_*#`\[\]]", prose), line  # a Markdown escape
        assert "**" not in prose and "](" not in prose, line


def _convert(name: str):
    data = (FORMATS / name).read_bytes()
    converted = convert_html(data, name, Limits())
    return converted, build_document(converted, sha256_bytes(data), f"d/{name}", name, HTML.key)


@pytest.mark.parametrize("name", sorted(PAGES))
def test_a_generators_page_keeps_its_content_and_drops_its_chrome(name):
    page = PAGES[name]
    converted, doc = _convert(name)
    text = converted.text
    assert converted.markup == WRITTEN_MARKDOWN
    assert_no_markup(text)
    paths = {title for section in doc.sections for title in section.path}
    for heading in page["sections"]:
        assert heading in paths, (heading, paths)
    assert f"\n{page['code']}\n```" in text  # whole, between fence lines
    if page["definition"]:
        term, definition = page["definition"]
        assert f"\n{term}\n{definition}" in text
    assert page["footnote"] in text
    if page["admonition"]:
        title, body = page["admonition"]
        assert title in text and body in text
    if page["caption"]:
        assert page["caption"] in text
    for chrome in CHROME[name]:
        assert chrome not in text, chrome


def test_titles_come_from_the_first_h1_else_the_page_title():
    assert _convert("sphinx_python_introduction.html")[1].title == "3. An Informal Introduction to Python"
    assert _convert("docbook_debian_compatibility.html")[1].title == "Chapter 4. Compatibility issues"
    assert _convert("mkdocs_material_caching.html")[1].title == "Caching"
    assert _convert("docusaurus_deploy.html")[1].title == "Deploying"
    # mdBook's page starts at h2; its <title> names it (the menu bar's h1 names the book).
    rust = _convert("mdbook_rust_box.html")[0]
    assert rust.title == "Using Box<T> to Point to Data on the Heap - The Rust Programming Language"
    assert _convert("mkdocs_material_caching.html")[0].author == "The Ferry docs team"


def test_a_plain_page_is_read_without_escapes_and_without_its_site_chrome():
    page = b"""<html><head><title>Backups</title></head><body>
      <header><a href="/">Acme</a> <a href="/blog">Blog</a></header>
      <aside class="sidebar"><p>Popular posts</p></aside>
      <div class="post"><h2>Backups</h2>
      <p>Run <code>pg_dump</code> nightly; <code>SELECT *
      FROM logs</code> shows what ran. A * b_c and 2*3 stay as written.</p>
      <p># not a heading, and 1. not a list</p>
      <ul><li>First step
        <ul><li>Nested step with code:<pre>pg_dump -Fc shop &gt; shop.dump
pg_restore -d shop shop.dump</pre></li></ul></li></ul>
      </div>
      <footer>Copyright Acme</footer></body></html>"""
    text = convert_html(page, "backups.html", Limits()).text
    assert "Run `pg_dump` nightly; `SELECT * FROM logs` shows what ran. A * b_c and 2*3 stay as written." in text
    assert "\n```\npg_dump -Fc shop > shop.dump\npg_restore -d shop shop.dump\n```\n" in text
    assert "- First step\n  - Nested step with code:" in text
    for chrome in ("Acme", "Popular posts", "Copyright"):
        assert chrome not in text
    assert_no_markup(text.replace("# not a heading", "not a heading"))


def test_a_deeply_nested_page_is_skipped_with_one_line():
    deep = b"<html><body>" + b"<div>" * 5_000 + b"<p>deep words</p>" + b"</div>" * 5_000
    with pytest.raises(SkippedFile, match=r"^HTML nested over \d+ elements deep$"):
        convert_html(deep, "deep.html", Limits())


def test_docs_pages_are_indexed_and_quoted_verbatim(make_service, tmp_path):
    service = make_service()
    docs = tmp_path / "docs"
    for name in PAGES:
        shutil.copy(FORMATS / name, docs / name)
    report = service.reindex()
    assert report.skipped == () and report.documents == len(PAGES)
    generation = service.searcher.generation
    for question, expected in (
            ("what hashing function does HashMap use by default?", "SipHash"),
            ("where should I put the source code of a non-Debian program?", "/usr/local/src/"),
            ("how long do cache entries last before they expire?", "cache_days"),
            ("where are the files uploaded with a public read policy?", "object store bucket")):
        answer = service.ask(question)
        assert answer.answered, question
        assert any(expected in e.text for e in answer.excerpts), (question, [e.text for e in answer.excerpts])
        for e in answer.excerpts:
            if e.kind == "text":
                assert generation.document_text(e.citation.file)[e.citation.start:e.citation.end] == e.text
