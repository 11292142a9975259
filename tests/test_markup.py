"""Structure in light markup (index/markup.py): headings, code blocks quoted whole, markup kept
out of quotes; the answering units built on it (bot/answering/compose.py); context in the index."""

import re
from pathlib import Path

import pytest

from bot.answering.compose import answering_units
from bot.answering.question import read_question
from index.chunking import TEXT, ChunkSettings, chunk_document, context_line, matched_text, unit_spans
from index.converters.text import convert_text
from index.documents import build_document, parse_document
from index.markup import CODE, INLINE, ITEM, MARKUP, breaks_flow, inline_markup, markup_of, sniff_markup
from tests.conftest import EVAL_DATA, SEEDS, WIKI_SEED

RST = b"""\
:orphan:

.. currentmodule:: discord
.. _faq:

Frequently Asked Questions
==========================

.. contents:: Questions
    :local:

General
-------

How do I set the "Playing" status?
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~

The ``activity`` keyword argument may be passed in the constructor. Use :meth:`Client.change_presence` later.

If you want to upload an image it's as simple as: ::

    # bad
    time.sleep(10)

.. code-block:: python3

    await bot.add_cog(Greetings(bot))

.. note::

    This is prose inside a note.

.. image:: /images/thing.png

Reloading
---------

We do this via the :meth:`~.commands.Bot.add_cog` method. It works.
"""

MARKDOWN = b"""\
# The basics

```{contents}
:local:
```

## Usage

Run it like this:

```sh
# not a heading
black {source_file_or_directory}
```

```{note}
A note is prose.
```

Options
-------

- `--check`: do not write files
- `--diff`: print a diff

(labels/exit-code)=

See [the docs][docs] for more.

[docs]: https://example.org/docs
"""


def _units(doc):
    return [(doc.text[a:b], kind) for s in doc.sections for a, b, kind in unit_spans(doc.text, s.start, s.end, doc.blocks)]


def test_rst_headings_make_the_title_and_section_paths():
    doc = parse_document(RST, "d/faq.rst", "faq.rst")
    assert doc.title == "Frequently Asked Questions"
    paths = [s.path for s in doc.sections]
    assert ("General", 'How do I set the "Playing" status?') in paths and ("Reloading",) in paths
    assert all("Frequently Asked Questions" not in p for p in paths)


def test_rst_code_is_one_unit_and_directives_are_never_quoted():
    doc = parse_document(RST, "d/faq.rst", "faq.rst")
    units = _units(doc)
    texts = [t for t, _ in units]
    assert ("# bad\n    time.sleep(10)", CODE) in units  # a literal block after "::", kept whole
    assert ("await bot.add_cog(Greetings(bot))", CODE) in units  # a code-block directive's body
    assert ("This is prose inside a note.", TEXT) in units  # an admonition's body is prose
    joined = "\n".join(texts)
    for markup in (":orphan:", "currentmodule", ".. _faq:", "contents::", ":local:", ".. image::", "~~~~", "====="):
        assert markup not in joined
    assert 'How do I set the "Playing" status?' not in joined  # a heading is never a unit of its own


def test_a_full_stop_inside_a_role_ends_no_sentence():
    doc = parse_document(RST, "d/faq.rst", "faq.rst")
    texts = [t for t, _ in _units(doc)]
    assert "We do this via the :meth:`~.commands.Bot.add_cog` method." in texts
    assert "The ``activity`` keyword argument may be passed in the constructor." in texts


def test_markdown_fences_lists_and_myst_markup():
    doc = parse_document(MARKDOWN, "d/basics.md", "basics.md")
    assert doc.title == "The basics"
    assert [s.path for s in doc.sections if s.path] == [("Usage",), ("Usage", "Options")] or \
        ("Options",) in [s.path for s in doc.sections]  # a setext heading under an ATX one
    units = _units(doc)
    assert ("# not a heading\nblack {source_file_or_directory}", CODE) in units
    assert ("A note is prose.", TEXT) in units
    assert ("- `--check`: do not write files", ITEM) in units and ("- `--diff`: print a diff", ITEM) in units
    joined = "\n".join(t for t, _ in units)
    for markup in ("```", "{contents}", ":local:", "(labels/exit-code)=", "[docs]: https"):
        assert markup not in joined
    assert not any(kind == MARKUP for _, kind in units)


def test_plain_text_keeps_reading_as_before():
    doc = parse_document(b"Title line\n\nSome text: with a colon.\n\n    indented, not code.\n", "d/a.txt", "a.txt")
    assert doc.blocks == () and [t for t, _ in _units(doc)][-1] == "indented, not code."


