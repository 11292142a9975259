"""The sentence-ranking features, computed for all candidates at once (bot/answering/compose.py), against
their plain definitions computed one candidate at a time, on real searches of the seeds."""

import math

import pytest
import yaml

from bot.answering.question import read_question
from bot.answering.compose import candidate_features
from bot.answering.ranking import FEATURES
from index.chunking import Passage
from index.search import Hit
from index.generation import DocumentInfo
from index.terms import terms, words
from tests.conftest import EVAL_DATA


def _coverage(wanted: dict[str, float], present: set[str]) -> float:
    total = sum(wanted.values())
    return sum(w for t, w in wanted.items() if t in present) / total if total else 0.0


def _pairs(items) -> set:
    return set(zip(items, items[1:]))


def _definitions(question, cand, weights) -> dict[str, float]:
    p = cand.hit.passage
    if p.kind == "text":
        texts = [p.text[a - p.start:b - p.start] for a, b in p.sentences]
        quoted = p.text[p.sentences[cand.first][0] - p.start:p.sentences[cand.last][1] - p.start]
    else:
        texts, quoted = [p.text], p.text
    quoted_terms = [t for text in texts[cand.first:cand.last + 1] for t in terms(text)]
    wanted = {t: weights.get(t, 1.0) for t in terms(question)}
    title = cand.hit.document.title
    asked_pairs, asked_words = _pairs(terms(question)), words(question)
    return {
        "coverage": _coverage(wanted, set(quoted_terms) | set(terms(title))),
        "prev_coverage": _coverage(wanted, set(terms(texts[cand.first - 1]))) if cand.first > 0 else 0.0,
        "next_coverage": _coverage(wanted, set(terms(texts[cand.last + 1]))) if cand.last + 1 < len(texts) else 0.0,
        "novelty": sum(t not in wanted for t in quoted_terms) / len(quoted_terms) if quoted_terms else 0.0,
        "length": math.log1p(len(quoted)),
        "phrase": len(asked_pairs & _pairs(quoted_terms)) / len(asked_pairs) if asked_pairs else 0.0,
        "exact": len(asked_words & (words(quoted) | words(title))) / len(asked_words) if asked_words else 0.0,
        "passage_cos": cand.hit.dense,
    }


def test_features_match_their_definitions_on_every_candidate(seeds_service):
    questions = [q["question"] for q in yaml.safe_load((EVAL_DATA / "izium_dev.yaml").read_text())["questions"]]
    checked = pairs = fields = 0
    for question in questions:
        result = seeds_service.searcher.search(question, k=9)
        found, matrix = candidate_features(read_question(question), result.hits, result.term_weights)
        assert matrix.shape == (len(found), len(FEATURES))
        for cand, row in zip(found, matrix):
            for name, expected in _definitions(question, cand, result.term_weights).items():
                assert row[FEATURES.index(name)] == pytest.approx(expected, abs=1e-9), (question, name, cand)
            sentence_cos = row[FEATURES.index("sentence_cos")]
            scores = cand.hit.sentence_scores[cand.first:cand.last + 1] or (cand.hit.dense,)
            assert min(scores) - 1e-9 <= sentence_cos <= max(scores) + 1e-9
            checked += 1
            pairs += cand.last > cand.first
            fields += cand.hit.passage.kind != "text"
        gaps = matrix[:, FEATURES.index("coverage_gap")]
        assert gaps.max() == 0.0 and (gaps <= 0).all()
    assert checked > 500 and pairs > 50 and fields > 0  # the runs and fields were all exercised


def test_word_pair_across_a_sentence_boundary_counts_for_the_pair_only():
    text = "Ships sailed into the harbour. Trade grew fast that year."
    sentences = ((0, 30), (31, len(text)))
    passage = Passage("port.md", ("Port",), "text", text, 0, len(text), sentences)
    document = DocumentInfo("docs/port.md", "port.md", "Port", "", "0" * 64, 1, 0.0)
    hit = Hit(passage, document, score=1.0, dense=0.5, lexical=1.0, sentence_scores=(0.5, 0.4))
    found, matrix = candidate_features(read_question("harbour trade growth"), [hit], {})
    phrase = {(c.first, c.last): row[FEATURES.index("phrase")] for c, row in zip(found, matrix)}
    # the question's pairs are (harbour, trade) and (trade, growth): the first spans the boundary
    assert phrase == {(0, 0): 0.0, (0, 1): 0.5, (1, 1): 0.0}


def test_a_question_of_stop_words_only_gets_features_not_an_error():
    text = "Ships sailed into the harbour. Trade grew fast that year."
    passage = Passage("port.md", ("Port",), "text", text, 0, len(text), ((0, 30), (31, len(text))))
    document = DocumentInfo("docs/port.md", "port.md", "Port", "", "0" * 64, 1, 0.0)
    hit = Hit(passage, document, score=1.0, dense=0.5, lexical=0.0, sentence_scores=(0.5, 0.4))
    found, matrix = candidate_features(read_question("Who?"), [hit], {})
    assert len(found) == 3 and matrix.shape == (3, len(FEATURES))
    assert (matrix[:, FEATURES.index("coverage")] == 0).all() and (matrix[:, FEATURES.index("phrase")] == 0).all()
    assert candidate_features(read_question("Who?"), [], {})[1].shape == (0, len(FEATURES))
