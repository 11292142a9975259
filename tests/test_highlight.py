"""The answer span inside an excerpt: always inside the text, a whole phrase, of the asked-for kind."""

import pytest

from bot.highlight import _tokens, best_highlight


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
    ("What language did Marlee Matlin use?",
     "Marlee Matlin signed the anthem in American Sign Language at the game.", "American Sign Language"),
    ("Who designed the bridge?", "The bridge was designed by Thomas Telford and opened in 1826.", "Thomas Telford"),
    ("When did the bridge open?", "The bridge was designed by Thomas Telford and opened on 4 May 1826.", "4 May 1826"),
])
def test_the_span_is_the_whole_phrase_that_answers(question, text, expected):
    start, end = best_highlight(question, text)
    assert text[start:end] == expected
