"""Part-of-speech tags for the words the highlight scores: aligned word for word, and loaded
without TextBlob's package start-up (nltk, scipy)."""

import subprocess
import sys

from bot.answering.tagging import TAG_CLASSES, tag_words


def classes(tags):
    return [TAG_CLASSES[c] for c in tags.tag_class]


def test_each_word_gets_its_tag_and_noun_phrase():
    words = "The bridge was designed by Thomas Telford in 1826".split()
    tags = tag_words(words, [""] * len(words))
    assert classes(tags) == ["DT", "NN", "VB", "VB", "IN", "NNP", "NNP", "IN", "CD"]
    noun_phrases = {}
    for word, chunk, is_np in zip(words, tags.chunk.tolist(), tags.noun_phrase.tolist()):
        if is_np:
            noun_phrases.setdefault(chunk, []).append(word)
    assert [" ".join(p) for p in noun_phrases.values()] == ["The bridge", "Thomas Telford"]


def test_punctuation_between_words_ends_a_phrase_and_is_not_tagged_as_a_word():
    words = ["Paris", "London", "and", "Rome"]
    tags = tag_words(words, ["", ",", "", ""])
    assert len(tags.tag_class) == 4
    assert tags.chunk[0] != tags.chunk[1]  # the comma splits "Paris, London"


def test_no_words_no_tags():
    assert len(tag_words([], []).tag_class) == 0


def test_tagging_does_not_start_textblobs_package():
    code = ("import sys; from bot.answering.tagging import tag_words; tag_words(['a', 'test'], ['', '']); "
            "print(sorted(m for m in ('nltk', 'scipy', 'textblob') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_answers_in_parallel_threads_load_the_tagger_once():
    code = """
import threading
from bot.answering import tagging
words = "Ukrainian forces recaptured the glorbified town".split()
results = []
threads = [threading.Thread(target=lambda: results.append(tagging.tag_words(words, [''] * 6).tag_class.tolist()))
           for _ in range(8)]
[t.start() for t in threads]
[t.join() for t in threads]
lexicon = tagging._english_parser().lexicon
print(len({str(r) for r in results}), len(results), len(lexicon.morphology), len(lexicon.context), len(lexicon.entities))
"""
    parallel = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    single = subprocess.run([sys.executable, "-c", code.replace("range(8)", "range(1)")],
                            capture_output=True, text=True, check=True).stdout.split()
    assert parallel[:2] == ["1", "8"]  # every thread got the same tags
    assert parallel[2:] == single[2:]  # each rule list loaded once, not once per thread