def test_every_unit_of_a_real_docs_corpus_is_verbatim_and_no_heading_is_quoted(embedder):
    corpus = EVAL_DATA / "discordpy_docs"
    checked = 0
    for file in sorted(corpus.rglob("*.rst")):
        relpath = str(file.relative_to(corpus))
        doc = parse_document(file.read_bytes(), relpath, relpath)
        headings = {s.path[-1] for s in doc.sections if s.path}
        for passage in chunk_document(doc, ChunkSettings(), embedder.count_tokens):
            if passage.kind != "text":
                continue
            assert passage.text == doc.text[passage.start:passage.end]
            for (a, b) in passage.sentences:
                unit = doc.text[a:b]
                assert unit and unit == unit.strip() and unit not in headings
                assert not unit.startswith((".. ", ":orphan:"))
                checked += 1
    assert checked > 2000


@pytest.mark.parametrize("gap, breaks", [
    ("\n\n.. code-block:: python3\n\n    ", False),
    ("\n\n```python\n", False),
    ("\n\n.. image:: /images/x.png\n\n", True),
    ("\n\n![diagram](x.png)\n\n", True),
])
def test_what_lies_between_units_decides_whether_one_leads_into_the_next(gap, breaks):
    assert breaks_flow(gap) is breaks


def test_a_sentence_ending_in_a_colon_is_quoted_with_what_it_introduces(embedder):
    doc = parse_document(RST, "d/faq.rst", "faq.rst")
    passages = [p for p in chunk_document(doc, ChunkSettings(), embedder.count_tokens) if p.kind == "text"]
    quoted = set()
    for p in passages:
        texts = [p.text[a - p.start:b - p.start] for a, b in p.sentences]
        for first, _, last in answering_units(p, texts):
            quoted.add(p.text[p.sentences[first][0] - p.start:p.sentences[last][1] - p.start])
    lead = "If you want to upload an image it's as simple as: ::"
    assert any(q.startswith(lead) and q.endswith("time.sleep(10)") for q in quoted)
    assert lead not in quoted  # never on its own: the answer is what follows
    # "We do this via …" leans on the sentence before it, across no blank line
    assert all(not q.startswith("It works.") for q in quoted)


def test_context_line_names_title_and_headings():
    assert context_line("FAQ", ("General", "How do I send a DM?")) == "FAQ › General › How do I send a DM?"
    assert context_line("Battle of Izium (2022)", ()) == "Battle of Izium (2022)"


def test_headings_are_matched_by_the_lexical_index(make_service, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "guide.md").write_text("# Guide\n\n## Reloading extensions\n\nCall the function and the changes apply.\n\n"
                                   "## Something else\n\nNothing about that here at all.\n")
    service = make_service()
    service.ensure_index()
    rows, _ = service.searcher.generation.lexical.search("reloading", 5)
    found = service.searcher.generation.passages(rows.tolist())
    assert [p.passage.section for p in found.values()] == [("Reloading extensions",)]


@pytest.mark.parametrize("question, event, patient", [
    ("when was Izium recaptured?", "recaptur", {"izium"}),
    ("When did Ukraine recapture Izium?", "recaptur", {"izium"}),
    ("when was the treaty of Paris signed?", "sign", {"treati", "pari"}),
    ("how do I register a cog?", "", set()),
])
def test_the_question_names_its_event_and_what_it_happened_to(question, event, patient):
    q = read_question(question)
    assert q.event == event and set(q.patient) == patient


def test_questions_after_a_way_or_a_reason():
    assert read_question("how do I reload an extension?").asks_how
    assert read_question("what should I use instead of requests?").asks_how
    assert not read_question("how many people live there?").asks_how
    assert read_question("why is it bad to change presence in on_ready?").asks_why


def test_chat_questions_are_split_and_cite_real_files():
    from bot.evaluate import load_eval_file

    held = load_eval_file(str(EVAL_DATA / "chat_questions.yaml"), {"split": "held_out"})
    tune = load_eval_file(str(EVAL_DATA / "chat_questions.yaml"), {"split": "tune"})
    assert sum(q.answerable for q in held.questions) >= 30 and sum(q.answerable for q in tune.questions) >= 30
    assert not {q.question for q in held.questions} & {q.question for q in tune.questions}
    roots = {"discordpy": EVAL_DATA / "discordpy_docs", "black": EVAL_DATA / "black_docs"}
    for q in held.questions + tune.questions:
        if q.source:
            text = (roots[dict(q.tags)["corpus"]] / q.source).read_text(encoding="utf-8").lower()
            assert any(a.lower() in text for a in q.answers), q.question
    assert Path(roots["black"] / "LICENSE-black-MIT.txt").exists()


