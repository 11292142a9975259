"""The answer selector's examples: every question's candidates as the ranking orders them.

    python bench/selector_data.py --out DIR [--index-root DIR] [--hits 16] [--depth 12]

For each question set readable for training or choosing a model (never a held_out half), each
question is searched, its candidates are scored by the shipped ranking model and the first
--depth distinct ones are written with their context line and text exactly as the selector
reads them (compose.as_read), their ranking probability, and their label: the candidate cites
the right document and holds one of the answers (citebot eval's hit test). One JSON line per
question in DIR/<set>.jsonl.

Sets: the training corpora (bench/train_data, `split: train`), the five shared corpora's tune
halves, discord.py's dev set, the tune half of tests/data/chat_questions.yaml (discord.py and
Black) and XQuAD's even articles (its tuning half).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.answering.compose import AnswerSettings, as_read, distinct, quoted, ranked_candidates  # noqa: E402
from bot.answering.question import read_question  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.evaluate import EvalQuestion, answer_found, load_eval_file, eval_settings  # noqa: E402
from bot.service import CitebotService  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "eval"
TRAIN_DATA = ROOT / "bench" / "train_data"
TESTS_DATA = ROOT / "tests" / "data"
SHARED_CORPORA = ("python_docs", "django_docs", "rust_book", "debian_faq", "opensource_guide")


@dataclass(frozen=True)
class QuestionSet:
    name: str
    corpus: str  # the documents' corpus: leave-one-corpus-out leaves these out together
    docs: Path | None  # None: the eval file brings its documents (SQuAD)
    questions: Path
    only: dict[str, str]
    article_parity: int | None = None  # XQuAD: keep articles whose number has this parity


def question_sets() -> list[QuestionSet]:
    sets = [QuestionSet(c.stem, c.stem, TRAIN_DATA / c.stem, c, {"split": "train"})
            for c in sorted(TRAIN_DATA.glob("*.yaml"))]
    sets += [QuestionSet(f"{c}_tune", c, SHARED / c, SHARED / f"{c}.yaml", {"split": "tune"}) for c in SHARED_CORPORA]
    sets += [
        QuestionSet("discordpy_dev", "discordpy", SHARED / "discordpy_docs", SHARED / "discordpy_dev.yaml", {}),
        QuestionSet("discordpy_chat_tune", "discordpy", SHARED / "discordpy_docs", TESTS_DATA / "chat_questions.yaml",
                    {"corpus": "discordpy", "split": "tune"}),
        QuestionSet("black_tune", "black", TESTS_DATA / "black_docs", TESTS_DATA / "chat_questions.yaml",
                    {"corpus": "black", "split": "tune"}),
        QuestionSet("xquad_tune", "xquad", None, SHARED / "xquad" / "xquad.en.json", {}, article_parity=0),
    ]
    return sets


def candidates_of(service: CitebotService, q: EvalQuestion, hits: int, depth: int) -> list[dict]:
    result = service.searcher.search(q.question, k=hits)
    ranked = ranked_candidates(read_question(q.question), result.hits, AnswerSettings(), result.term_weights)
    rows = []
    for cand in distinct(ranked, depth):
        context, text = as_read(cand)
        text_quoted = quoted(cand)
        rows.append({"context": context, "text": text, "score": cand.score, "passage_rank":
                     result.hits.index(cand.hit), "chars": len(text_quoted), "path": cand.hit.document.relpath,
                     "label": answer_found(text_quoted, cand.hit.document.relpath, q)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--index-root", type=Path, default=ROOT / ".citebot" / "selector")
    parser.add_argument("--hits", type=int, default=16, help="passages searched per question")
    parser.add_argument("--depth", type=int, default=12, help="distinct candidates kept per question")
    parser.add_argument("--only", nargs="*", help="set names")
    args = parser.parse_args()
    base = replace(load_settings(), reader=False)
    args.out.mkdir(parents=True, exist_ok=True)
    embedder = None
    for qs in question_sets():
        if args.only and qs.name not in args.only:
            continue
        eval_set = load_eval_file(str(qs.questions), qs.only or None)
        if qs.docs is None:
            settings = eval_settings(replace(base, index_dir=str(args.index_root / qs.corpus)), eval_set)
            questions = [q for q in eval_set.questions if int(q.source[:3]) % 2 == qs.article_parity]
        else:
            settings = replace(base, docs=(str(qs.docs),), index_dir=str(args.index_root / qs.corpus))
            questions = list(eval_set.questions)
        service = CitebotService(settings, embedder=embedder)
        embedder = service.embedder
        started = time.perf_counter()
        service.reindex()
        built = time.perf_counter() - started
        with (args.out / f"{qs.name}.jsonl").open("w", encoding="utf-8") as out:
            for n, q in enumerate(questions):
                row = {"set": qs.name, "corpus": qs.corpus, "number": n, "question": q.question,
                       "answerable": q.answerable, "candidates": candidates_of(service, q, args.hits, args.depth)}
                out.write(json.dumps(row) + "\n")
        found = [q for q in questions if q.answerable]
        print(f"{qs.name}: {len(questions)} questions ({len(found)} answerable), index ready in {built:.0f} s",
              file=sys.stderr)


if __name__ == "__main__":
    main()
