"""Search and answer latency, recall, memory and disk at 10k, 100k and 1M passages.

    python bench/scale.py                       # all three sizes (the 1M build takes ~15 min)
    python bench/scale.py --sizes 10000 100000  # fewer
    python bench/scale.py --dense flat --sizes 100000   # force an index type for comparison

Encoding a million passages takes hours on 2 cores, so the corpus is made from real ones:
the seed documents are indexed for real, and every synthetic document is a copy of one of
XQuAD's 48 English articles (real text, real passages and offsets). Its passage and sentence
vectors are the real ones, each mixed with half of another real vector drawn at random (from
all of XQuAD's passage and sentence vectors) plus Gaussian noise, re-normalised: cosine ~0.8 to
the original. The mix matters: with noise alone every synthetic vector is one of 252 real
passage vectors jittered, so each "nearest ten" is a tie among thousands of copies of one
passage that only the noise orders, and recall measures that noise, not the index.
The generation is written through the real store (streamed rows, HNSW or flat, BM25, SQLite).

Each size is then measured in a fresh process, so its peak RSS is that of serving alone:
model load, index load, 17 dev questions and 200 XQuAD questions answered three times (latency
of the question embedding, the whole search, the reader's passes and the whole answer, from the second round: the
first reads the index from disk; the third round empties the answer layer's per-text caches
before each question, as for excerpts no earlier question quoted), hit@1 on the dev questions
(whose answers are only in the real seed documents), and recall@10 of the dense index
against exact search over the same vectors (after the RSS reading: it reads every vector).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
EVAL = ROOT.parent / "shared" / "eval"
NOISE = 0.03  # per dimension; noise norm 0.03 * sqrt(384) = 0.59
MIX = 0.5  # weight of the other real vector


def empty_answer_caches() -> None:
    """The answer layer caches per-text facts (words, tags) that repeat across questions."""
    from bot.answering import compose, highlight, spans
    from index import terms

    for module in (compose, highlight, spans, terms):
        for value in vars(module).values():
            if hasattr(value, "cache_clear"):
                value.cache_clear()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(p * len(values)))] * 1000


# --------------------------------------------------------------------------- build


def build(size: int, index_dir: Path, dense: str) -> dict:
    from index.store import FaissStore

    compat, dimension, rows = synthetic_rows(size, index_dir.parent)
    store = FaissStore(index_dir)
    started = time.perf_counter()
    with store.lock():
        manifest = store.write(compat, dimension, ["synthetic"], rows(), dense_choice=dense)
    seconds = time.perf_counter() - started
    return {"build_seconds": seconds, "build_peak_rss_mb": peak_rss_mb(), "passages": manifest["counts"]["passages"]}


def synthetic_rows(size: int, work: Path):
    """(compatibility, dimension, rows) for a corpus of size passages: the seeds, then XQuAD
    documents copied with their vectors mixed and jittered (see the module's docstring)."""
    import numpy as np

    from bot.config import Settings
    from bot.evaluate import eval_settings, load_eval_file
    from bot.service import CitebotService
    from index.embedding import shared_embedder
    from index.generation import DocumentInfo, DocumentRows
    from index.store import load_generation

    settings = Settings()
    embedder = shared_embedder(settings.model)
    real = CitebotService(replace(settings, docs=(str(ROOT / "seeds"),), index_dir=str(work / "seeds-index")), embedder)
    real.ensure_index()
    xquad = load_eval_file(str(EVAL / "xquad" / "xquad.en.json"))
    xq = CitebotService(eval_settings(replace(settings, index_dir=str(work / "xquad-index")), xquad), embedder)
    xq.ensure_index()
    seeds_gen, xq_gen = load_generation(real.index_dir), load_generation(xq.index_dir)
    seed_rows = [seeds_gen.document_rows(d.path) for d in seeds_gen.documents()]
    templates = [xq_gen.document_rows(d.path) for d in xq_gen.documents()]
    target = size - sum(len(r.passages) for r in seed_rows)
    rng = np.random.default_rng(7)
    pool = np.concatenate([np.asarray(xq_gen.vectors), np.asarray(xq_gen.sentence_vectors, dtype=np.float32)])

    def noisy(vectors):
        other = pool[rng.integers(0, len(pool), len(vectors))]
        out = vectors + MIX * other + rng.standard_normal(vectors.shape, dtype=np.float32) * NOISE
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out

    def rows():
        yield from seed_rows
        made, n = 0, 0
        while made < target:
            t = templates[n % len(templates)]
            keep = min(len(t.passages), target - made)
            path = f"synthetic/{n:07d}-{t.document.relpath}"
            passages = [replace(p, doc_path=path) for p in t.passages[:keep]]
            yield DocumentRows(
                DocumentInfo(path, path, t.document.title, t.document.author, f"{n:064x}", keep, time.time()),
                t.text, passages, noisy(t.vectors[:keep]),
                [noisy(v) if len(v) else v for v in t.sentence_vectors[:keep]],
            )
            made += keep
            n += 1

    return real.compatibility, embedder.dimension, rows


# --------------------------------------------------------------------------- measure (fresh process)


def measure(index_dir: Path) -> dict:
    started = time.perf_counter()
    import numpy as np

    from bot.config import Settings
    from bot.evaluate import first_hit_rank, load_eval_file
    from bot.service import CitebotService
    from index.dense import DenseIndex
    from index.store import read_current_name

    settings = replace(Settings(), index_dir=str(index_dir))
    service = CitebotService(settings)
    service.open()
    loaded = time.perf_counter() - started
    service.ask("warm up question")
    first_answer = time.perf_counter() - started
    dev = [q for q in load_eval_file(str(EVAL / "izium_dev.yaml")).questions]
    xquad = load_eval_file(str(EVAL / "xquad" / "xquad.en.json")).questions[::6][:200]
    questions = [q.question for q in dev] + [q.question for q in xquad]

    embed, search, answer, overhead, overhead_fresh, read = [], [], [], [], [], []
    searcher = service.searcher
    # The reader's pass (bot/answering/reader.py) is a model pass like the question's embedding: timed
    # apart, and left out of the retrieval overhead, which is what grows with the corpus.
    reading = [0.0]
    reader = service.reader()
    if reader is not None:
        read_once = reader.read  # every pass goes through it: re-ranking's and the highlight's

        def timed_read(*args):
            begun = time.perf_counter()
            try:
                return read_once(*args)
            finally:
                reading[0] += time.perf_counter() - begun

        reader.read = timed_read
    for round_ in range(3):
        for q in questions:
            t0 = time.perf_counter()
            vector = service.embedder.encode_queries([q])[0]
            t1 = time.perf_counter()
            searcher.search_vector(q, vector, 9)
            t2 = time.perf_counter()
            if round_ == 2:
                empty_answer_caches()
            reading[0] = 0.0
            service.ask(q)
            t3 = time.perf_counter()
            if round_ == 0:
                continue  # the first round reads the index from disk; figures are for a warm index
            if round_ == 2:  # as for a question whose excerpts no earlier question quoted
                overhead_fresh.append((t3 - t2) - (t1 - t0) - reading[0])
                continue
            embed.append(t1 - t0)
            search.append(t2 - t1)
            answer.append(t3 - t2)
            read.append(reading[0])
            overhead.append((t3 - t2) - (t1 - t0) - reading[0])
    serving_rss = peak_rss_mb()

    hits = [first_hit_rank(service.ask(q.question), q) == 1 for q in dev if q.answerable]

    gen = searcher.generation
    vectors = gen.vectors
    qv = service.embedder.encode_queries([q.question for q in xquad])
    exact_scores = np.full((len(qv), 10), -np.inf, dtype=np.float32)
    exact_ids = np.zeros((len(qv), 10), dtype=np.int64)
    for start in range(0, len(vectors), 200_000):
        block = np.asarray(vectors[start:start + 200_000], dtype=np.float32) @ qv.T  # rows x questions
        top = np.argpartition(-block, min(10, len(block) - 1), axis=0)[:10].T
        for i in range(len(qv)):
            cand_ids = np.concatenate([exact_ids[i], top[i] + start])
            cand_scores = np.concatenate([exact_scores[i], block[top[i], i]])
            best = np.argsort(-cand_scores)[:10]
            exact_ids[i], exact_scores[i] = cand_ids[best], cand_scores[best]
    def recall_of(dense):
        return float(np.mean([len(set(dense.search(q, 10)[0].tolist()) & set(exact_ids[i].tolist())) / 10
                              for i, q in enumerate(qv)]))

    recall = recall_of(gen.dense)
    by_ef = {}
    if gen.dense.spec.type == "hnsw-sq8":  # what other efSearch values would give, for choosing the default
        for ef in (128, 256, 512, 1024):
            other = DenseIndex(replace(gen.dense.spec, ef_search=ef), gen.dense.index, gen.vectors)
            t = time.perf_counter()
            for q in qv:
                other.search(q, 50)
            by_ef[ef] = {"recall@10": recall_of(other), "ms": (time.perf_counter() - t) / len(qv) * 1000}

    folder = index_dir / read_current_name(index_dir)
    files = {p.name: p.stat().st_size for p in folder.rglob("*") if p.is_file()}
    return {
        "passages": gen.size,
        "dense": gen.dense.spec.describe(),
        "load_seconds": loaded,
        "first_answer_seconds": first_answer,
        "embed_ms": [pct(embed, p) for p in (.5, .95, .99)],
        "search_ms": [pct(search, p) for p in (.5, .95, .99)],
        "answer_ms": [pct(answer, p) for p in (.5, .95, .99)],
        "overhead_ms": [pct(overhead, p) for p in (.5, .95, .99)],
        "read_ms": [pct(read, p) for p in (.5, .95, .99)],
        "overhead_answer_caches_emptied_ms": [pct(overhead_fresh, p) for p in (.5, .95, .99)],
        "dev_hit@1": f"{sum(hits)}/{len(hits)}",
        "recall@10": recall,
        "recall_by_ef_search": by_ef,
        "serving_peak_rss_mb": serving_rss,
        "disk_mb": sum(files.values()) / 2**20,
        "largest_files_mb": {k: round(v / 2**20, 1) for k, v in sorted(files.items(), key=lambda kv: -kv[1])[:5]},
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--dense", default="auto", choices=["auto", "flat", "hnsw"])
    parser.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "citebot-scale"))
    parser.add_argument("--keep", action="store_true", help="reuse generations already built in workdir")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--build", nargs=3, help=argparse.SUPPRESS)  # size, index dir, dense choice
    args = parser.parse_args()
    if args.measure:  # each step in a fresh process, so peak RSS is that step's alone
        print(json.dumps(measure(Path(args.measure))))
        return
    if args.build:
        size, index_dir, dense = args.build
        print(json.dumps(build(int(size), Path(index_dir), dense)))
        return
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    print(f"machine: {os.cpu_count()} cores; mix {MIX}, noise {NOISE}/dim; dense={args.dense}", flush=True)
    for size in args.sizes:
        index_dir = work / f"{size}-{args.dense}"
        built = {}
        if not (args.keep and (index_dir / "CURRENT").exists()):
            shutil.rmtree(index_dir, ignore_errors=True)
            built = json.loads(subprocess.run([sys.executable, __file__, "--build", str(size), str(index_dir), args.dense],
                                              check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
        measured = json.loads(subprocess.run([sys.executable, __file__, "--measure", str(index_dir)], check=True,
                                             capture_output=True, text=True).stdout.strip().splitlines()[-1])
        print(json.dumps({"size": size, **built, **measured}), flush=True)
        e, s, a, o, r = (measured[k] for k in ("embed_ms", "search_ms", "answer_ms", "overhead_ms", "read_ms"))
        print(f"{measured['passages']:>9,} passages  {measured['dense']}\n"
              f"  build {built.get('build_seconds', 0):.0f} s (peak RSS {built.get('build_peak_rss_mb', 0):.0f} MB)"
              f"   disk {measured['disk_mb']:.0f} MB   load {measured['load_seconds']:.1f} s"
              f"   first answer {measured['first_answer_seconds']:.1f} s\n"
              f"  embed   p50/95/99 {e[0]:6.1f} {e[1]:6.1f} {e[2]:6.1f} ms\n"
              f"  search  p50/95/99 {s[0]:6.1f} {s[1]:6.1f} {s[2]:6.1f} ms\n"
              f"  answer  p50/95/99 {a[0]:6.1f} {a[1]:6.1f} {a[2]:6.1f} ms\n"
              f"  reader  p50/95/99 {r[0]:6.1f} {r[1]:6.1f} {r[2]:6.1f} ms\n"
              f"  answer - embed - reader p50/95/99 {o[0]:6.1f} {o[1]:6.1f} {o[2]:6.1f} ms (retrieval overhead)\n"
              f"  same, answer caches emptied p50 {measured['overhead_answer_caches_emptied_ms'][0]:6.1f} ms\n"
              f"  recall@10 {measured['recall@10']:.3f}   dev hit@1 {measured['dev_hit@1']}"
              f"   serving peak RSS {measured['serving_peak_rss_mb']:.0f} MB", flush=True)


if __name__ == "__main__":
    main()