def test_hostile_markup_is_read_in_one_pass():
    """Documents are untrusted: a file of thousands of headings, code blocks and field lines,
    and megabyte-long lines, is read by passes that grow with its size, not its square (a
    quadratic reading of this file would run for hours)."""
    part = ("Title\n=====\n\n:field: value\n\nText before code: ::\n\n    code()\n\n"
            ".. note::\n\n    prose\n\n```\nfenced\n```\n")
    text = part * 4000 + "# " * 300_000 + "\n" + ":x:" * 300_000 + "\n"
    # Inline markup that never closes: each opening is scanned up to the next, not to a bound.
    unclosed = ("<!--", "**a ", "__a ", "`", "``a`b", "[a", "![a](", "<a b=", ":a:`", "`a <", "|a", "\\", " ", "\t")
    text += "".join(unit * 20_000 + "\n" for unit in unclosed[1:4])
    for unit in unclosed:
        line = unit * 100_000
        assert all(0 <= a < b <= len(line) for m in ("rst", "markdown", "asciidoc")
                   for a, b in inline_markup(line, 0, len(line), m))
    # Runs of spaces before what could end them: a literal mark, a table rule.
    text += "x" + " " * 200_000 + "::\n\n" + " " * 200_000 + ":\n"
    for name in ("hostile.rst", "hostile.md", "hostile.txt", "hostile.adoc"):
        doc = parse_document(text.encode(), name, name)
        units = sum(len(unit_spans(doc.text, s.start, s.end, doc.blocks)) for s in doc.sections)
        assert units >= 4000 and (len(doc.sections) >= 4000 or name.endswith(".adoc"))  # no rST headings there
        assert all(doc.text[b.start:b.end] for b in doc.blocks)


# --------------------------------------------------------------------------- inline markup


def _shown(text: str, markup: str) -> str:
    """text as shown: its inline markup spans left out."""
    pieces, at = [], 0
    for a, b in inline_markup(text, 0, len(text), markup):
        assert at <= a < b <= len(text)
        pieces.append(text[at:a])
        at = b
    return "".join(pieces) + text[at:]


@pytest.mark.parametrize("source, shown", [
    ("Set :setting:`DEBUG` to True.", "Set DEBUG to True."),  # a role: its name and backticks
    ("We do this via :py:meth:`Bot.add_cog`.", "We do this via Bot.add_cog."),
    ("Use :class:`~django.core.paginator.Paginator` here.", "Use Paginator here."),  # ~ shows the last name
    ("See :doc:`multiple databases</topics/db/multi-db>` now.", "See multiple databases now."),  # a role's target
    ("See :mod:`schema migrations\n<django.db.migrations>`.", "See schema migrations."),
    ("Pass ``True`` or ``None``.", "Pass True or None."),  # literal marks; the code stays
    ("Read `the wiki page`_ first.", "Read the wiki page first."),  # a named reference
    ("Read `Django <https://djangoproject.com>`_ and `the docs <https://x.org>`__.", "Read Django and the docs."),
    ("The |version| is out, see |today|_.", "The version is out, see today."),  # substitutions
    ("As shown before [#]_ and in [1]_ or [CIT2002]_.", "As shown before and in or."),  # footnote and citation refs
    (r"Write \*args and a\ b.", "Write *args and ab."),  # escapes
    ("call it like this::", "call it like this:"),  # "::" before a literal block shows as ":"
    ("call it like this ::", "call it like this"),
])
def test_rst_inline_markup_is_not_shown(source, shown):
    assert _shown(source, "rst") == shown


