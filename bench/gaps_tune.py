"""Fit where the gap report stops merging questions (bot/data/gaps.json).

bench/gaps_tune.yaml holds paraphrase groups written from the training corpora' questions
(never from the eval sets): each group is one need asked several ways, and pairs of groups
share a topic but ask different things. Each cut distance of average-linkage clustering on the
questions' vectors is scored by the adjusted Rand index against those groups; the best is kept.
The test set (tests/data/gaps_questions.yaml, written from the eval sets' tune questions) is
scored too, out of sample, and never used to choose.

    python bench/gaps_tune.py [--write]
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
TEST = ROOT / "tests" / "data" / "gaps_questions.yaml"
PART_SIZE = 2000


def load(path: Path) -> tuple[list[str], np.ndarray]:
    groups = yaml.safe_load(path.read_text())["groups"]
    texts = [q for g in groups for q in g["questions"]]
    labels = np.array([n for n, g in enumerate(groups) for _ in g["questions"]])
    return texts, labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"write the best distance to {GAPS_MODEL}")
    args = parser.parse_args()
    embedder = shared_embedder(DEFAULT_MODEL)
    sets = {name: load(path) for name, path in (("tune", TUNE), ("test", TEST))}
    vectors = {name: embedder.encode_queries(texts) for name, (texts, _) in sets.items()}
    print("| distance | tune ARI | tune groups found / written | test ARI | test groups found / written |")
    print("|---|---|---|---|---|")
    best = (-1.0, 0.0)
    for distance in np.round(np.arange(0.20, 0.701, 0.025), 3):
        row = []
        for name, (_, truth) in sets.items():
            found = group(vectors[name], float(distance), PART_SIZE)
            row += [adjusted_rand_score(truth, found), len(set(found)), len(set(truth))]
        print(f"| {distance:.3f} | {row[0]:.3f} | {row[1]} / {row[2]} | {row[3]:.3f} | {row[4]} / {row[5]} |")
        best = max(best, (row[0], float(distance)))
    print(f"best on tune: distance {best[1]:.3f} (adjusted Rand {best[0]:.3f})")
    if args.write:
        GAPS_MODEL.write_text(json.dumps({
            "distance": best[1], "part_size": PART_SIZE,
            "fitted_on": "bench/gaps_tune.yaml (paraphrase groups from bench/train_data questions)",
            "tune_adjusted_rand": round(best[0], 4),
        }, indent=1) + "\n")
        print(f"wrote {GAPS_MODEL}")


if __name__ == "__main__":
    main()
