from pathlib import Path

import pytest

from index.chunking import ChunkSettings, chunk_document, sentence_spans
from index.documents import load_document, parse_document
from index.errors import SkippedFile

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
WIKI = SEEDS / "000_75998707e5f25e0c.txt"
NEWS = SEEDS / "004_10a9bbe1ad5d6276.txt"


def wiki():
    return load_document(WIKI, "seeds/" + WIKI.name, WIKI.name, 10_000_000)


def test_front_matter_gives_title_author_and_fields_with_mojibake_repaired():
    doc = wiki()
    assert doc.title == "Battle of Izium (2022)"
    assert doc.author == "Wikipedia"
    fields = {f.name: f.value for f in doc.fields}
    assert fields["Result"] == "Russian victory"
    assert fields["Date"] == "3 March – 1 April 2022"
    assert "â€" not in "".join(f.text for f in doc.fields)
    assert fields["Combatant 1"].startswith("🇷🇺")
    assert all(not f.value.endswith(".jpg") for f in doc.fields)


def test_body_is_the_file_after_front_matter_and_headings_become_sections():
    doc = wiki()
    raw = WIKI.read_text(encoding="utf-8")
    assert raw.endswith(doc.text)
    assert not doc.text.lstrip().startswith("---")
    paths = [s.path for s in doc.sections]
    assert () in paths and ("The Battle",) in paths and ("Aftermath",) in paths
    # "## References" has nothing under it, so it is no section
    assert ("References",) not in paths


def test_plain_text_title_is_its_first_line():
    doc = load_document(NEWS, "seeds/" + NEWS.name, NEWS.name, 10_000_000)
    assert doc.title == "Ukraine Takes Back Control of Key City, Forcing Humiliating Russian Retreat"
    assert doc.author == ""
    assert doc.sections[0].path == ()


def test_title_falls_back_to_file_name_when_first_line_is_long():
    doc = parse_document(("word " * 100 + "\n").encode(), "d/x.txt", "x.txt")
    assert doc.title == "x.txt"


def test_nested_headings_make_a_path():
    doc = parse_document(b"# Guide\nintro.\n## Setup\nInstall it.\n### Linux\nUse apt.\n## Use\nRun it.\n", "p", "p.md")
    # The page-title heading is the document's title, not a section of it.
    assert doc.title == "Guide"
    assert [s.path for s in doc.sections] == [(), ("Setup",), ("Setup", "Linux"), ("Use",)]


@pytest.mark.parametrize("data, reason", [
    (b"", "empty file"),
    (b"   \n\n", "empty file"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "binary"),
    (b"caf\xe9 au lait", "not valid UTF-8"),
    (b"---\ntitle: [unclosed\n---\nbody", "front matter is not valid YAML"),
    (b"---\n- a\n- b\n---\nbody", "not a mapping"),
    (b"---\ntitle: x\nbody without end", "no closing"),
])
def test_bad_files_are_skipped_with_a_reason(data, reason):
    with pytest.raises(SkippedFile, match=reason):
        parse_document(data, "d/f", "f")


def test_image_only_lines_add_no_sentences():
    text = "Intro line here.\n![a picture](https://x.org/a_(1).jpg?)\n![b](b.png) ![c](c.png)\nAfter the images.\n"
    spans = sentence_spans(text, 0, len(text))
    assert [text[a:b] for a, b in spans] == ["Intro line here.", "After the images."]


def test_a_long_quotation_is_split_at_its_own_sentence_ends():
    # The segmenter never splits inside quotation marks, and an unclosed one runs on to the
    # paragraph's end: such a run is cut where its sentences end, not in mid-sentence.
    quoted = " ".join(f"Point {n} of the report covers the harbour, the mills and the bridge in detail." for n in range(9))
    text = f'The mayor said in 1901 that "{quoted}" Nobody answered. She called them `simples\u2019 then. ' + quoted
    spans = sentence_spans(text, 0, len(text))
    pieces = [text[a:b] for a, b in spans]
    assert all(0 < len(p) <= 600 and p == p.strip() for p in pieces)
    assert all(p.rstrip('"').endswith(".") for p in pieces)  # nothing cut between two words
    assert any(p.startswith("Point 8 of the report") for p in pieces)
    assert all(text[a:b] == p for (a, b), p in zip(spans, pieces))


def test_over_long_text_without_sentence_ends_is_cut_at_clause_breaks():
    text = "; ".join(f"item number {n}, with a note" for n in range(60))
    spans = sentence_spans(text, 0, len(text))
    assert len(spans) > 1 and all(b - a <= 600 for a, b in spans)
    assert all(text[b - 1] == ";" for _, b in spans[:-1])


def test_passages_keep_whole_sentences_with_exact_offsets(embedder):
    doc = wiki()
    settings = ChunkSettings(max_tokens=60, overlap_tokens=20)
    passages = chunk_document(doc, settings, embedder.count_tokens)
    text_passages = [p for p in passages if p.kind == "text"]
    assert len(text_passages) > 10
    for p in text_passages:
        assert doc.text[p.start:p.end] == p.text
        assert p.sentences[0][0] == p.start and p.sentences[-1][1] == p.end
        for a, b in p.sentences:
            sentence = doc.text[a:b]
            assert sentence == sentence.strip() and sentence
            assert "![" not in sentence
        tokens = embedder.count_tokens([doc.text[a:b] for a, b in p.sentences])
        assert sum(tokens) <= 60 or len(p.sentences) == 1
    # every sentence of the document is in some passage; short trailing ones are repeated
    everything = {s for section in doc.sections for s in sentence_spans(doc.text, section.start, section.end)}
    covered = [s for p in text_passages for s in p.sentences]
    assert set(covered) == everything
    assert len(covered) > len(everything)


def test_field_passages_are_short_facts():
    passages = chunk_document(wiki(), ChunkSettings(), lambda texts: [len(t.split()) for t in texts])
    fields = [p.text for p in passages if p.kind == "field"]
    assert "Result: Russian victory" in fields