@pytest.mark.parametrize("source, shown", [
    (r"Run pg\_dump, then SELECT \* FROM t.", "Run pg_dump, then SELECT * FROM t."),  # backslash escapes
    ('An <abbr title="HyperText Markup Language">HTML</abbr> page, <dfn>terms</dfn>.', "An HTML page, terms."),
    ('Make it <font color="red">red</font>: <input type="checkbox" checked> done.', "Make it red:  done."),
    ("See [the guide](https://example.org/a_(b) \"Guide\") and [more][ref].", "See the guide and more."),  # links
    ("A badge [![Build](https://ci/b.svg)](https://ci) here, ![graph](/g.png) and <https://x.org>.",
     "A badge  here,  and https://x.org."),  # images shown as nothing, an autolink as its address
    ("**Total page views:** it _is_ *that* easy.", "Total page views: it is that easy."),  # emphasis marks
    ("Keep `<th>`, `a\\_b` and snake_case_words and 2 * 3 * 4.", "Keep `<th>`, `a\\_b` and snake_case_words and 2 * 3 * 4."),
    ("if a <b and c> d, x<y", "if a <b and c> d, x<y"),  # no tag, no markup
])
def test_markdown_inline_markup_is_not_shown(source, shown):
    assert _shown(source, "markdown") == shown


def test_plain_text_has_no_inline_markup():
    assert inline_markup("Set :setting:`DEBUG` and [a](b) and <b>x</b>.", 0, 46, "text") == []


def test_inline_markup_splits_no_sentence_and_is_left_out_of_matching():
    text = ("Intro\n=====\n\nSet :setting:`DEBUG` to ``True``. See `the docs <https://x.org/a.b>`_ for more.\n\n"
            ".. code-block:: python\n\n    run()\n\nThen it works.\n")
    doc = parse_document(text.encode(), "d/a.txt", "a.txt")
    assert any(b.kind == INLINE for b in doc.blocks)
    units = _units(doc)
    assert ("Set :setting:`DEBUG` to ``True``.", TEXT) in units
    assert ("See `the docs <https://x.org/a.b>`_ for more.", TEXT) in units
    (passage,) = chunk_document(doc, ChunkSettings(), lambda texts: [len(t.split()) for t in texts])
    assert passage.text == doc.text[passage.start:passage.end]  # the quote stays verbatim
    matched = matched_text(passage)
    assert len(matched) == len(passage.text) and matched.count("\n") == passage.text.count("\n")
    assert matched.split() == ["Set", "DEBUG", "to", "True", ".", "See", "the", "docs", "for", "more.",
                               "run()", "Then", "it", "works."]  # no directive line, role, mark or address
    assert {doc.text[a:b] for a, b in passage.inline} == {":setting:`", "`", "``", " <https://x.org/a.b>`_"}


def test_markdown_admonitions_and_html_lines_are_markup_and_their_bodies_prose():
    text = ("# Guide\n\n/// note | Take care\nA pymdownx block is prose.\n///\n\n"
            '!!! warning "Careful"\n    An indented admonition is prose.\n\n'
            "???+ tip\n    A collapsible one too.\n\n:::note Docusaurus\nA Docusaurus note is prose.\n:::\n\n"
            '<aside markdown="1" class="pquote">\n  <img src="https://x.org/a.png" class="avatar" alt="avatar">\n'
            "  Open source is more than code.\n</aside>\n")
    doc = parse_document(text.encode(), "d/g.md", "g.md")
    units = _units(doc)
    texts = [t for t, _ in units]
    assert texts == ["A pymdownx block is prose.", "An indented admonition is prose.", "A collapsible one too.",
                     "A Docusaurus note is prose.", "Open source is more than code."]
    hidden = [doc.text[b.start:b.end] for b in doc.blocks if b.kind == MARKUP]
    for line in ("/// note | Take care", "///", '!!! warning "Careful"', "???+ tip", ":::note Docusaurus", ":::",
                 '<aside markdown="1" class="pquote">', "</aside>"):
        assert line in [h.strip() for h in hidden], line
    # Prose that only starts like a fence is prose.
    prose = "# Notes\n\n!!! IMPORTANT: back up your data before upgrading.\n\n/// is how the path starts.\n"
    assert " ".join(t for t, _ in _units(parse_document(prose.encode(), "d/n.md", "n.md"))) == (
        "!!! IMPORTANT: back up your data before upgrading. /// is how the path starts.")


def test_markdown_a_converter_wrote_hides_nothing_inline():
    """HTML and Word are written as Markdown without escapes: what looks like markup there is
    the page's own text (`&lt;br&gt;`, __init__.py, a literal [text](url))."""
    from index.converters.html import convert_html

    page = (b"<html><body><main><h1>Files</h1><p>The &lt;br&gt; element, __init__.py and "
            b"[text](https://example.com) are written as shown.</p></main></body></html>")
    doc = build_document(convert_html(page, "a.html", None), "x", "a.html", "a.html")
    assert not [b for b in doc.blocks if b.kind in (MARKUP, INLINE)]
    assert [t for t, _ in _units(doc)] == ["The <br> element, __init__.py and [text](https://example.com) "
                                           "are written as shown."]


