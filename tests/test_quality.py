"""Answer quality through the eval command: the dev set, a held-out XQuAD subset, abstention,
highlights and several sources. Thresholds sit a little under the measured figures
(docs/benchmarks.md) so a real regression fails, not noise."""

import json
from dataclasses import replace

import pytest

from bot.cli import main
from bot.evaluate import EvalQuestion, answer_found, eval_settings, load_eval_file, run_eval, wilson_interval
from bot.service import CitebotService
from bot.answering.spans import typed_spans
from tests.conftest import EVAL_DATA


@pytest.fixture(scope="module")
def xquad_subset(seeds_service, tmp_path_factory):
    eval_set = load_eval_file(str(EVAL_DATA / "xquad_subset.json"))
    settings = replace(seeds_service.settings, index_dir=str(tmp_path_factory.mktemp("xq")))
    return eval_set, CitebotService(eval_settings(settings, eval_set), seeds_service.embedder)


def test_eval_command_on_the_dev_set(seeds_service, capsys):
    s = seeds_service.settings
    code = main(["eval", str(EVAL_DATA / "izium_dev.yaml"), "--docs", s.docs[0], "--index-dir", s.index_dir, "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0
    assert result["hits@1"] >= 13 and result["hit@3"] == 1.0
    assert result["abstention_recall"] == 1.0 and result["wrongly_declined"] == 0.0
    assert result["mean_top_excerpt_chars"] <= 350


def test_eval_table_for_people(seeds_service, capsys):
    s = seeds_service.settings
    main(["eval", str(EVAL_DATA / "izium_dev.yaml"), "--docs", s.docs[0], "--index-dir", s.index_dir])
    out = capsys.readouterr().out
    assert "hit@1" in out and "abstention P / R" in out and "latency p50 / p95" in out
    assert "95% interval" in out


def test_hit_rate_interval_says_how_little_a_small_set_can_tell():
    low, high = wilson_interval(12, 14)
    assert (round(low, 3), round(high, 3)) == (0.601, 0.960)  # Wilson's interval, worked by hand
    assert wilson_interval(0, 0) == (0.0, 1.0)
    assert wilson_interval(14, 14)[1] == pytest.approx(1.0) and wilson_interval(0, 14)[0] == pytest.approx(0.0)
    narrow = wilson_interval(519, 578)
    assert narrow[0] < 519 / 578 < narrow[1] and narrow[1] - narrow[0] < 0.06


def test_held_out_xquad_subset(xquad_subset):
    eval_set, service = xquad_subset
    result = run_eval(service, eval_set)
    assert result["answerable"] == 154
    assert result["hit@1"] >= 0.86, result["failures"][:5]  # 0.890 measured; 0.851 with the reader off
    assert result["hit@3"] >= 0.93
    assert result["wrongly_declined"] <= 0.05
    assert result["highlight_f1"] >= 52  # 55.9 measured with the reader (40.6 with the span model alone)
    assert result["mean_top_excerpt_chars"] <= 280


def test_xquad_questions_are_declined_by_the_seeds_index(seeds_service):
    eval_set = load_eval_file(str(EVAL_DATA / "xquad_subset.json"))
    result = run_eval(seeds_service, eval_set, negative=True)
    # 0.94 measured on this subset of 154 with the selector (98% of all 578 held-out XQuAD
    # questions; 1.00 with the ranking alone, which declined on-topic questions the docs do not
    # answer far less often; docs/benchmarks.md)
    assert result["abstention_recall"] >= 0.92


def test_highlight_marks_a_whole_date_inside_the_top_excerpt(seeds_service):
    answer = seeds_service.ask("When did Russian rocket strikes on Izium start?")
    top = answer.excerpts[0]
    lo, hi = top.highlight
    assert 0 <= lo < hi <= len(top.text)
    assert (lo, hi) in typed_spans(top.text, "date")  # a whole date, not "28 February" of "28 February 2022"
    assert all(e.highlight is None for e in answer.excerpts[1:])
    assert answer.to_dict()["excerpts"][0]["highlight"] == [lo, hi]


def test_two_documents_that_both_answer_are_both_cited(make_service, tmp_path):
    service = make_service()
    docs = tmp_path / "docs"
    docs.mkdir(exist_ok=True)
    (docs / "gazette.md").write_text(
        "# Town gazette\nThe Kelso suspension bridge was opened to traffic on 4 May 1901. "
        "It replaced a ferry. The mayor gave a speech. Tolls were abolished in 1925.\n", encoding="utf-8")
    (docs / "letters.txt").write_text(
        "Letters of a river pilot\n\nI watched the Kelso suspension bridge open on 4 May 1901, a fine day. "
        "The river was high that spring.\n", encoding="utf-8")
    service.reindex()
    answer = service.ask("When was the Kelso suspension bridge opened?")
    cited = {e.citation.path for e in answer.excerpts}
    assert cited == {"gazette.md", "letters.txt"}
    assert all("4 May 1901" in e.text for e in answer.excerpts if e.citation.path in cited and "bridge" in e.text)


def test_an_answer_is_found_as_the_shared_sets_say_whitespace_folded_and_escapes_read():
    q = EvalQuestion("how do I run it on my lan?", ("--host=0.0.0.0", "bind *all* addresses"), "docs/quickstart.rst")
    assert answer_found("add ``--host=0.0.0.0`` to\n   the command line", "docs/quickstart.rst", q)
    assert answer_found(r"Bind \*all\*  addresses", "site/docs/quickstart.rst", q)  # escapes, spaces, a path suffix
    assert not answer_found("add --host=0.0.0.0 to the command line", "docs/other.rst", q)  # the wrong file
    assert not answer_found("bind all addresses", "docs/quickstart.rst", q)
