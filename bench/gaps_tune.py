"""Fit where the gap report stops merging questions (bot/data/gaps.json).

bench/gaps_tune.yaml holds paraphrase groups written from the training corpora's questions
(never from the eval sets): each group is one need asked several ways, and pairs of groups
share a topic but ask different things. A report groups one collection's questions, and a
collection's other questions are about the same product: so each corpus is scored on its own,
its paraphrase groups mixed with up to --others of that corpus's other training questions,
each its own need (a question merged into a group it does not belong to costs as much as a
group split in two). Each cut distance of average-linkage clustering is scored by the adjusted
Rand index, averaged over the corpora; the best is kept. The test set
(tests/data/gaps_questions.yaml, from the eval sets' tune questions, all five corpora in one
log) is scored too, out of sample, and never used to choose.

    python bench/gaps_tune.py [--others 150] [--write]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import yaml
from sklearn.metrics import adjusted_rand_score

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.gaps import GAPS_MODEL, group  # noqa: E402
from index.embedding import DEFAULT_MODEL, shared_embedder  # noqa: E402

TUNE = ROOT / "bench" / "gaps_tune.yaml"
TRAIN = ROOT / "bench" / "train_data"
TEST = ROOT / "tests" / "data" / "gaps_questions.yaml"
PART_SIZE = 2000


def load(path: Path) -> tuple[list[str], np.ndarray]:
    groups = yaml.safe_load(path.read_text())["groups"]
    texts = [q for g in groups for q in g["questions"]]
    labels = np.array([n for n, g in enumerate(groups) for _ in g["questions"]])
    return texts, labels


def per_corpus(others: int, seed: int = 3) -> dict[str, tuple[list[str], np.ndarray]]:
    """Each tuning corpus: its paraphrase groups and up to `others` more of its questions, each
    one its own need (a group's source question is not among them)."""
    groups = yaml.safe_load(TUNE.read_text())["groups"]
    rng = np.random.default_rng(seed)
    found = {}
    for corpus in sorted({g["corpus"] for g in groups}):
        mine = [g for g in groups if g["corpus"] == corpus]
        texts = [q for g in mine for q in g["questions"]]
        labels = [n for n, g in enumerate(mine) for _ in g["questions"]]
        taken = set(texts) | {g.get("source_question") for g in mine}
        pool = [q["question"] for q in yaml.safe_load((TRAIN / f"{corpus}.yaml").read_text())["questions"]
                if q["question"] not in taken]
        for k in rng.permutation(len(pool))[:others].tolist():
            texts.append(pool[k])
            labels.append(len(mine) + k)
        found[corpus] = (texts, np.array(labels))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--others", type=int, default=150, help="other questions of each corpus, each its own need")
    parser.add_argument("--write", action="store_true", help=f"write the best distance to {GAPS_MODEL}")
    args = parser.parse_args()
    embedder = shared_embedder(DEFAULT_MODEL)
    corpora = {name: (embedder.encode_queries(texts), labels) for name, (texts, labels) in per_corpus(args.others).items()}
    test_texts, test_labels = load(TEST)
    test_vectors = embedder.encode_queries(test_texts)
    print(f"| distance | tune ARI, mean of {len(corpora)} corpora (each with {args.others} other questions) | "
          "test ARI (300 questions, 36 groups) | test groups found |")
    print("|---|---|---|---|")
    best = (-1.0, 0.0)
    for distance in np.round(np.arange(0.20, 0.701, 0.025), 3):
        tune = float(np.mean([adjusted_rand_score(labels, group(vectors, float(distance), PART_SIZE))
                              for vectors, labels in corpora.values()]))
        found = group(test_vectors, float(distance), PART_SIZE)
        print(f"| {distance:.3f} | {tune:.3f} | {adjusted_rand_score(test_labels, found):.3f} | {len(set(found))} |")
        best = max(best, (tune, float(distance)))
    print(f"best on tune: distance {best[1]:.3f} (mean adjusted Rand {best[0]:.3f})")
    if args.write:
        GAPS_MODEL.write_text(json.dumps({
            "distance": best[1], "part_size": PART_SIZE,
            "fitted_on": f"bench/gaps_tune.yaml: each corpus's paraphrase groups with {args.others} of its other "
                         "bench/train_data questions",
            "tune_mean_adjusted_rand": round(best[0], 4),
        }, indent=1) + "\n")
        print(f"wrote {GAPS_MODEL}")


if __name__ == "__main__":
    main()
