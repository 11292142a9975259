"""Fit the sentence-ranking weights (bot/answering/ranking.py) and the abstention threshold.

Training data is the TUNING split only: XQuAD articles with an even index (questions asked of
the XQuAD index) and, as negatives, the same questions asked of the seeds index, where
nothing answers them; and the `tune` half of tests/data/chat_questions.yaml, chat-style
questions on two documentation corpora, asked of their own corpus (the other corpus and the
unanswerable ones as negatives). The seed dev set, the discord.py dev set, the odd XQuAD
articles and the `held_out` chat questions are held out; bench/quality.py reports on them.

    pip install -e '.[tune]'   (scikit-learn, for the fit only)
    python bench/tune.py      (writes bot/data/ranking.json: weights, similarity floor, threshold)
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from bot.answering.question import read_question  # noqa: E402
from bot.answering.compose import AnswerSettings, answer_question, candidate_features, score_candidates  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.evaluate import eval_settings, first_hit_rank, load_eval_file  # noqa: E402
from bot.answering.linear import LinearModel, save_linear_model  # noqa: E402
from bot.answering.ranking import FEATURES, RANKING_FILE  # noqa: E402
from bot.answering.reader import log_odds  # noqa: E402
from bot.service import CitebotService  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "eval"
TEST_DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
CHAT_QUESTIONS = TEST_DATA / "chat_questions.yaml"
DOCS = {"discordpy": TEST_DATA / "discordpy_docs", "black": TEST_DATA / "black_docs"}
DOCS_WEIGHT = 4.0  # a documentation question weighs as much as this many XQuAD questions (34 against 591)
NEGATIVE_DECLINE = 0.97  # share of tuning negatives the threshold must decline
FLOOR_PERCENTILE = 0.5  # the similarity floor keeps all but this percentage of right top answers
MAX_MEAN_CHARS = 320  # mean top-excerpt length to stay within (the product's aim is at most 350)


def xquad_split(questions, even: bool):
    return [q for q in questions if (int(q.source[:3]) % 2 == 0) == even]


def searched(service, questions, weight: float = 1.0):
    return [(q, service.searcher.search(q.question, k=9), weight) for q in questions]


def holds_answer(cand, q) -> bool:
    p = cand.hit.passage
    text = p.text if cand.span is None else p.text[cand.span[0] - p.start:cand.span[1] - p.start]
    path = cand.hit.document.relpath
    cited = not q.source or path == q.source or path.endswith("/" + q.source)
    return cited and any(a.lower() in text.lower() for a in q.answers)


def docs_services(base, embedder):
    """The documentation corpora of the tuning questions, each with its own index."""
    services = {}
    for corpus, folder in DOCS.items():
        service = CitebotService(replace(base, docs=(str(folder),), index_dir=str(Path(base.index_dir) / "tune" / corpus)),
                                 embedder=embedder)
        service.ensure_index()
        services[corpus] = service
    return services


def main() -> None:
    base = load_settings()
    seeds = CitebotService(base)
    seeds.ensure_index()
    xquad = load_eval_file(str(SHARED / "xquad" / "xquad.en.json"))
    xq = CitebotService(eval_settings(base, xquad), embedder=seeds.embedder)
    xq.ensure_index()
    tune = xquad_split(xquad.questions, even=True)
    positives = searched(xq, tune)
    negatives = searched(seeds, tune)
    # Questions like users': the tuning split of the chat-style questions on two documentation
    # corpora, asked of their own corpus (and, as negatives, of the other one).
    docs = docs_services(base, seeds.embedder)
    chat = load_eval_file(str(CHAT_QUESTIONS), {"split": "tune"})
    for corpus, service in docs.items():
        mine = [q for q in chat.questions if dict(q.tags)["corpus"] == corpus]
        positives += searched(service, [q for q in mine if q.answerable], DOCS_WEIGHT)
        negatives += searched(service, [q for q in mine if not q.answerable], DOCS_WEIGHT)
        others = [q for q in chat.questions if dict(q.tags)["corpus"] != corpus and q.answerable]
        negatives += searched(service, others, DOCS_WEIGHT)

    rows, labels, weights = [], [], []
    for q, r, weight in positives:
        found, matrix = candidate_features(read_question(q.question), r.hits, r.term_weights)
        for cand, vector in zip(found, matrix):
            rows.append(vector)
            labels.append(int(holds_answer(cand, q)))
            weights.append(weight)
    for q, r, weight in negatives:
        _, matrix = candidate_features(read_question(q.question), r.hits, r.term_weights)
        rows.extend(matrix)
        labels.extend([0] * len(matrix))
        weights.extend([weight] * len(matrix))
    fit = LogisticRegression(C=1.0, max_iter=5000).fit(np.array(rows), np.array(labels), sample_weight=np.array(weights))
    model = LinearModel(tuple(round(float(w), 3) for w in fit.coef_[0]), round(float(fit.intercept_[0]), 3), FEATURES)

    # The fit alone quotes two sentences too often for a short answer; a penalty on "pair" is
    # raised until the mean top excerpt is within MAX_MEAN_CHARS on the tuning split.
    pair = FEATURES.index("pair")
    for penalty in np.arange(0.0, 6.01, 0.25):
        weights = list(model.weights)
        weights[pair] = round(float(weights[pair] - penalty), 3)
        candidate = LinearModel(tuple(weights), model.bias, FEATURES)
        threshold, hit1, docs_hit1, declined, length = evaluate(candidate, positives, negatives)
        print(f"pair penalty {penalty:4.2f}: hit@1 XQuAD {hit1:.3f}, docs {docs_hit1:.3f}, wrongly declined "
              f"{declined:.3f}, mean top excerpt {length:.0f} chars, threshold {threshold}")
        if length <= MAX_MEAN_CHARS:
            break
    # The similarity floor: the lowest sentence cosine still among 99% of right top answers.
    settings = AnswerSettings(k=1, threshold=0.0, min_similarity=-1.0, model=candidate)
    right = []
    for q, r, _ in positives:
        answer = answer_question(read_question(q.question), r.hits, settings, r.generation, r.term_weights)
        if first_hit_rank(answer, q) == 1:
            top = max(score_candidates(read_question(q.question), r.hits, candidate, r.term_weights), key=lambda c: c.score)
            right.append(max(top.hit.sentence_scores[top.first:top.last + 1] or (top.hit.dense,)))
    floor = round(float(np.percentile(right, FLOOR_PERCENTILE)), 3)
    print(f"min_similarity = {floor}  ({100 - FLOOR_PERCENTILE}% of right top answers have a sentence cosine at least this)")
    fitted = {"min_similarity": floor, "threshold": threshold}
    reader = seeds.reader()
    if reader is not None and reader.reranking is not None:
        fitted["reader_weight"] = fit_reader_weight(candidate, floor, threshold, positives, reader)
    save_linear_model(RANKING_FILE, candidate, about="Which sentence answers: logistic regression fitted by "
                      "bench/tune.py on the tuning splits (even XQuAD articles; the tune split of "
                      "tests/data/chat_questions.yaml); see docs/benchmarks.md.", **fitted)
    print(f"wrote {RANKING_FILE}")
    print(f"threshold = {threshold}  (declines {NEGATIVE_DECLINE:.0%} of the tuning negatives)")


def fit_reader_weight(model, floor, threshold, positives, reader) -> float:
    """The weight of the reader's answerability against this model's log-odds when it re-orders
    the top three excerpts, chosen for the best weighted hit@1 on the tuning questions."""
    settings = AnswerSettings(k=3, threshold=threshold, min_similarity=floor, model=model)
    read = []
    for q, r, weight in positives:
        answer = answer_question(read_question(q.question), r.hits, settings, r.generation, r.term_weights)
        if not answer.excerpts:
            continue
        right = [first_hit_rank(replace(answer, excerpts=(e,)), q) == 1 for e in answer.excerpts]
        read.append((weight, [log_odds(e.score) for e in answer.excerpts],
                     [reader.answers_here(q.question, e.text) for e in answer.excerpts], right))
    best, best_score = 0.0, -1.0
    for w in np.round(np.arange(0.0, 0.81, 0.05), 2):
        score = sum(weight * right[int(np.argmax(np.array(odds) + w * np.array(ans)))] for weight, odds, ans, right in read)
        print(f"reader weight {w:.2f}: weighted hit@1 {score / sum(item[0] for item in read):.4f}")
        if score > best_score + 1e-9:
            best, best_score = float(w), score
    print(f"reader_weight = {best}")
    return best


def evaluate(model, positives, negatives):
    settings = AnswerSettings(k=3, threshold=0.0, min_similarity=-1.0, model=model)

    def tops(items):
        return [(q, answer_question(read_question(q.question), r.hits, settings, r.generation, r.term_weights), w)
                for q, r, w in items]

    scored = sorted((a.excerpts[0].score if a.excerpts else 0.0, w) for _, a, w in tops(negatives))
    # The threshold declines NEGATIVE_DECLINE of the negatives' weight.
    total, running, threshold = sum(w for _, w in scored), 0.0, 0.0
    for value, w in scored:
        running += w
        if running >= NEGATIVE_DECLINE * total:
            threshold = round(value + 0.005, 3)
            break
    answered = tops(positives)

    def hit1(items):
        return float(np.mean([first_hit_rank(a, q) == 1 and a.excerpts[0].score >= threshold for q, a, _ in items]))

    xquad = [item for item in answered if item[2] == 1.0]
    docs = [item for item in answered if item[2] != 1.0]
    declined = np.mean([a.excerpts[0].score < threshold for _, a, _ in answered])
    length = np.mean([len(a.excerpts[0].text) for _, a, _ in answered if a.excerpts])
    return threshold, hit1(xquad), hit1(docs), declined, length


if __name__ == "__main__":
    main()
