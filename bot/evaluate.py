"""`citebot eval`: score answers against questions with known answer strings.

Two formats: the dev-set YAML in shared/eval/ (questions about the configured docs)
and SQuAD v1.1 JSON, whose paragraphs are written out as documents and indexed first.
"""

from __future__ import annotations

import json
import math
import re
import string
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from bot.types import Answer
from bot.config import Settings
from index.errors import ConfigError


@dataclass(frozen=True)
class EvalQuestion:
    question: str
    answers: tuple[str, ...]  # empty: the documents do not answer it
    source: str  # file name (or document path suffix) the answer must be cited from; "" = any
    tags: tuple[tuple[str, str], ...] = ()  # other keys of the question (corpus, split), for --only

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


@dataclass(frozen=True)
class EvalSet:
    name: str
    questions: tuple[EvalQuestion, ...]
    documents: dict[str, str]  # for SQuAD: file name -> text to index; empty for YAML sets


_QUESTION_KEYS = frozenset({"question", "answers", "answerable", "source"})


def load_eval_file(path: str, only: dict[str, str] | None = None) -> EvalSet:
    """An eval set; `only` keeps the questions whose other keys have these values (split: held_out)."""
    eval_set = _load(path)
    if only:
        kept = tuple(q for q in eval_set.questions if all(dict(q.tags).get(k) == v for k, v in only.items()))
        if not kept:
            raise ConfigError(f"{path}: no question has {', '.join(f'{k}: {v}' for k, v in only.items())}")
        eval_set = replace(eval_set, questions=kept)
    return eval_set


def _load(path: str) -> EvalSet:
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"{path}: cannot be read ({err.strerror})") from None
    if file.suffix.lower() == ".json":
        try:
            return _squad(file.stem, json.loads(text))
        except (ValueError, KeyError, TypeError) as err:
            raise ConfigError(f"{path}: not SQuAD v1.1 JSON ({err})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: YAML syntax error: {err}") from None
    if not isinstance(data, dict) or not isinstance(data.get("questions"), list):
        raise ConfigError(f"{path}: expected a mapping with a 'questions' list")
    questions = []
    for i, item in enumerate(data["questions"]):
        if not isinstance(item, dict) or not isinstance(item.get("question"), str):
            raise ConfigError(f"{path}: questions[{i}] needs a 'question' string")
        answerable = item.get("answerable", True)
        answers = tuple(str(a) for a in item.get("answers", [])) if answerable else ()
        tags = tuple(sorted((str(k), str(v)) for k, v in item.items() if k not in _QUESTION_KEYS))
        questions.append(EvalQuestion(item["question"], answers, str(item.get("source", "")), tags))
    return EvalSet(file.stem, tuple(questions), {})


def _squad(name: str, data: dict) -> EvalSet:
    questions: list[EvalQuestion] = []
    documents: dict[str, str] = {}
    for n, article in enumerate(data["data"]):
        title = article.get("title") or f"article {n}"
        file_name = f"{n:03d}_{re.sub(r'[^A-Za-z0-9]+', '_', title)[:60]}.md"
        paragraphs = [p["context"] for p in article["paragraphs"]]
        documents[file_name] = f"---\ntitle: {json.dumps(title.replace('_', ' '))}\n---\n" + "\n\n".join(paragraphs) + "\n"
        for p in article["paragraphs"]:
            for qa in p["qas"]:
                answers = tuple(dict.fromkeys(a["text"] for a in qa["answers"]))
                questions.append(EvalQuestion(qa["question"], answers, file_name))
    return EvalSet(name, tuple(questions), documents)


# --------------------------------------------------------------------------- scoring


