"""The answer span inside an excerpt: always inside the text, a whole phrase, of the asked-for kind."""

import pytest

from bot.answering.question import read_question
from bot.answering.highlight import _tokens, best_highlight, span_candidates
from bot.answering.spans import typed_spans
from index.chunking import sentence_spans
from index.documents import FIELD_SEPARATOR


def test_chunks_are_the_word_runs_between_function_words_verbs_and_punctuation():
    text = "Marlee Matlin provided American Sign Language (ASL) for the anthem."
    tokens = _tokens(text)
    words = text.replace("(", "").replace(")", "").rstrip(".").split()
    chunks = {}
    for word, number in zip(words, tokens.chunk.tolist()):
        if number >= 0:
            chunks.setdefault(number, []).append(word)
    assert [" ".join(c) for c in chunks.values()] == ["Marlee Matlin", "American Sign Language", "ASL", "anthem"]
    assert tokens.chunk_first.tolist()[3:6] == [3, 3, 3] and tokens.chunk_last.tolist()[3:6] == [5, 5, 5]


@pytest.mark.parametrize(("question", "text", "expected"), [
    ("Who designed the bridge?", "The bridge was designed by Thomas Telford and opened in 1826.", "Thomas Telford"),
    ("When did the bridge open?", "The bridge was designed by Thomas Telford and opened on 4 May 1826.", "4 May 1826"),
])
def test_the_span_is_the_whole_phrase_that_answers(question, text, expected):
    start, end = best_highlight(read_question(question), text)
    assert text[start:end] == expected


def test_no_candidate_run_crosses_a_sentence_end():
    text = "The unit was led by Colonel Anton Weber. Eventually it withdrew to Kelso."
    runs = [text[c.start:c.end] for c in span_candidates(read_question("Who led the unit?"), text)]
    assert "Anton Weber" in runs and "Eventually" in runs
    assert not [r for r in runs if "." in r]


def test_a_span_stays_inside_one_sentence_of_a_two_sentence_excerpt():
    text = "Among the dead was the commander of the bridge unit, Colonel Anton Weber. Eventually the unit withdrew."
    parts = sentence_spans(text, 0, len(text))
    assert len(parts) == 2
    start, end = best_highlight(read_question("Which colonel died?"), text, parts=parts)
    assert text[start:end] == "Anton Weber"  # not "Anton Weber. Eventually"


@pytest.mark.parametrize(("field", "question", "expected"), [
    ("Location: Kelso harbour", "Where was it?", "Kelso harbour"),
    ("Place of birth: Kelso", "Where was she born?", "Kelso"),
    ("Result: decisive victory", "How did it end?", "decisive victory"),
])
def test_a_field_marks_its_value_not_its_name(field, question, expected):
    value = field.index(FIELD_SEPARATOR) + len(FIELD_SEPARATOR)
    start, end = best_highlight(read_question(question), field, parts=[(value, len(field))])
    assert field[start:end] == expected


def test_the_top_field_excerpt_of_an_answer_marks_the_value(seeds_service):
    answer = seeds_service.ask("What was the result of the battle?")
    top = answer.excerpts[0]
    assert top.kind == "field"
    start, end = top.highlight
    assert start >= top.text.index(FIELD_SEPARATOR) + len(FIELD_SEPARATOR)


@pytest.mark.parametrize(("text", "dates"), [
    ("In 1936 the army moved back, until 1950.", ["1936", "1950"]),  # the preposition is not the date
    ("She was born in May 1901 in Kelso.", ["May 1901"]),  # not "May 19"
    ("On September 10, 2022 and on 7 January 1943.", ["September 10, 2022", "7 January 1943"]),
])
def test_dates_are_found_whole_and_without_their_preposition(text, dates):
    assert [text[a:b] for a, b in typed_spans(text, "date")] == dates


def test_a_year_asked_for_is_highlighted_without_its_preposition():
    text = "The German army reoccupied the Rhineland in 1936, in breach of the treaty."
    start, end = best_highlight(read_question("When did the German army reoccupy the Rhineland?"), text)
    assert text[start:end] == "1936"
