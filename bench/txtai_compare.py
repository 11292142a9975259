"""citebot and txtai side by side, in one run, on the same documents, model and questions.

    make bench-txtai        (creates bench/.venv-txtai with txtai and citebot, then runs this)

txtai is the closest peer (an embeddings database over FAISS). It is installed only in the
benchmark's own environment, never as a project dependency. Both get:
- the same model folder (the bundled all-MiniLM-L6-v2);
- the same documents: seeds/, XQuAD's 48 English articles, and the synthetic corpus of
  bench/reindex.py (real text from the first two, generated text from the last);
- the same questions: the seed dev set (../shared/eval/izium_dev.yaml).

Each system as it ships: txtai encodes with torch (sentence-transformers), citebot encodes
questions with ONNX Runtime from a checked export of the same model (index/onnx_query.py).

txtai is set up as its documentation suggests for this job: content stored, hybrid
(dense + BM25) scoring, documents split into the same passages citebot makes, so both
search the same units. hit@1 counts the answer string inside txtai's top result (a whole
passage, ~1,000 characters) and inside citebot's top excerpt (a sentence or two, ~200), with
the right source for both: citebot's test is the stricter one.

citebot also runs with `reader: false`, the same index: without the reader's passes (re-ordering
the excerpts and marking the answer span), the part of the work that txtai does not do.
"""

from __future__ import annotations

import random
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from reindex import document  # noqa: E402

from bot.config import Settings  # noqa: E402
from bot.evaluate import eval_settings, first_hit_rank, load_eval_file  # noqa: E402
from bot.service import CitebotService  # noqa: E402
from index.embedding import resolve_model, shared_embedder  # noqa: E402
from index.store import load_generation  # noqa: E402

EVAL = ROOT.parent / "shared" / "eval"
SYNTHETIC_DOCUMENTS = 500
ROUNDS = 10


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(p * len(values)))] * 1000


def make_docs(folder: Path) -> None:
    shutil.copytree(ROOT / "seeds", folder / "seeds")
    xquad = load_eval_file(str(EVAL / "xquad" / "xquad.en.json"))
    scratch = eval_settings(replace(Settings(), index_dir=str(folder / "scratch")), xquad)
    shutil.copytree(scratch.docs[0], folder / "xquad")
    rng = random.Random(1)
    (folder / "synthetic").mkdir()
    for n in range(SYNTHETIC_DOCUMENTS):
        (folder / "synthetic" / f"doc{n:04d}.md").write_text(document(rng, n), encoding="utf-8")


def main() -> None:
    from txtai import Embeddings

    embedder = shared_embedder(Settings().model)
    embedder.encode_queries(["warm up"])
    questions = load_eval_file(str(EVAL / "izium_dev.yaml")).questions
    answerable = [q for q in questions if q.answerable]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_docs(root / "docs")
        settings = replace(Settings(), docs=(str(root / "docs"),), index_dir=str(root / "index"))
        citebot = CitebotService(settings, embedder)

        started = time.perf_counter()
        report = citebot.reindex(rebuild=True)
        citebot_build = time.perf_counter() - started

        # txtai indexes the very passages citebot made, each tagged with its document.
        generation = load_generation(citebot.index_dir)
        stored = generation.passages(range(generation.size))
        rows = [(pid, s.passage.text, None) for pid, s in sorted(stored.items())]
        path_of = {str(pid): s.passage.doc_path for pid, s in stored.items()}
        txtai = Embeddings(path=resolve_model(settings.model), content=True, hybrid=True)
        started = time.perf_counter()
        txtai.index(rows)
        txtai_build = time.perf_counter() - started

        def txtai_top(q):
            return txtai.search(q, 1)

        def citebot_top(q):
            return citebot.ask(q)

        plain = CitebotService(replace(settings, reader=False), embedder)
        plain.ask("warm up")

        def plain_top(q):
            return plain.ask(q)

        txtai_times, citebot_times, txtai_embed, citebot_embed, plain_times = [], [], [], [], []

        def timed(call, into):
            for q in questions:
                t = time.perf_counter()
                call(q.question)
                into.append(time.perf_counter() - t)

        # Alternated by round, so drift in machine speed hits both alike; each system runs a
        # whole round at a time, because right after one runtime (torch for txtai, ONNX Runtime
        # for citebot's questions) its idle threads still spin and slow the other.
        for _ in range(ROUNDS):
            timed(txtai_top, txtai_times)
            timed(txtai.transform, txtai_embed)
            timed(citebot_top, citebot_times)
            timed(plain_top, plain_times)
            timed(lambda q: embedder.encode_queries([q]), citebot_embed)

        def txtai_hit(q):
            top = txtai_top(q.question)
            if not top:
                return False
            text, path = top[0]["text"].lower(), path_of[str(top[0]["id"])]
            return path.endswith("/" + q.source) and any(a.lower() in text for a in q.answers)

        txtai_hits = sum(txtai_hit(q) for q in answerable)
        citebot_hits = sum(first_hit_rank(citebot_top(q.question), q) == 1 for q in answerable)
        plain_hits = sum(first_hit_rank(plain_top(q.question), q) == 1 for q in answerable)

    print(f"corpus: {report.documents} documents, {report.passages} passages "
          f"(seeds, XQuAD English, {SYNTHETIC_DOCUMENTS} synthetic); {len(questions)} dev questions x {ROUNDS}")
    print(f"{'':24}{'citebot':>12}{'txtai':>12}{'citebot/txtai':>16}")
    print(f"{'build (s)':24}{citebot_build:12.1f}{txtai_build:12.1f}{citebot_build / txtai_build:15.2f}x")
    for label, p in (("query p50 (ms)", .5), ("query p95 (ms)", .95)):
        c, t = pct(citebot_times, p), pct(txtai_times, p)
        print(f"{label:24}{c:12.1f}{t:12.1f}{c / t:15.2f}x")
    c, t = pct(citebot_embed, .5), pct(txtai_embed, .5)
    print(f"{'  of which embedding p50':24}{c:12.1f}{t:12.1f}{c / t:15.2f}x")
    c, t = pct(citebot_times, .5) - c, pct(txtai_times, .5) - t
    print(f"{'  the rest, p50':24}{c:12.1f}{t:12.1f}{c / t:15.2f}x")
    print(f"{'hit@1':24}{citebot_hits:>9}/{len(answerable)}{txtai_hits:>9}/{len(answerable)}")
    print(f"citebot with reader: false: query p50 {pct(plain_times, .5):.1f} ms "
          f"({pct(plain_times, .5) / pct(txtai_times, .5):.2f}x txtai), p95 {pct(plain_times, .95):.1f} ms "
          f"({pct(plain_times, .95) / pct(txtai_times, .95):.2f}x), hit@1 {plain_hits}/{len(answerable)}")


if __name__ == "__main__":
    main()