# --------------------------------------------------------------------------- what a .txt holds

DJANGO = EVAL_DATA / "django_docs"
GUIDE = EVAL_DATA / "opensource_guide"


def test_a_txt_file_is_read_by_what_it_holds():
    for page in ("faq/models.txt", "topics/pagination.txt"):
        text = (DJANGO / page).read_text(encoding="utf-8")
        assert sniff_markup(text) == "rst" and markup_of(page, text) == "rst"
        assert markup_of("notes", text) == "rst"  # no suffix: content decides too
        assert markup_of("page.py", text) == "text"  # other suffixes keep their plain reading
    markdown = (GUIDE / "metrics.md").read_text(encoding="utf-8")
    assert markup_of("metrics.txt", markdown) == "markdown" and markup_of("metrics.md", "") == "markdown"
    assert markup_of("a.rst", "") == "rst"
    for licence in (DJANGO / "LICENSE-Django-BSD-3.txt", GUIDE / "LICENSE-CC-BY-4.0.txt"):
        assert sniff_markup(licence.read_text(encoding="utf-8")) == "text", licence
    assert sniff_markup("Title\n=====\n\nJust prose, with a heading underlined: plain text does that too.\n") == "text"


def test_the_seeds_txt_files_still_read_as_plain_text():
    for seed in sorted(SEEDS.glob("*.txt")):
        assert convert_text(seed.read_bytes(), seed.name).markup == "text", seed.name
    doc = parse_document((SEEDS / WIKI_SEED).read_bytes(), f"seeds/{WIKI_SEED}", WIKI_SEED)
    assert not any(b.kind == INLINE for b in doc.blocks)
    assert any("**Battle of Izium**" in t for t, _ in _units(doc))  # plain text: nothing is read as markup


def test_a_django_txt_page_reads_as_rst():
    doc = parse_document((DJANGO / "topics/pagination.txt").read_bytes(), "docs/topics/pagination.txt",
                         "topics/pagination.txt")
    assert doc.title == "Pagination"
    assert {("The Paginator class",), ("Example",), ("Paginating a ListView",)} <= {s.path for s in doc.sections}
    units = _units(doc)
    code = [t for t, k in units if k == CODE]
    assert any(t.startswith(">>> from django.core.paginator import Paginator") for t in code)  # (cut: it is long)
    assert any(t.startswith("from django.views.generic import ListView") and t.endswith("model = Contact")
               for t in code)  # so is a "::" literal block
    assert ("Note that you can give ``Paginator`` a list/tuple, a Django ``QuerySet``,\n    or any other object "
            "with a ``count()`` or ``__len__()`` method.", TEXT) in units  # a note's body is prose
    joined = "\n".join(t for t, _ in units)
    for markup in (".. code-block::", ".. note::", ".. _paginating-a-list-view:", "======"):
        assert markup not in joined
    # Every sentence shows without roles, literal marks or targets.
    for a, b, kind in (u for s in doc.sections for u in unit_spans(doc.text, s.start, s.end, doc.blocks)):
        if kind == CODE:
            continue
        inline = [(x, y) for x, y in ((bl.start, bl.end) for bl in doc.blocks if bl.kind == INLINE) if a <= x and y <= b]
        shown, at = [], a
        for x, y in inline:
            shown.append(doc.text[at:x])
            at = y
        shown = "".join(shown) + doc.text[at:b]
        assert "``" not in shown and ":class:" not in shown and ":attr:" not in shown and "`" not in shown, shown
    faq = parse_document((DJANGO / "faq/models.txt").read_bytes(), "docs/faq/models.txt", "faq/models.txt")
    assert ('>>> from django.db import connections\n    >>> connections["my_db_alias"].queries', CODE) in _units(faq)


