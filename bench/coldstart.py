"""Cold start: process start to first answer (`citebot ask`), and the bot's time to ready.

    python bench/coldstart.py [--index-dir DIR]     (default: an index of seeds/)

Each figure is a fresh process, best of three (the page cache is warm after the first; a
first run after boot reads the model from disk and is slower). Questions are encoded through
ONNX Runtime from the model's checked export (index/onnx_query.py), made once beforehand; the
breakdown says what each step costs: Python imports of citebot, loading the question encoder,
opening the index, and the first answer, and whether torch was imported at all (it should not
be: only indexing needs it). The bot is timed up to the end
of its setup (index open, commands registered) and to the end of its model warm-up, with no
network: connecting to Discord comes on top and runs alongside the warm-up.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CITEBOT = Path(sys.executable).with_name("citebot")

BREAKDOWN = """
import time, json, sys
t0 = time.perf_counter()
from dataclasses import replace
from bot.config import Settings
from bot.service import CitebotService
t1 = time.perf_counter()
service = CitebotService(replace(Settings(), index_dir=sys.argv[1]))
service.embedder.question_encoder()
t2 = time.perf_counter()
service.open()
t3 = time.perf_counter()
service.ask("when was the bridge opened?")
t4 = time.perf_counter()
print(json.dumps({"citebot imports": t1 - t0, "question encoder (ONNX Runtime) ready": t2 - t1,
                  "index open": t3 - t2, "first answer": t4 - t3,
                  "torch imported (0/1)": float("torch" in sys.modules)}))
"""

BOT = """
import asyncio, time, json, sys
t0 = time.perf_counter()
from dataclasses import replace
from bot.config import Settings
from bot.discord.app import create_bot
from bot.service import CitebotService

async def main():
    settings = replace(Settings(), index_dir=sys.argv[1], docs=(sys.argv[2],))
    bot = create_bot(settings, CitebotService(settings), sync_commands=False)
    await bot._async_setup_hook()
    await bot.setup_hook()
    ready = time.perf_counter() - t0
    await bot.warm_up
    print(json.dumps({"setup done (would connect now)": ready, "model warm": time.perf_counter() - t0}))

asyncio.run(main())
"""


def best_of(runs: int, command: list[str]) -> tuple[float, str]:
    best, out = float("inf"), ""
    for _ in range(runs):
        started = time.perf_counter()
        proc = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=True)
        took = time.perf_counter() - started
        if took < best:
            best, out = took, proc.stdout
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--index-dir")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        index_dir, docs = args.index_dir, str(ROOT / "seeds")
        if index_dir:  # the bot re-indexes when its docs differ from the index's: give it the same
            sys.path.insert(0, str(ROOT))
            from index.store import current_manifest

            docs = current_manifest(Path(index_dir))["docs"][0]
        else:
            index_dir = f"{tmp}/index"
            subprocess.run([str(CITEBOT), "index", "--docs", docs, "--index-dir", index_dir], check=True,
                           capture_output=True, cwd=ROOT)
        # The question encoder is exported once per model (seconds, with torch); not part of a start.
        subprocess.run([sys.executable, "-c", BREAKDOWN, index_dir], check=True, capture_output=True, cwd=ROOT)
        status, _ = best_of(3, [str(CITEBOT), "status", "--index-dir", index_dir])
        ask, _ = best_of(3, [str(CITEBOT), "ask", "--index-dir", index_dir, "--docs", docs,
                             "when was the bridge opened?"] if not args.index_dir else
                         [sys.executable, "-c", BREAKDOWN, index_dir])
        _, parts = best_of(3, [sys.executable, "-c", BREAKDOWN, index_dir])
        _, bot = best_of(3, [sys.executable, "-c", BOT, index_dir, docs])
    print(f"index: {args.index_dir or 'seeds/'}")
    print(f"citebot status (health check)       {status:6.2f} s")
    print(f"citebot ask, start to first answer  {ask:6.2f} s")
    for name, seconds in json.loads(parts).items():
        print(f"  {name:<36}{seconds:6.2f} s")
    for name, seconds in json.loads(bot).items():
        print(f"bot: {name:<31}{seconds:6.2f} s")


if __name__ == "__main__":
    main()
