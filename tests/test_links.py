"""Citation links: each citation names the page, the section and the quoted words (bot/links.py),
from the settings and the document only; the terminal, JSON and Discord show them."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path
from urllib.parse import unquote

import pytest

from bot.config import load_settings
from bot.discord.payload import FIELD_VALUE_MAX, answer_payload, source_line
from bot.library import Library
from bot.links import LinkSettings, Linker, heading_ids, text_directive
from bot.render import render_json, render_text
from bot.types import Answer, Citation, Excerpt
from index.converters.base import Limits
from index.converters.html import convert_html
from index.documents import HeadingMark, build_document, parse_document
from index.errors import ConfigError
from index.generation import DocumentInfo
from tests.browser import ON_SCREEN, chromium, missing, on_screen, served

# ----------------------------------------------------------------------------- heading ids


def test_github_ids_follow_github_slugger():
    titles = ["Foo Bar", "foo bar", "Foo  Bar", "I ♥ unicode", "Привет non-latin", "code in heading",
              "Hello, World!", "😄 emoji", "Foo Bar"]
    assert heading_ids(titles, "github") == [
        "foo-bar", "foo-bar-1", "foo--bar", "i--unicode", "привет-non-latin", "code-in-heading",
        "hello-world", "-emoji", "foo-bar-2"]


def test_gitlab_ids_squeeze_dashes_and_number_duplicates():
    assert heading_ids(["Hello -- World", "Hello World", "C++ & Rust?"], "gitlab") == [
        "hello-world", "hello-world-1", "c-rust"]


def test_mkdocs_ids_are_ascii_with_underscore_numbers():
    assert heading_ids(["Hello, World!", "Hello World", "Ünïcode Straße", "Hello World"], "mkdocs") == [
        "hello-world", "hello-world_1", "unicode-strae", "hello-world_2"]


def test_sphinx_ids_drop_section_numbers_and_number_duplicates_as_docutils_does():
    assert heading_ids(["12.2. Creating Virtual Environments", "Ünïcode Straße", "Creating virtual environments",
                        "2024", "The `foo()` call"], "sphinx") == [
        "creating-virtual-environments", "unicode-strasze", "id1", "id2", "the-foo-call"]


def test_an_id_written_after_a_heading_wins_where_the_generator_reads_it_and_no_rule_gives_none():
    assert heading_ids(["Install {#setup}", "Install", "Setup"], "mkdocs") == ["setup", "install", "setup_1"]
    assert heading_ids(["Title {: #custom .wide }"], "mkdocs") == ["custom"]
    assert heading_ids(["Install {#setup}"], "github") == ["install-setup"]  # GitHub shows the braces
    assert heading_ids(["Install", "Use"], "none") == ["", ""]


def test_code_in_a_markdown_heading_is_read_as_its_words():
    doc = parse_document(b"# Using `pip freeze`\n\nIt lists packages.\n\n## Using `pip freeze`\n\nAgain.\n",
                         "docs/a.md", "a.md")
    assert [h.title for h in doc.headings] == ["Using pip freeze", "Using pip freeze"]
    assert heading_ids([h.title for h in doc.headings], "github") == ["using-pip-freeze", "using-pip-freeze-1"]


def test_a_heading_that_is_a_link_is_named_by_its_words():
    doc = parse_document(b"# Async\n\n### [Trio](https://github.com/python-trio/trio)\n\nThe trio package.\n\n"
                         b"### Using <code>anyio</code>\n\nAnyIO too.\n", "docs/async.md", "async.md")
    assert [h.title for h in doc.headings] == ["Async", "Trio", "Using anyio"]
    assert heading_ids([h.title for h in doc.headings], "mkdocs") == ["async", "trio", "using-anyio"]
    generic = parse_document(b"# `Vec<T>` methods\n\nText.\n", "docs/vec.md", "vec.md")
    assert [h.title for h in generic.headings] == ["Vec<T> methods"]  # code is words, not a tag
    assert heading_ids([h.title for h in generic.headings], "github") == ["vect-methods"]
    rst = parse_document(b"Option<T>\n=========\n\nText.\n", "docs/option.rst", "option.rst")
    assert heading_ids([h.title for h in rst.headings], "sphinx") == ["option-t"]


def test_words_beside_a_role_are_not_matched_as_the_page_shows_them_otherwise():
    text = "Flask provides :meth:`~flask.Flask.test_cli_runner` to create a runner that captures output.\n"
    doc = parse_document(text.encode(), "docs/testing.rst", "testing.rst")
    start, end = 0, len(text) - 1
    inline = tuple((m.start(), m.end()) for m in re.finditer(r":meth:`~flask\.Flask\.|`", text))
    e = Excerpt(text[start:end], "text", 0.9, Citation(1, "testing.rst", doc.path, "T", "", "", start, end),
                inline=inline)
    assert unquote(text_directive(e)) == "text=to create a runner that captures output."


# ----------------------------------------------------------------------------- ids an HTML page gives


@pytest.mark.parametrize("html, anchor", [
    ('<h2 id="own">Own id<a class="headerlink" href="#other">¶</a></h2>', "own"),  # mdBook, MkDocs, Jekyll
    ('<section id="sec"><h2>Sphinx<a class="headerlink" href="#sec">¶</a></h2></section>', "sec"),
    ('<div class="section"><h2 class="title"><a id="s3.1"></a>3.1. DocBook</h2></div>', "s3.1"),
    ('<div class="section"><h2><a name="old"></a>Named</h2></div>', "old"),
    ('<section id="parent"><h2>Section opener</h2></section>', "parent"),
    ('<section id="parent"><h2>First</h2><h3>Second</h3></section>', ""),  # the section is the first's
    ('<div><h2>No id anywhere</h2></div>', ""),
])
def test_an_html_heading_links_to_the_id_the_page_gives_it(html, anchor):
    page = f"<html><body><main><h1 id='top'>Page</h1><p>Intro words here.</p>{html}<p>Body text.</p></main></body></html>"
    doc = build_document(convert_html(page.encode(), "p.html", Limits()), "0" * 64, "docs/p.html", "p.html")
    assert doc.headings[0].anchor == "top"
    assert doc.headings[-1].anchor == anchor


def test_real_sphinx_and_docbook_pages_keep_their_section_ids(tmp_path):
    data = Path(__file__).parent / "data" / "python_docs" / "tutorial" / "venv.html"
    doc = build_document(convert_html(data.read_bytes(), "venv.html", Limits()), "0" * 64, "d/venv.html", "venv.html")
    assert [(h.title, h.anchor) for h in doc.headings][1:3] == [
        ("12.1. Introduction", "introduction"), ("12.2. Creating Virtual Environments", "creating-virtual-environments")]


# ----------------------------------------------------------------------------- building the address


def excerpt_of(doc: DocumentInfo, text: str, quote: str, path: str | None = None, page=None) -> Excerpt:
    start = text.index(quote)
    c = Citation(1, path or doc.relpath, doc.path, doc.title, "", "", start, start + len(quote), page)
    return Excerpt(quote, "text", 0.9, c)


def info(relpath: str, headings=(), first_line=1, revision="", pages=()) -> DocumentInfo:
    return DocumentInfo(f"docs/{relpath}", relpath, "Title", "", "0" * 64, 1, 0.0, "text/2", pages,
                        tuple(headings), first_line, revision)


def test_a_docs_site_page_links_to_its_section_and_marks_the_quote():
    text = "# Venv\n\n## Creating Virtual Environments\n\nRun the venv module as a script with the path.\n"
    doc = info("tutorial/venv.html", [HeadingMark(0, 1, "Venv", "venv"),
                                      HeadingMark(8, 2, "Creating Virtual Environments", "creating-virtual-environments")],
               first_line=0)
    e = excerpt_of(doc, text, "Run the venv module as a script with the path.")
    url = Linker(LinkSettings("https://docs.python.org/3.11/{path}")).url(e, doc, text)
    assert url == ("https://docs.python.org/3.11/tutorial/venv.html#creating-virtual-environments"
                   ":~:text=Run%20the%20venv%20module%20as%20a%20script%20with%20the%20path.")
    no_marks = Linker(LinkSettings("https://docs.python.org/3.11/{path}", text_fragments=False)).url(e, doc, text)
    assert no_marks == "https://docs.python.org/3.11/tutorial/venv.html#creating-virtual-environments"


def test_mkdocs_pages_link_by_stem_and_their_headings_by_its_slugs():
    text = "# Tutorial\n\nIntro.\n\n## First Steps!\n\nCreate a file main.py with the app.\n"
    headings = [HeadingMark(0, 1, "Tutorial"), HeadingMark(text.index("## First"), 2, "First Steps!")]
    linker = Linker(LinkSettings("https://fastapi.tiangolo.com/{stem}/", headings="mkdocs", text_fragments=False))
    for relpath, page in [("tutorial/first-steps.md", "tutorial/first-steps/"), ("tutorial/index.md", "tutorial/"),
                          ("index.md", "")]:
        doc = info(relpath, headings)
        url = linker.url(excerpt_of(doc, text, "Create a file main.py with the app."), doc, text)
        assert url == f"https://fastapi.tiangolo.com/{page}#first-steps"


def test_sphinx_pages_from_rst_sources_link_by_their_base_name():
    text = "Quickstart\n==========\n\nA Minimal Application\n---------------------\n\nA minimal app looks like this one.\n"
    doc = parse_document(text.encode(), "docs/quickstart.rst", "quickstart.rst")
    linker = Linker(LinkSettings("https://flask.example/en/{base}.html", headings="sphinx", text_fragments=False))
    for relpath, page in [("quickstart.rst", "quickstart.html"), ("index.rst", "index.html"),
                          ("tutorial/index.rst", "tutorial/index.html")]:
        info_ = info(relpath, doc.headings, first_line=doc.first_line)
        url = linker.url(excerpt_of(info_, doc.text, "A minimal app looks like this one."), info_, doc.text)
        assert url == f"https://flask.example/en/{page}#a-minimal-application"


def test_a_repository_view_names_the_commit_and_the_source_lines():
    text = "Intro line.\n\n## Setup\n\nFirst line of the answer\nand its second line.\n"
    doc = info("guide.md", [HeadingMark(13, 2, "Setup")], first_line=4, revision="a" * 40)
    e = excerpt_of(doc, text, "First line of the answer\nand its second line.")
    linker = Linker(LinkSettings("https://github.com/o/r/blob/{rev}/docs/{path}?plain=1#L{first}-L{last}"))
    assert linker.url(e, doc, text) == f"https://github.com/o/r/blob/{'a' * 40}/docs/guide.md?plain=1#L8-L9"
    assert linker.url(e, replace(doc, revision=""), text) is None  # no commit holds these bytes: no link that drifts
    converted = replace(doc, first_line=0)  # an HTML page: its source lines are not known
    assert linker.url(e, converted, text) == f"https://github.com/o/r/blob/{'a' * 40}/docs/guide.md?plain=1"


def test_a_pdf_link_opens_at_the_page():
    doc = info("manual.pdf", first_line=0, pages=(0, 100))
    e = excerpt_of(doc, "x" * 120 + "The answer.", "The answer.", page=2)
    assert Linker(LinkSettings("https://example.org/files/{path}")).url(e, doc) == \
        "https://example.org/files/manual.pdf#page=2"


def test_a_text_fragment_encodes_its_syntax_characters_and_skips_words_a_page_shows_otherwise():
    doc = info("a.html", first_line=0)
    quote = 'Use "pip" -- the well-known R&D tool, or conda, to add it now for everyone here today please.'
    directive = text_directive(excerpt_of(doc, quote, quote))
    assert directive.startswith("text=") and directive.count(",") == 1  # start,end: its own commas are encoded
    start, end = directive.removeprefix("text=").split(",")
    assert "%2D" in start and "%2C" in start and "%26" in start
    assert unquote(start) == "the well-known R&D tool, or conda,"  # not the curled "pip" nor the dash "--"
    assert unquote(end) == "now for everyone here today please."


def test_a_page_converted_from_html_keeps_its_own_quotes_and_shows_code_without_backticks():
    quote = "Cargo is Rust’s build system, and `cargo new` makes a “project” here."
    doc = info("a.html", first_line=0)
    assert unquote(text_directive(excerpt_of(doc, quote, quote), converted=True)) == \
        "text=Cargo is Rust’s build system, and cargo new makes a “project” here."
    from_source = unquote(text_directive(excerpt_of(doc, quote, quote), converted=False))
    assert from_source == "text=build system, and cargo new makes a"  # a site may curl the quotes itself


def test_a_fragment_starts_at_four_words_where_there_are_four_so_it_is_not_found_earlier():
    quote = "To create a :meth:`runner`, which runs CLI commands in isolation."
    doc = info("a.rst")
    inline = tuple((m.start(), m.end()) for m in re.finditer(r":meth:`|`", quote))
    e = replace(excerpt_of(doc, quote, quote), inline=inline)
    assert unquote(text_directive(e)) == "text=which runs CLI commands in isolation."
    assert unquote(text_directive(excerpt_of(doc, "Then to create a thing.", "Then to create a thing."))) == \
        "text=Then to create a thing."


def test_a_quoted_code_block_is_marked_by_its_words_as_written():
    code = '    let mut spaces = "   ";\n    spaces = spaces.len();\nname    value    type here'
    doc = info("a.md")
    e = Excerpt(code, "text", 0.9, Citation(1, "a.md", doc.path, "T", "", "", 0, len(code)), code=((0, len(code)),))
    assert unquote(text_directive(e)) == "text=let mut spaces"  # "=" is no word; "type here" is two
    aligned = "name    value    type here now"
    e = replace(e, text=aligned, code=((0, len(aligned)),))
    assert unquote(text_directive(e)) == "text=type here now"  # never "name value type": the page keeps the spaces


def test_no_setting_means_no_link(seeds_service):
    answer = seeds_service.ask("when was Izium recaptured?")
    assert all(e.citation.url is None for e in answer.excerpts)
    assert "http" not in render_text(answer)
    assert all(e["citation"]["url"] is None for e in json.loads(render_json(answer))["excerpts"])


# ----------------------------------------------------------------------------- documents cannot steer a link


_HOSTILE_ID = 'x")](javascript:alert(1))<b>:~:text=elsewhere'


def test_what_a_document_says_cannot_change_where_a_link_goes_or_add_markup():
    page = (f'<html><body><main><h1>Page</h1><section id=\'{_HOSTILE_ID}\'><h2>Danger](javascript:alert(1))</h2>'
            '<p>The gate closes at nine every evening.</p></section></main></body></html>')
    converted = convert_html(page.encode(), "a b (1).html", Limits())
    built = build_document(converted, "0" * 64, "docs/a b (1).html", "a b (1).html")
    doc = info("a b (1).html", built.headings, first_line=0)
    e = excerpt_of(doc, built.text, "The gate closes at nine every evening.")
    e = replace(e, citation=replace(e.citation, title="T](javascript:alert(2))", section="S)<@&1>"))
    url = Linker(LinkSettings("https://docs.example.org/{path}")).url(e, doc, built.text)
    assert url.startswith("https://docs.example.org/a%20b%20%281%29.html#")
    assert not re.search(r"[\s()\[\]<>\"'`]", url)
    anchor, directive = url.split("#", 1)[1].split(":~:")  # the page's id cannot add a directive of its own
    assert unquote(anchor) == _HOSTILE_ID and directive.startswith("text=The%20gate")
    line = source_line(replace(e.citation, url=url))
    link = re.fullmatch(r"\\\[1\\\] \[((?:\\.|[^\\\[\]])*)\]\((\S+)\)", line)
    assert link is not None and link.group(2) == url
    assert "<@" not in line and "](javascript" not in line


def test_a_template_that_is_not_an_http_address_or_uses_unknown_fields_is_refused(tmp_path):
    config = tmp_path / "citebot.yaml"
    bad = {"ftp://host/{path}": "must start with http:// or https://", "https://host/{path.__class__}": "not a placeholder",
           "https://host/{path!r}": "not a placeholder", "https://host/{name}": "known: {path}",
           "https://host/a b/{path}": "cannot stand in a link", "https://host/{path": "not a template",
           "https://docs.example.org{path}": "a host written out", "https://{stem}.example.org/": "a host written out"}
    for template, reason in bad.items():
        config.write_text(json.dumps({"links": {"url": template}}))
        with pytest.raises(ConfigError, match=re.escape(reason)) as err:
            load_settings(str(config), environ={})
        assert str(config) in str(err.value) and "links" in str(err.value) and "\n" not in str(err.value)
    config.write_text(json.dumps({"links": {"url": "https://h/{path}", "headings": "hugo"}}))
    with pytest.raises(ConfigError, match="links.headings: 'hugo' is not one of none, github"):
        load_settings(str(config), environ={})


def test_links_are_set_for_docs_or_per_collection(tmp_path):
    config = tmp_path / "citebot.yaml"
    config.write_text("links: https://docs.example.org/{path}\n")
    assert load_settings(str(config), environ={}).links == LinkSettings("https://docs.example.org/{path}")
    config.write_text("collections:\n  one: {docs: [a], guilds: [1], links: {url: 'https://one.example/{stem}/', "
                      "headings: mkdocs}}\n  two: {docs: [b], guilds: [2]}\n")
    settings = load_settings(str(config), environ={})
    library = Library(settings, embedder=object())
    assert library.settings_for("one").links == LinkSettings("https://one.example/{stem}/", "mkdocs")
    assert library.settings_for("two").links is None
    config.write_text("links: https://x.example/{path}\ncollections:\n  one: {docs: [a]}\n")
    with pytest.raises(ConfigError, match="with collections, set links in each collection"):
        load_settings(str(config), environ={})


# ----------------------------------------------------------------------------- shown everywhere


def linked_answer(url: str) -> Answer:
    c = Citation(1, "tutorial/venv.html", "docs/tutorial/venv.html", "Virtual Environments", "Creating", "", 0, 20,
                 url=url)
    return Answer("how?", True, "", (Excerpt("Run python -m venv.", "text", 0.9, c),))


def test_the_terminal_prints_the_address_under_the_source_and_json_names_it():
    url = "https://docs.python.org/3.11/tutorial/venv.html#creating"
    shown = render_text(linked_answer(url)).splitlines()
    at = next(k for k, line in enumerate(shown) if line.strip().startswith("[1]"))
    assert shown[at + 1].strip() == url
    assert json.loads(render_json(linked_answer(url)))["excerpts"][0]["citation"]["url"] == url


def test_discord_shows_each_source_as_a_masked_link_within_the_field_limit():
    url = "https://docs.python.org/3.11/tutorial/venv.html#creating"
    field = answer_payload(linked_answer(url)).embed["fields"][0]["value"]
    assert field == f"\\[1\\] [Virtual Environments › Creating]({url})"
    too_long = "https://docs.python.org/" + "a" * (FIELD_VALUE_MAX + 10)
    field = answer_payload(linked_answer(too_long)).embed["fields"][0]["value"]
    assert len(field) <= FIELD_VALUE_MAX and too_long not in field and "docs/tutorial/venv.html" in field


# ----------------------------------------------------------------------------- through the index


def test_an_answer_links_to_the_lines_of_the_commit_it_quotes(make_service):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    service = make_service(links=LinkSettings("https://github.com/o/r/blob/{rev}/docs/{path}?plain=1#L{first}-L{last}"))
    docs = Path(service.settings.docs[0])
    (docs / "ferry.md").write_text("---\ntitle: Ferry\n---\n\n# Timetable\n\nThe ferry to the island leaves at "
                                   "seven in the morning.\nIt returns at six.\n\n## Fares\n\nA return ticket costs "
                                   "twelve euros for adults.\n")
    (docs / "draft.md").write_text("# Draft\n\nThe lighthouse opens to visitors on Sundays only.\n")
    git = ["git", "-c", "user.email=t@example.org", "-c", "user.name=t", "-C", str(docs)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "ferry.md"], check=True)
    subprocess.run([*git, "commit", "-qm", "ferry"], check=True)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    service.reindex()
    answer = service.ask("how much is a return ticket on the ferry?")
    top = answer.excerpts[0]
    assert top.citation.path == "ferry.md"
    first, last = map(int, re.fullmatch(rf"https://github.com/o/r/blob/{commit}/docs/ferry.md\?plain=1#L(\d+)-L(\d+)",
                                        top.citation.url).groups())
    lines = (docs / "ferry.md").read_text().split("\n")
    assert top.text in "\n".join(lines[first - 1:last]) and top.text.startswith(lines[first - 1].lstrip()[:10])
    untracked = service.ask("when does the lighthouse open to visitors?").excerpts[0]
    assert untracked.citation.path == "draft.md" and untracked.citation.url is None  # no commit holds it
    # Edited: no commit holds the new bytes. Committed: the same bytes, now named, without re-embedding.
    (docs / "ferry.md").write_text((docs / "ferry.md").read_text().replace("twelve", "fourteen"))
    service.reindex()
    assert service.ask("how much is a return ticket on the ferry?").excerpts[0].citation.url is None
    subprocess.run([*git, "commit", "-qam", "fares"], check=True)
    fares = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    assert service.reindex().embedded == 0
    assert f"/blob/{fares}/docs/ferry.md" in service.ask("how much is a return ticket on the ferry?").excerpts[0].citation.url


def test_a_checkout_that_converts_line_endings_still_names_its_commit(tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    from index.revisions import read_checkout

    git = ["git", "-c", "user.email=t@example.org", "-c", "user.name=t", "-C", str(tmp_path)]
    subprocess.run([*git, "init", "-q"], check=True)
    (tmp_path / ".gitattributes").write_text("*.md text eol=crlf\n")
    (tmp_path / "a.md").write_bytes(b"line one\nline two\n")
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "a"], check=True)
    (tmp_path / "a.md").unlink()
    subprocess.run([*git, "checkout", "--", "a.md"], check=True)  # written back with CRLF line ends
    data = (tmp_path / "a.md").read_bytes()
    assert b"\r\n" in data
    checkout = read_checkout(tmp_path)
    assert checkout.revisions([("a.md", data), ("gone.md", b"x")]) == {"a.md": checkout.commit, "gone.md": ""}
    assert checkout.revisions([("a.md", data + b"edited\r\n")])["a.md"] == ""


def test_a_markdown_site_answer_links_to_the_generators_heading_id(make_service):
    service = make_service(links=LinkSettings("https://site.example/{stem}/", headings="github"))
    docs = Path(service.settings.docs[0])
    (docs / "ferry.md").write_text("# Ferry\n\n## Fares & tickets\n\nA return ticket costs twelve euros.\n\n"
                                   "## Fares & tickets\n\nChildren travel free on weekdays.\n")
    service.reindex()
    urls = {e.text: e.citation.url for e in service.ask("do children pay for the ferry?", k=3).excerpts}
    assert urls["Children travel free on weekdays."].startswith("https://site.example/ferry/#fares--tickets-1:~:text=")


# ----------------------------------------------------------------------------- in a real browser


def _browser():
    if why := missing():
        pytest.skip(why)
    return chromium()


@pytest.fixture
def served_python_docs(tmp_path):
    docs = tmp_path / "python_docs"
    shutil.copytree(Path(__file__).parent / "data" / "python_docs", docs)
    with served(docs) as site:
        yield docs, site


def test_a_browser_opens_the_link_at_the_section_with_the_quote_on_screen(served_python_docs, tmp_path, embedder):
    from bot.config import Settings
    from bot.service import CitebotService

    browser = _browser()
    from selenium.webdriver.support.wait import WebDriverWait

    docs, site = served_python_docs
    # threshold 0: every question is answered, whatever the excerpt; this checks where its link lands.
    settings = replace(Settings(), docs=(str(docs),), index_dir=str(tmp_path / "index"), threshold=0.0,
                       links=LinkSettings(site + "/{path}"))
    service = CitebotService(settings, embedder)
    service.ensure_index()
    try:
        for question in ("how do I make a virtual environment?", "how can a module tell if it was run as a script?"):
            top = service.ask(question).excerpts[0]
            url = top.citation.url
            page, _, fragment = url.partition("#")
            anchor, _, directive = fragment.partition(":~:")
            assert page == f"{site}/{top.citation.path}" and anchor and directive.startswith("text=")
            start_words = unquote(directive.removeprefix("text=").split(",")[0])
            browser.get(url)
            assert browser.execute_script(ON_SCREEN, start_words) is not None, f"{start_words!r} is not on the page"
            # The browser scrolls once the page has loaded: waited for as a condition, never a time.
            WebDriverWait(browser, 30).until(lambda b: on_screen(b.execute_script(ON_SCREEN, start_words)),
                                             f"{start_words!r} never came on screen")
            in_section = browser.execute_script(
                "const t = document.querySelector(':target'); const s = document.getElementById(arguments[0]);"
                "return t !== null && s !== null && s.contains(t);", unquote(anchor))
            assert in_section, f"{url}: the element the link marks is not in section #{anchor}"
            assert browser.execute_script(ON_SCREEN, start_words, unquote(anchor))[3], \
                f"{start_words!r} is not in section #{anchor}"  # the quote is where the link says it is
            # A browser without text fragments goes to the section itself.
            browser.get("about:blank")
            browser.get(f"{page}#{anchor}")
            WebDriverWait(browser, 30).until(
                lambda b: b.execute_script("const t = document.querySelector(':target'); return t && t.id")
                == unquote(anchor), f"#{anchor} never became the :target")
    finally:
        browser.quit()
