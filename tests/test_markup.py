"""Structure in light markup (index/markup.py): headings, code blocks quoted whole, markup kept
out of quotes; the answering units built on it (bot/answering/compose.py); context in the index."""

from pathlib import Path

import pytest

from bot.answering.compose import answering_units
from bot.answering.question import read_question
from index.chunking import TEXT, ChunkSettings, chunk_document, context_line, unit_spans
from index.documents import parse_document
from index.markup import CODE, ITEM, MARKUP, breaks_flow
from tests.conftest import EVAL_DATA

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
    for name in ("hostile.rst", "hostile.md"):
        doc = parse_document(text.encode(), name, name)
        units = sum(len(unit_spans(doc.text, s.start, s.end, doc.blocks)) for s in doc.sections)
        assert len(doc.sections) >= 4000 and units >= 4000
        assert all(doc.text[b.start:b.end] for b in doc.blocks)
