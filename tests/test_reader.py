"""The trained reader (bot/answering/reader.py): shipped adapter, checked export, per-word scores, fallbacks."""

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from bot.answering.question import read_question
from bot.answering.compose import AnswerSettings, answer_question
from bot.answering.highlight import READER_FEATURES, _tokens, best_highlight
from bot.answering.reader import (ADAPTER_FILE, AGREEMENT, LONGEST_SPAN, NO_PIECE, OnnxReader, Reranking, answerability, export,
                        find_reader, load_adapter, model_fingerprint)
from index.embedding import resolve_model

MODEL_DIR = Path(resolve_model("all-MiniLM-L6-v2"))


@pytest.fixture(scope="module")
def reader_folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("reader")


@pytest.fixture(scope="module")
def reader(embedder, reader_folder) -> OnnxReader:
    found = find_reader(MODEL_DIR, lambda: embedder.model, reader_folder)
    assert found is not None
    return found


def test_the_shipped_adapter_fits_the_bundled_model_and_the_span_features(embedder):
    adapter = load_adapter()
    assert adapter is not None and adapter.span_features == READER_FEATURES
    assert len(adapter.span_model.weights) == len(READER_FEATURES)
    assert np.allclose(model_fingerprint(embedder.model[0].auto_model), adapter.base_fingerprint, rtol=1e-4, atol=1e-2)
    assert ADAPTER_FILE.stat().st_size < 2_000_000  # low-rank changes only, not a copy of the model


def test_the_export_is_checked_and_found_again_in_the_cache(reader, reader_folder):
    (record,) = reader_folder.glob("*-reader-*.json")
    checked = json.loads(record.read_text())
    assert checked["agrees"] and checked["max_difference"] <= AGREEMENT
    again = find_reader(MODEL_DIR, lambda: pytest.fail("the cached export should be used"), reader_folder)
    assert isinstance(again, OnnxReader)
    record.write_text(json.dumps({**checked, "agrees": False}))
    assert find_reader(MODEL_DIR, lambda: None, reader_folder) is None  # unchecked: exported again, here impossible
    record.write_text(json.dumps(checked))


def test_word_scores_are_log_probabilities_over_the_excerpt_words(reader):
    text = "The town council built a new library on the market square, which opened in 1902 with 4,000 books."
    words = _tokens(text)
    starts, ends = reader.word_log_probabilities("When did the library open?", text, words.start, words.end)
    assert starts.shape == ends.shape == (len(words.start),)
    assert np.isclose(np.logaddexp.reduce(starts), 0.0) and np.isclose(np.logaddexp.reduce(ends), 0.0)
    assert text[words.start[int(np.argmax(starts))]:words.end[int(np.argmax(ends))]] == "1902"


def test_words_cut_off_by_the_token_limit_get_no_chance(reader):
    text = " ".join(["The harbour was busy that year."] * 60) + " The bridge opened in 1889."
    words = _tokens(text)
    starts, _ = reader.word_log_probabilities("When did the bridge open?", text, words.start, words.end)
    assert starts[-1] < NO_PIECE / 2  # beyond the reader's 256 tokens


@pytest.mark.parametrize(("question", "text", "expected"), [
    ("Who designed the bridge?", "The bridge over the river was designed by Gustave Eiffel and opened in 1889.",
     "Gustave Eiffel"),
    ("How many books did the library hold?", "When it opened, the library held 4,000 books and two maps.",
     "4,000"),
    ("What did the farmers grow?", "In the valley the farmers grew barley and rye, and kept sheep on the hills.",
     "barley and rye"),
])
def test_the_highlight_with_the_reader_marks_the_answer(reader, question, text, expected):
    start, end = best_highlight(read_question(question), text, reader=reader)
    assert text[start:end] == expected


def test_an_adapter_for_another_model_is_not_used(embedder, tmp_path):
    adapter = dataclasses.replace(load_adapter(), base_fingerprint=(1.0, 2.0, 3.0))
    assert export(embedder.model, MODEL_DIR, adapter, tmp_path) is None
    assert not list(tmp_path.glob("*.onnx"))


