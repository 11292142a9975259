"""The answer selector (bot/answering/selector.py): shipped file, checked export, what it prefers,
how it is used (the CLI's answer to the headline question), and its fallbacks."""

import dataclasses
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bot.answering.compose import AnswerSettings, answer_question, as_read, distinct, ranked_candidates
from bot.answering.question import read_question
from bot.answering.selector import (AGREEMENT, INT8_AGREEMENT, SELECTOR_FILE, OnnxSelector, export, find_selector,
                                    load_exported, load_selector)
from bot.answering.reader import model_fingerprint
from bot.cli import main
from index.chunking import blanked
from index.embedding import resolve_model
from tests.conftest import WIKI_SEED

MODEL_DIR = Path(resolve_model("all-MiniLM-L6-v2"))


@pytest.fixture(scope="module")
def selector_folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("selector")


@pytest.fixture(scope="module")
def selector(embedder, selector_folder) -> OnnxSelector:
    found = find_selector(MODEL_DIR, lambda: embedder.model, selector_folder)
    assert found is not None
    return found


def test_the_shipped_selector_fits_the_bundled_model(embedder):
    adapter = load_selector()
    assert adapter is not None
    assert np.allclose(model_fingerprint(embedder.model[0].auto_model), adapter.base_fingerprint, rtol=1e-4, atol=1e-2)
    assert SELECTOR_FILE.stat().st_size < 8_000_000  # the top layers only, not a copy of the model (45 MB)
    assert 0.0 < adapter.threshold < 1.0 and adapter.pool >= 3


def test_the_export_is_checked_and_found_again_in_the_cache(selector, selector_folder):
    (record,) = selector_folder.glob("*-selector-*.json")
    checked = json.loads(record.read_text())
    assert checked["agrees"] and checked["max_difference"] <= AGREEMENT
    assert checked["max_difference_int8"] <= INT8_AGREEMENT and checked["same_order_int8"]
    again = find_selector(MODEL_DIR, lambda: pytest.fail("the cached export should be used"), selector_folder)
    assert isinstance(again, OnnxSelector)
    try:
        record.write_text(json.dumps({**checked, "agrees": False}))
        assert load_exported(MODEL_DIR, load_selector(), selector_folder) is None  # not agreed: not used
        record.write_text(json.dumps({**checked, "file": [0, 0]}))
        assert load_exported(MODEL_DIR, load_selector(), selector_folder) is None  # not the file that was checked
    finally:
        record.write_text(json.dumps(checked))
    assert isinstance(load_exported(MODEL_DIR, load_selector(), selector_folder), OnnxSelector)


@pytest.mark.parametrize("question, answers, misses", [
    ("when did the library open?",
     "The new library on the market square opened to readers in 1902, with 4,000 books.",
     "The library's reading room is lit by six tall windows facing the square."),
    ("how do I stop the worker from restarting after a crash?",
     "To keep a crashed worker down, set restart to false in the worker's section of the configuration.",
     "Workers are started by the supervisor when the service starts and report to it every minute."),
])
def test_the_sentence_that_answers_is_preferred_to_one_on_the_same_subject(selector, question, answers, misses):
    probabilities = selector.probabilities(question, [("Guide", misses), ("Guide", answers)], [0.5, 0.5])
    assert probabilities[1] > probabilities[0], probabilities


def test_scores_do_not_depend_on_the_other_candidates_in_the_batch(selector):
    alone = selector.scores("when did the library open?", [("Town", "The library opened in 1902.")])
    together = selector.scores("when did the library open?", [("Town", "The library opened in 1902."),
                                                               ("Town", "A much longer sentence about the town " * 6)])
    assert abs(alone[0] - together[0]) < 1e-3


def test_an_adapter_for_another_model_is_not_used(embedder, tmp_path):
    adapter = dataclasses.replace(load_selector(), base_fingerprint=(0.0, 0.0, 0.0))
    assert export(embedder.model, MODEL_DIR, adapter, tmp_path) is None
    assert not list(tmp_path.glob("*.onnx"))


def test_a_missing_or_broken_file_leaves_the_ranking(tmp_path):
    assert load_selector(tmp_path / "missing.safetensors") is None
    (tmp_path / "broken.safetensors").write_bytes(b"not a safetensors file")
    assert load_selector(tmp_path / "broken.safetensors") is None


@pytest.mark.xfail(strict=True, reason="not yet: the selector prefers the 10 September sentence (4.95 against 4.46) "
                   "but the ranking's log-odds for the 15-16 March one are 1.7 higher; it comes second (issue 29)")
def test_the_headline_question_through_the_cli_quotes_the_date_first(seeds_service, capsys):
    code = main(["ask", "--docs", seeds_service.settings.docs[0], "--index-dir", seeds_service.settings.index_dir,
                 "--json", "when was Izium recaptured?"])
    answer = json.loads(capsys.readouterr().out)
    assert code == 0 and answer["answered"]
    first = answer["excerpts"][0]
    assert "10 September 2022" in first["text"], [e["text"][:80] for e in answer["excerpts"]]
    assert first["citation"]["path"] == WIKI_SEED


def test_the_selector_reads_what_the_excerpt_shows_and_orders_distinct_candidates(discordpy_service):
    question = read_question("how do I make subcommands like git push?")
    result = discordpy_service.searcher.search(question.text, k=16)
    pool = distinct(ranked_candidates(question, result.hits, AnswerSettings(), result.term_weights), 8)
    assert len(pool) == 8
    for cand in pool:
        context, text = as_read(cand)
        assert context.startswith(cand.hit.document.title)
        assert ":meth:`" not in text and "``" not in text and "\n" not in text  # markup hidden, as shown
    settings = discordpy_service.answer_settings
    assert settings.selector is not None
    answer = answer_question(question, result.hits, replace(settings, k=6), term_weights=result.term_weights)
    shown = {" ".join(blanked(e.text, e.markup + e.inline).split()) for e in answer.excerpts}
    assert shown <= {as_read(c)[1] for c in pool}  # what the selector read is what the excerpt shows
    # The first quote and its order come from the selector's own pool, whatever k asks for.
    three = answer_question(question, result.hits, replace(settings, k=3), term_weights=result.term_weights)
    assert [e.text for e in three.excerpts] == [e.text for e in answer.excerpts[:3]]
    read = settings.selector.probabilities(question.text, [as_read(c) for c in pool[:3]], [c.score for c in pool[:3]])
    assert three.excerpts[0].score == pytest.approx(max(read))


def test_an_unrelated_question_is_declined_by_the_selector(seeds_service):
    selector = seeds_service.selector()
    question = read_question("what is the best pizza topping in Naples?")
    result = seeds_service.searcher.search(question.text, k=selector.searched)
    pool = distinct(ranked_candidates(question, result.hits, AnswerSettings(), result.term_weights), selector.pool)
    assert pool  # there were candidates: the selector, not an empty search, declines
    likely = selector.probabilities(question.text, [as_read(c) for c in pool], [c.score for c in pool])
    assert max(likely) < selector.threshold
    answer = seeds_service.ask(question.text)
    assert not answer.answered and not answer.excerpts


def test_the_trained_models_can_be_switched_off(make_service, tmp_path):
    service = make_service(reader=False)
    (tmp_path / "docs" / "port.md").write_text("The harbour office opens at 07:30 and closes at noon.\n")
    service.reindex()
    assert service.selector() is None and service.answer_settings.selector is None
    assert service.ask("when does the harbour office open?").answered
