"""The FAISS store against Qdrant's local mode, in one run: build time, answer latency, memory,
and whether the answers are the same.

    python bench/stores.py                      # the seeds and 100k passages
    python bench/stores.py --sizes 0            # the seeds only (0: the real seeds, embedded)
    CITEBOT_QDRANT_URL=http://localhost:6333 python bench/stores.py --qdrant-server   # also a server

Sizes above 0 are bench/scale.py's synthetic corpus (the seeds plus XQuAD documents with mixed,
jittered vectors), written identically into each store from the same rows, so only the store
differs. The seeds (size 0) are indexed for real, model and all, for each store.

Each build and each measurement runs in a fresh process, so peak RSS is that step's alone.
Serving: the 14 seed dev questions and 100 XQuAD questions, answered twice; latency is from the
second round. The top excerpt of every question is recorded, and the stores are compared on it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
EVAL = ROOT.parent / "shared" / "eval"

from scale import pct, peak_rss_mb, synthetic_rows  # noqa: E402


def settings_for(store: str, work: Path):
    from bot.config import Settings

    settings = replace(Settings(), index_dir=str(work / "index"), docs=(str(ROOT / "seeds"),))
    if store == "qdrant-local":
        return replace(settings, store="qdrant", qdrant_path=str(work / "qdrant"))
    if store == "qdrant-server":
        return replace(settings, store="qdrant", qdrant_url=os.environ["CITEBOT_QDRANT_URL"],
                       qdrant_api_key=os.environ.get("CITEBOT_QDRANT_API_KEY"), qdrant_prefix="citebot-bench-")
    return settings


def build(store: str, size: int, work: Path) -> dict:
    from bot.service import CitebotService

    settings = settings_for(store, work)
    if size == 0:
        service = CitebotService(settings)
        service.embedder.encode_queries(["load the model before the clock starts"])
        started = time.perf_counter()
        report = service.reindex(rebuild=True)
        return {"build_seconds": time.perf_counter() - started, "build_peak_rss_mb": peak_rss_mb(),
                "passages": report.passages}
    compat, dimension, rows = synthetic_rows(size, work.parent)
    service = CitebotService(settings)
    started = time.perf_counter()
    with service.store.lock():
        manifest = service.store.write(compat, dimension, ["synthetic"], rows())
    return {"build_seconds": time.perf_counter() - started, "build_peak_rss_mb": peak_rss_mb(),
            "passages": manifest["counts"]["passages"]}


def measure(store: str, size: int, work: Path) -> dict:
    from bot.evaluate import first_hit_rank, load_eval_file
    from bot.service import CitebotService

    settings = settings_for(store, work)
    if size:
        settings = replace(settings, docs=("synthetic",))
    service = CitebotService(settings)
    started = time.perf_counter()
    service.open()
    opened = time.perf_counter() - started
    service.warm_up()
    dev = load_eval_file(str(EVAL / "izium_dev.yaml")).questions
    xquad = load_eval_file(str(EVAL / "xquad" / "xquad.en.json")).questions[::12][:100]
    questions = [q.question for q in dev] + [q.question for q in xquad]
    latencies, search, tops = [], [], {}
    for round_ in range(2):
        for q in questions:
            t0 = time.perf_counter()
            answer = service.ask(q)
            t1 = time.perf_counter()
            service.searcher.search(q, 9)
            t2 = time.perf_counter()
            if round_:
                latencies.append(t1 - t0)
                search.append(t2 - t1)
                top = answer.excerpts[0] if answer.excerpts else None
                tops[q] = [top.citation.file, top.citation.start, top.citation.end, top.text] if top else None
    hits = [first_hit_rank(service.ask(q.question), q) == 1 for q in dev if q.answerable]
    return {"open_seconds": opened, "answer_ms": [pct(latencies, p) for p in (.5, .95)],
            "search_ms": [pct(search, p) for p in (.5, .95)], "serving_peak_rss_mb": peak_rss_mb(),
            "dev_hit@1": f"{sum(hits)}/{len(hits)}", "tops": tops}


def run_step(step: str, store: str, size: int, work: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, f"--{step}", store, str(size), str(work)],
                         capture_output=True, text=True, check=False)
    if out.returncode:
        raise SystemExit(f"{step} {store} {size} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[0, 100_000])
    parser.add_argument("--qdrant-server", action="store_true", help="also CITEBOT_QDRANT_URL's server")
    parser.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "citebot-stores"))
    parser.add_argument("--keep", action="store_true", help="measure the stores already built in workdir again")
    parser.add_argument("--build", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--measure", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build or args.measure:
        store, size, work = args.build or args.measure
        step = build if args.build else measure
        print(json.dumps(step(store, int(size), Path(work))))
        return
    stores = ["faiss", "qdrant-local"] + (["qdrant-server"] if args.qdrant_server else [])
    root = Path(args.workdir)
    print(f"machine: {os.cpu_count()} cores", flush=True)
    for size in args.sizes:
        results = {}
        for store in stores:
            work = root / f"{size}-{store}"
            if args.keep and (work / "built.json").exists():
                built = json.loads((work / "built.json").read_text())
            else:
                shutil.rmtree(work, ignore_errors=True)
                work.mkdir(parents=True)
                built = run_step("build", store, size, work)
                (work / "built.json").write_text(json.dumps(built))
            measured = run_step("measure", store, size, work)
            results[store] = {**built, **measured}
            shown = {k: (round(v, 2) if isinstance(v, float) else v) for k, v in results[store].items() if k != "tops"}
            print(f"size {size or 'seeds'} {store}: {json.dumps(shown)}", flush=True)
        base = results["faiss"]["tops"]
        for store in stores[1:]:
            other = results[store]["tops"]
            differ = [q for q in base if base[q] != other.get(q)]
            # The synthetic corpus holds hundreds of copies of each XQuAD article: the same words
            # at the same offsets in another copy is the same quote, found in another file.
            other_text = [q for q in differ if (base[q] and base[q][3]) != (other.get(q) and other[q][3])]
            print(f"size {size or 'seeds'}: {store} has the same top excerpt as faiss for "
                  f"{len(base) - len(differ)}/{len(base)} questions, the same quoted text for "
                  f"{len(base) - len(other_text)}/{len(base)}", flush=True)
            for q in other_text[:10]:
                print(f"   differs: {q!r}: faiss {base[q] and base[q][:3]}, {store} {other[q] and other[q][:3]}",
                      flush=True)


if __name__ == "__main__":
    main()