def test_a_missing_adapter_leaves_the_span_model(tmp_path):
    assert load_adapter(tmp_path / "missing.safetensors") is None
    (tmp_path / "broken.safetensors").write_bytes(b"not a tensor file")
    assert load_adapter(tmp_path / "broken.safetensors") is None


def test_answers_with_and_without_the_reader_quote_the_same_excerpts(seeds_service):
    question = "How many civilians were killed on 3 March?"
    hits = seeds_service.searcher.search(question, k=9).hits
    with_reader = answer_question(read_question(question), hits,
                                  dataclasses.replace(seeds_service.answer_settings, selector=None))
    without = answer_question(read_question(question), hits, AnswerSettings())
    assert seeds_service.reader() is not None
    assert with_reader.answered == without.answered
    assert sorted(e.text for e in with_reader.excerpts) == sorted(e.text for e in without.excerpts)
    assert [e.citation.n for e in with_reader.excerpts] == list(range(1, len(with_reader.excerpts) + 1))
    top = with_reader.excerpts[0]
    assert top.highlight is not None and "eight" in top.text[top.highlight[0]:top.highlight[1]].lower()


def test_answerability_is_the_best_short_span_against_no_answer():
    in_text = np.array([False, False, True, True, True, False])  # [CLS], a question piece, 3 excerpt pieces, [SEP]
    starts = np.array([1.0, 9.0, 0.0, 0.0, 5.0, 9.0])
    ends = np.array([1.0, 9.0, 4.0, 0.0, 0.0, 9.0])
    # spans start at or before their end (5 + 4 would end before it starts); [CLS] scores 1 + 1
    assert answerability(starts, ends, in_text) == pytest.approx(5.0 + 0.0 - 2.0)
    long_text = np.array([False, *([True] * (LONGEST_SPAN + 5))])
    far = np.zeros(len(long_text))
    far_ends = far.copy()
    far[1], far_ends[-1] = 10.0, 10.0  # a span longer than LONGEST_SPAN pieces is not an answer
    assert answerability(far, far_ends, long_text) == pytest.approx(10.0)


def test_the_reader_tells_an_excerpt_that_answers_from_one_that_does_not(reader):
    question = "When did the library open?"
    answers = reader.answers_here(question, "The town council built a new library, which opened in 1902.")
    silent = reader.answers_here(question, "The river floods the lower meadows every spring.")
    assert answers > silent + 5
    assert load_adapter().reranking is not None and load_adapter().reranking.weight > 0


@dataclass
class ScriptedReader:
    """The real reader's word scores, with answerability scripted per excerpt and every read recorded."""

    real: OnnxReader
    reranking: Reranking
    says: dict[str, float]
    read: list[str] = field(default_factory=list)

    @property
    def span_model(self):
        return self.real.span_model

    def word_log_probabilities(self, question, text, word_starts, word_ends):
        return self.real.word_log_probabilities(question, text, word_starts, word_ends)

    def answers_here(self, question, text):
        self.read.append(text)
        return self.says.get(text, 0.0)


def test_reranking_moves_the_excerpt_the_reader_prefers_first_and_reads_only_what_could_win(seeds_service, reader):
    question = "When did Russian rocket strikes on Izium start?"
    hits = seeds_service.searcher.search(question, k=9).hits
    plain = answer_question(read_question(question), hits, AnswerSettings()).excerpts
    assert len(plain) == 3
    third = plain[2].text
    strong = ScriptedReader(reader, Reranking(weight=1.0, cap=50.0), {third: 50.0})
    reordered = answer_question(read_question(question), hits, AnswerSettings(reader=strong)).excerpts
    assert [e.text for e in reordered] == [third, plain[0].text, plain[1].text]
    assert strong.read == [e.text for e in plain]
    assert reordered[0].highlight is not None and reordered[1].highlight is None

    capped = ScriptedReader(reader, Reranking(weight=1.0, cap=0.0), {third: 50.0})
    assert [e.text for e in answer_question(read_question(question), hits, AnswerSettings(reader=capped)).excerpts] == \
        [e.text for e in plain]
    assert capped.read == [plain[0].text]  # with no more than 0 to gain, lower-ranked excerpts cannot win


def test_the_reader_can_be_switched_off(make_service):
    assert make_service(reader=False).reader() is None
