"""The tree reads as the pipeline: imports only run down it; fitted numbers are data, checked by name;
the question is read once into one value."""

import ast
import json
from pathlib import Path

import numpy as np
import pytest

from bot.answering.highlight import FEATURES as SPAN_FEATURES, HIGHLIGHT_FILE, best_highlight, span_model
from bot.answering.linear import LinearModel, load_linear_model
from bot.answering.question import read_question
from bot.answering.ranking import FEATURES as RANKING_FEATURES, RANKING_FILE, ranking_model
from bot.cli import main
from index.errors import WeightsError

ROOT = Path(__file__).resolve().parents[1]


def _imports(folder: Path) -> dict[str, set[str]]:
    """Every module under folder -> the modules it imports (absolute names)."""
    found = {}
    for file in folder.rglob("*.py"):
        names = set()
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
        found[str(file.relative_to(ROOT))] = names
    return found


@pytest.mark.parametrize("folder, forbidden", [
    ("index", ("bot",)),
    ("bot/answering", ("bot.chat", "bot.discord", "bot.cli", "bot.render", "bot.service", "bot.config",
                       "bot.evaluate", "bot.watch", "discord")),
    ("bot/chat", ("bot.discord", "bot.cli", "discord")),
])
def test_no_import_runs_upward(folder, forbidden):
    for module, names in _imports(ROOT / folder).items():
        upward = sorted(n for n in names for f in forbidden if n == f or n.startswith(f + "."))
        assert not upward, f"{module} imports {upward}"


def test_types_are_values_that_import_nothing_of_the_product():
    names = _imports(ROOT / "bot")["bot/types.py"]
    assert not any(n.startswith(("bot", "index", "discord")) for n in names)


@pytest.mark.parametrize("file, features", [(RANKING_FILE, RANKING_FEATURES), (HIGHLIGHT_FILE, SPAN_FEATURES)])
def test_shipped_weights_name_exactly_the_code_features(file, features):
    model, _ = load_linear_model(file, features)
    assert set(model.features) == set(features) and len(model.weights) == len(features)


def test_a_weights_file_for_other_features_fails_in_one_line(tmp_path):
    data = json.loads(RANKING_FILE.read_text())
    data["weights"]["renamed_feature"] = data["weights"].pop("coverage")
    file = tmp_path / "ranking.json"
    file.write_text(json.dumps(data))
    with pytest.raises(WeightsError) as err:
        load_linear_model(file, RANKING_FEATURES)
    message = str(err.value)
    assert "\n" not in message and str(file) in message and "coverage" in message and "renamed_feature" in message
    file.write_text("{not json")
    with pytest.raises(WeightsError, match="not a weights file"):
        load_linear_model(file, RANKING_FEATURES)


def test_features_are_stacked_in_the_order_the_file_names_them(tmp_path):
    """A file listing the same weights in another order scores every span the same."""
    shipped = span_model()
    pairs = list(zip(shipped.features, shipped.weights))[::-1]
    reordered = LinearModel(tuple(w for _, w in pairs), shipped.bias, tuple(n for n, _ in pairs))
    question = read_question("When did the council open the library?")
    text = "The council built a library on the square. It opened on 4 May 1902 with 4,000 books."
    assert best_highlight(question, text, reordered) == best_highlight(question, text, shipped)
    # and a model whose weights are paired with the wrong names does not
    wrong = LinearModel(shipped.weights[::-1], shipped.bias, shipped.features)
    row = np.arange(1, len(SPAN_FEATURES) + 1, dtype=float)[None, :]  # distinct values: order matters
    scores = [m.scores(row) for m in (shipped, wrong)]
    assert scores[0] != scores[1]


def test_ranking_model_carries_its_calibrated_numbers():
    ranking = ranking_model()
    assert ranking.model.features and -1.0 < ranking.min_similarity < 1.0 and 0.0 < ranking.threshold < 1.0


def test_the_question_is_read_once_into_one_value():
    q = read_question("Which division fought at Izium?")
    assert q.kind == "name" and "divis" in q.focus and "izium" in q.terms and "division" in q.words
    assert read_question("when was Izium recaptured?").kind == "date"
    assert read_question("how many people live there?").kind == "quantity"
    assert read_question("how do I register a cog?").kind == "other"


def test_broken_weights_file_is_one_line_from_the_cli(tmp_path, monkeypatch, capsys):
    from bot.answering import ranking

    broken = tmp_path / "ranking.json"
    broken.write_text('{"weights": {"coverage": 1.0}, "bias": 0}')
    monkeypatch.setattr(ranking, "RANKING_FILE", broken)
    ranking.ranking_model.cache_clear()
    try:
        docs = tmp_path / "docs"
        docs.mkdir()
        (docs / "a.md").write_text("# Library\n\nThe library opened in 1902.\n")
        code = main(["ask", "--docs", str(docs), "--index-dir", str(tmp_path / "index"), "when did it open?"])
    finally:
        ranking.ranking_model.cache_clear()
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("citebot: error:")]
    assert code == 2 and "Traceback" not in err and len(errors) == 1 and "fitted to other features" in errors[0]
