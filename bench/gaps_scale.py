"""How long the gap report takes at scale: 100,000 logged questions, every one a gap.

The questions are the training questions of bench/train_data (about 4,300 different ones),
each logged many times with its vector moved a little (paraphrases of one need are near each
other, not equal), by 5,000 different users over twelve weeks. Timed: writing them through the
question log, reading them back, and grouping them (bot/gaps.py) into the report; the median of
--runs runs of the report.

    python bench/gaps_scale.py [--questions 100000] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.chat.question_log import DAY, FILE_NAME, QuestionLog  # noqa: E402
from bot.gaps import find_gaps  # noqa: E402
from bot.types import Answer  # noqa: E402
from index.embedding import DEFAULT_MODEL, shared_embedder  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    texts = sorted({q["question"] for f in sorted((ROOT / "bench" / "train_data").glob("*.yaml"))
                    for q in yaml.safe_load(f.read_text())["questions"]})
    embedder = shared_embedder(DEFAULT_MODEL)
    vectors = embedder.encode_queries(texts)
    rng = np.random.default_rng(7)
    now = time.time()
    with tempfile.TemporaryDirectory() as folder:
        questions = QuestionLog(Path(folder) / FILE_NAME, retention_days=120)
        started = time.perf_counter()
        picks = rng.integers(0, len(texts), args.questions)
        noise = rng.normal(0, 0.01, (args.questions, vectors.shape[1])).astype(np.float32)
        for n, pick in enumerate(picks.tolist()):
            questions.record(Answer(texts[pick], False, "", ()), vectors[pick] + noise[n], int(rng.integers(5000)),
                             1, "bench", asked_at=now - float(rng.uniform(0, 84)) * DAY)
        questions.flush()
        written = time.perf_counter() - started
        size = (Path(folder) / FILE_NAME).stat().st_size
        timings, read_times = [], []
        for _ in range(args.runs):
            started = time.perf_counter()
            rows = questions.read()
            read_times.append(time.perf_counter() - started)
            report = find_gaps(rows, collection="bench", since=now - 90 * DAY, until=now, low_score=0.5, limit=20)
            timings.append(time.perf_counter() - started)
        questions.close()
    print(f"{args.questions:,} logged questions ({len(texts):,} different), log file {size / 1e6:.0f} MB")
    print(f"writing through the log: {written:.1f} s ({args.questions / written:,.0f} questions/s)")
    print(f"report (read + group), median of {args.runs}: {statistics.median(timings):.1f} s "
          f"(reading {statistics.median(read_times):.1f} s); {report.gap_questions:,} gap questions in "
          f"{report.groups:,} groups, the largest {report.gaps[0].asked} questions")


if __name__ == "__main__":
    main()
