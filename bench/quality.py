"""Answer quality on every evaluation set, each scored by `citebot eval`'s own code:

- the seed dev set (held out), and questions of other corpora asked of the seeds (declined?);
- the discord.py dev set (the owner's chat-style questions on discord.py's docs, held out);
- the chat-style questions of tests/data/chat_questions.yaml on discord.py's and Black's docs,
  `tune` and `held_out` halves reported apart (bench/tune.py fits on `tune` only);
- XQuAD: odd articles held out (bench/tune.py fits on the even ones).

    python bench/quality.py [--no-xquad] [--no-reader]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.config import load_settings  # noqa: E402
from bot.evaluate import eval_settings, load_eval_file, run_eval  # noqa: E402
from bot.service import CitebotService  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
SHARED = ROOT.parent / "shared" / "eval"
CHAT = DATA / "chat_questions.yaml"
CORPORA = {"discordpy": DATA / "discordpy_docs", "black": DATA / "black_docs"}


def row(name: str, result: dict) -> str:
    if result["answerable"]:
        low, high = result["hit@1_interval"]
        hit1 = f"{result['hit@1']:.3f} ({result['hits@1']}/{result['answerable']}; {low:.2f}–{high:.2f})"
    else:
        hit1 = "–"
    declined = (f"{result['abstention_recall']:.0%} of {result['unanswerable']}" if result["unanswerable"] else "–")
    return (f"| {name} | {hit1} | {result['hit@3']:.3f} | {result['mean_top_excerpt_chars']:.0f} | "
            f"{result['highlight_f1']:.1f} | {declined} | {result['wrongly_declined']:.3f} | "
            f"{result['latency_p50_ms']:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-xquad", action="store_true", help="skip XQuAD (the slowest set)")
    parser.add_argument("--no-reader", action="store_true", help="answer with the ranking and span model alone")
    args = parser.parse_args()
    base = load_settings()
    if args.no_reader:
        base = replace(base, reader=False)
    seeds = CitebotService(base)
    services = {corpus: CitebotService(replace(base, docs=(str(folder),),
                                               index_dir=str(Path(base.index_dir) / "quality" / corpus)),
                                       embedder=seeds.embedder)
                for corpus, folder in CORPORA.items()}
    runs = [
        ("seed dev set", run_eval(seeds, load_eval_file(str(DATA / "izium_dev.yaml")))),
        ("discord.py dev set", run_eval(services["discordpy"], load_eval_file(str(DATA / "discordpy_dev.yaml")))),
    ]
    for split in ("held_out", "tune"):
        for corpus, service in services.items():
            questions = load_eval_file(str(CHAT), {"corpus": corpus, "split": split})
            runs.append((f"chat {corpus} {split}", run_eval(service, questions)))
        both = load_eval_file(str(CHAT), {"split": split})
        merged = [run_eval(services[c], replace(both, questions=tuple(q for q in both.questions
                                                                     if dict(q.tags)["corpus"] == c)))
                  for c in services]
        runs.append((f"chat both {split}", _merge(merged)))
    if not args.no_xquad:
        xquad = load_eval_file(str(SHARED / "xquad" / "xquad.en.json"))
        held_out = replace(xquad, questions=tuple(q for q in xquad.questions if int(q.source[:3]) % 2 == 1))
        xq = CitebotService(eval_settings(base, xquad), embedder=seeds.embedder)
        runs.append((f"XQuAD odd articles ({len(held_out.questions)})", run_eval(xq, held_out)))
        runs.append(("XQuAD held-out asked of seeds/", run_eval(seeds, held_out, negative=True)))
    chat_all = load_eval_file(str(CHAT))
    runs.append(("chat questions asked of seeds/", run_eval(seeds, chat_all, negative=True)))
    print("| set | hit@1 (95% interval) | hit@3 | top excerpt chars | highlight F1 | unanswerable declined "
          "| wrongly declined | p50 ms |")
    print("|---|---|---|---|---|---|---|---|")
    for name, result in runs:
        print(row(name, result))


def _merge(results: list[dict]) -> dict:
    """Two corpora's results as one set (counts added, means weighted by question count)."""
    from bot.evaluate import wilson_interval

    answerable = sum(r["answerable"] for r in results)
    unanswerable = sum(r["unanswerable"] for r in results)
    hits = sum(r["hits@1"] for r in results)

    def mean(key, weight):
        total = sum(r[weight] for r in results)
        return sum(r[key] * r[weight] for r in results) / total if total else 0.0

    return {
        "answerable": answerable, "unanswerable": unanswerable, "hits@1": hits,
        "hit@1": hits / answerable if answerable else 0.0, "hit@1_interval": list(wilson_interval(hits, answerable)),
        "hit@3": mean("hit@3", "answerable"), "mean_top_excerpt_chars": mean("mean_top_excerpt_chars", "questions"),
        "highlight_f1": mean("highlight_f1", "answerable"), "wrongly_declined": mean("wrongly_declined", "answerable"),
        "abstention_recall": (sum(r["abstention_recall"] * r["unanswerable"] for r in results) / unanswerable
                              if unanswerable else 1.0),
        "latency_p50_ms": mean("latency_p50_ms", "questions"),
    }


if __name__ == "__main__":
    main()