def test_answers_from_rst_txt_and_jekyll_markdown_show_no_markup_but_quote_verbatim(make_service, tmp_path):
    """Roles, literal marks, targets, HTML tags, escapes and link syntax stay in the quoted text
    (verbatim, listed in `markup`) but neither the terminal nor Discord shows them."""
    import json
    import re
    import shutil

    from bot.discord.payload import answer_payload, unescape
    from bot.render import render_json, render_text

    docs = tmp_path / "docs"
    shutil.copytree(DJANGO, docs / "django")
    shutil.copy(GUIDE / "metrics.md", docs / "metrics.md")
    service = make_service()
    service.ensure_index()
    shown_markup = re.compile(r":[\w:]+:`|``|`_|\|\w+\||</?(?:aside|img|p|abbr|font|dfn|input)\b|\\_|\]\(https?|<https?:")
    hidden = []
    for question in ("how do I paginate a ListView?", "how can I see the raw SQL queries Django runs?",
                     "where do visitors of my GitHub project come from?",
                     "how can I track how many people download my package?"):
        answer = service.ask(question, k=6)
        assert answer.answered, question
        shown = render_text(answer)
        assert not shown_markup.search(shown), (question, shown_markup.search(shown), shown)
        description = unescape(answer_payload(answer, count=6).embed["description"])
        description = re.sub(r"```.*?```", "", description, flags=re.S)  # Discord's own code blocks
        assert not shown_markup.search(description), (question, description)
        for excerpt in json.loads(render_json(answer))["excerpts"]:
            source = (docs / excerpt["citation"]["path"]).read_text(encoding="utf-8")
            assert excerpt["text"] in source  # verbatim, markup and all
            assert not set(map(tuple, excerpt["markup"])) & set(map(tuple, excerpt["inline"]))
            hidden += [excerpt["text"][a:b] for a, b in excerpt["inline"]]
    assert any(h.startswith(":") and h.endswith("`") for h in hidden)  # a role was quoted, and hidden
    assert any(h.startswith("](http") for h in hidden)  # so was a link's address


# --------------------------------------------------------------------------- AsciiDoc

ASCIIDOC = EVAL_DATA / "asciidoc" / "CONTRIBUTING.adoc"  # Asciidoctor's own guide, MIT (licence beside it)


@pytest.mark.parametrize("source, shown", [
    ("We use the {uri-issues}[issue tracker on GitHub] for bugs.", "We use the issue tracker on GitHub for bugs."),
    ("See https://ruby-lang.org/en/[Ruby in 20 minutes] or https://x.org[].", "See Ruby in 20 minutes or https://x.org."),
    ("Add tests (See <<writing-and-executing-tests>>) and <<install,the install guide>>.",
     "Add tests (See writing-and-executing-tests) and the install guide."),
    ("Press kbd:[Ctrl+C], read link:docs/a.adoc[the docs] and xref:b.adoc#c[that part].",
     "Press Ctrl+C, read the docs and that part."),
    ("It is *very* _fast_, run `rake *_test.rb` and 2 * 3 * 4.", "It is very fast, run `rake *_test.rb` and 2 * 3 * 4."),
])
def test_asciidoc_inline_markup_is_not_shown(source, shown):
    assert _shown(source, "asciidoc") == shown


def test_an_asciidoc_page_reads_with_its_sections_code_and_no_markup_shown():
    assert markup_of("guide/CONTRIBUTING.adoc") == "asciidoc"
    text = ASCIIDOC.read_text(encoding="utf-8")
    assert markup_of("guide/contributing.txt", text) == "asciidoc"  # a .txt is read by what it holds
    doc = parse_document(ASCIIDOC.read_bytes(), "CONTRIBUTING.adoc", "CONTRIBUTING.adoc")
    assert doc.title == "Contributing"
    paths = {s.path for s in doc.sections}
    assert ("Submitting a Pull Request", "Writing and Executing Tests") in paths and ("License Agreement",) in paths
    hidden = [b for b in doc.blocks if b.kind in (MARKUP, INLINE)]

    def shown(a: int, b: int) -> str:
        pieces, at = [], a
        for block in hidden:
            if block.start < b and block.end > at:
                pieces.append(doc.text[at:max(at, block.start)])
                at = max(at, block.end)
        return "".join(pieces) + doc.text[at:b]

    units = [(kind, shown(a, b)) for s in doc.sections for a, b, kind in unit_spans(doc.text, s.start, s.end, doc.blocks)]
    prose = [text for kind, text in units if kind != CODE]
    code = [text for kind, text in units if kind == CODE]
    assert "We use the issue tracker on GitHub associated with this project to track bugs and features (i.e., issues)." \
        in prose
    assert "test 'description of test' do\n  # test logic\nend" in code  # a [source] ---- listing, whole
    assert "$ rake" in code  # an indented literal paragraph
    assert "Run `bundle` to install development dependencies." in [p.removeprefix(". ") for p in prose]
    leftover = re.compile(r"\{uri-[\w-]+\}|<<|>>|https?://\S+\[|^\[source\]|^----|^:uri-|^// |^ifdef::", re.M)
    assert not [p for p in prose if leftover.search(p)]