def normalize_answer(text: str) -> str:
    """SQuAD's normalisation: lower case, no punctuation, articles or extra spaces."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def token_f1(prediction: str, gold: str) -> float:
    pred, ref = normalize_answer(prediction).split(), normalize_answer(gold).split()
    common = Counter(pred) & Counter(ref)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


def _cited_right(path: str, source: str) -> bool:
    return not source or path == source or path.endswith("/" + source)


_MARKDOWN_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


def _as_matched(text: str) -> str:
    """Text as answers are looked for in it: lower case, white space folded, Markdown's
    backslash escapes read as the characters they escape (the shared sets' headers say so)."""
    return " ".join(_MARKDOWN_ESCAPE.sub(r"\1", text).lower().split())


def answer_found(text: str, path: str, q: EvalQuestion) -> bool:
    """The hit test: the quote cites the question's source and holds one of its answers."""
    if not _cited_right(path, q.source):
        return False
    quoted = _as_matched(text)
    return any(_as_matched(a) in quoted for a in q.answers)


def first_hit_rank(answer: Answer, q: EvalQuestion) -> int:
    for rank, e in enumerate(answer.excerpts, start=1):
        if answer_found(e.text, e.citation.path, q):
            return rank
    return 0


def wilson_interval(successes: int, trials: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% Wilson score interval of a proportion: how far a hit rate measured on this many
    questions may be from the rate on questions like them (14 questions cannot tell 0.86 from 0.95)."""
    if trials == 0:
        return 0.0, 1.0
    p, zz = successes / trials, z * z
    centre = (p + zz / (2 * trials)) / (1 + zz / trials)
    half = z * math.sqrt(p * (1 - p) / trials + zz / (4 * trials * trials)) / (1 + zz / trials)
    return max(0.0, centre - half), min(1.0, centre + half)


def score(pairs: Sequence[tuple[EvalQuestion, Answer, float]]) -> dict:
    answerable = [(q, a, t) for q, a, t in pairs if q.answerable]
    unanswerable = [(q, a, t) for q, a, t in pairs if not q.answerable]
    ranks = [first_hit_rank(a, q) for q, a, _ in answerable]
    declined = [not a.answered for _, a, _ in pairs]
    declined_right = sum(1 for q, a, _ in unanswerable if not a.answered)
    tops = [a.excerpts[0] for _, a, _ in pairs if a.answered and a.excerpts]
    highlight_em, highlight_f1 = [], []
    for q, a, _ in answerable:
        if a.answered and a.excerpts and a.excerpts[0].highlight:
            lo, hi = a.excerpts[0].highlight
            span = a.excerpts[0].text[lo:hi]
        else:
            span = ""
        highlight_em.append(max(float(normalize_answer(span) == normalize_answer(g)) for g in q.answers))
        highlight_f1.append(max(token_f1(span, g) for g in q.answers))
    latencies = sorted(t for _, _, t in pairs)

    def mean(xs):
        return sum(xs) / len(xs) if xs else 0.0

    def pct(p):
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else 0.0

    return {
        "questions": len(pairs),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "hit@1": mean([r == 1 for r in ranks]),
        "hit@3": mean([0 < r <= 3 for r in ranks]),
        "hits@1": sum(r == 1 for r in ranks),
        "hit@1_interval": list(wilson_interval(sum(r == 1 for r in ranks), len(ranks))),
        "mrr": mean([1 / r if r else 0.0 for r in ranks]),
        "mean_top_excerpt_chars": mean([len(e.text) for e in tops]),
        "highlight_em": 100 * mean(highlight_em),
        "highlight_f1": 100 * mean(highlight_f1),
        "wrongly_declined": mean([not a.answered for _, a, _ in answerable]) if answerable else 0.0,
        "abstention_precision": declined_right / sum(declined) if sum(declined) else 1.0,
        "abstention_recall": declined_right / len(unanswerable) if unanswerable else 1.0,
        "latency_p50_ms": pct(0.5),
        "latency_p95_ms": pct(0.95),
    }


def eval_settings(settings: Settings, eval_set: EvalSet) -> Settings:
    """Settings whose docs hold eval_set's documents (SQuAD), written once and reused."""
    if not eval_set.documents:
        return settings
    root = Path(settings.index_dir) / "eval" / eval_set.name
    docs = root / "docs"
    docs.mkdir(parents=True, exist_ok=True)
    for name, text in eval_set.documents.items():
        file = docs / name
        if not file.exists() or file.read_text(encoding="utf-8") != text:
            file.write_text(text, encoding="utf-8")
    return replace(settings, docs=(str(docs),), index_dir=str(root / "index"))


def run_eval(service, eval_set: EvalSet, limit: int | None = None, negative: bool = False) -> dict:
    """Ask every question; with negative=True every question counts as unanswerable."""
    questions = eval_set.questions[:limit] if limit else eval_set.questions
    if negative:
        questions = tuple(replace(q, answers=()) for q in questions)
    service.ensure_index()
    service.warm_up()
    service.ask("warm up")  # and the search itself: latency is for a warm bot
    pairs = []
    for q in questions:
        started = time.perf_counter()
        answer = service.ask(q.question)
        pairs.append((q, answer, time.perf_counter() - started))
    return {"name": eval_set.name, **score(pairs), "failures": [
        {"question": q.question, "expected": list(q.answers),
         "got": a.excerpts[0].text[:200] if a.excerpts else a.message}
        for q, a, _ in pairs if (q.answerable and first_hit_rank(a, q) != 1) or (not q.answerable and a.answered)
    ]}


def format_table(result: dict) -> str:
    rows = [
        ("questions", f"{result['questions']} ({result['answerable']} answerable, {result['unanswerable']} not)"),
        ("hit@1", f"{result['hit@1']:.3f} ({result['hits@1']}/{result['answerable']}; 95% interval "
                  f"{result['hit@1_interval'][0]:.2f}–{result['hit@1_interval'][1]:.2f})"
                  if result["answerable"] else "– (no answerable questions)"),
        ("hit@3", f"{result['hit@3']:.3f}"),
        ("MRR", f"{result['mrr']:.3f}"),
        ("mean top excerpt", f"{result['mean_top_excerpt_chars']:.0f} chars"),
        ("highlight EM / F1", f"{result['highlight_em']:.1f} / {result['highlight_f1']:.1f}"),
        ("wrongly declined", f"{result['wrongly_declined']:.3f}"),
        ("abstention P / R", f"{result['abstention_precision']:.3f} / {result['abstention_recall']:.3f}"),
        ("latency p50 / p95", f"{result['latency_p50_ms']:.1f} / {result['latency_p95_ms']:.1f} ms"),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def run_eval_command(settings: Settings, path: str, as_json: bool = False, limit: int | None = None,
                     negative: bool = False, only: dict[str, str] | None = None) -> int:
    from bot.service import CitebotService

    eval_set = load_eval_file(path, only)
    service = CitebotService(settings if negative else eval_settings(settings, eval_set))
    result = run_eval(service, eval_set, limit, negative=negative)
    if as_json:
        print(json.dumps(result))
    else:
        print(format_table(result))
        for f in result["failures"][:20]:
            print(f"  miss: {f['question']!r} expected {f['expected']} got {f['got']!r}", file=sys.stderr)
    return 0
