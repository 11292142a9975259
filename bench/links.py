"""Where citation links land, in a real browser.

For documentation as published (Sphinx, mdBook and DocBook HTML) and for sites built here from
their sources (MkDocs from Markdown, Sphinx from reStructuredText), each question's first
citation is opened in headless Chromium from a loopback server, and checked:

- page: the address exists (HTTP 200);
- section: the link names a section, and an element with that id is on the page;
- quote: the link carries a text fragment and the quoted words are on screen once it loads.

Every question is answered (threshold 0): this measures where a citation's link lands, not
whether the first excerpt answers. Only `tune`/`train` questions are asked; nothing is fitted.

    python bench/links.py [--questions 60] [--work /tmp/citebot-links]

Needs Chromium and ChromeDriver (Debian: chromium chromium-driver) and the bench extra
(`pip install -e '.[bench]'`: Sphinx and MkDocs build the two source sites).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import unquote

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.config import Settings  # noqa: E402
from bot.links import LinkSettings  # noqa: E402
from bot.service import CitebotService  # noqa: E402
from index.embedding import DEFAULT_MODEL, shared_embedder  # noqa: E402
from tests.browser import ON_SCREEN, chromium, missing, on_screen, served  # noqa: E402

EVAL = ROOT.parent / "shared" / "eval"
TRAIN = ROOT / "bench" / "train_data"


@dataclass(frozen=True)
class Site:
    name: str
    docs: Path  # what is indexed
    questions: Path
    splits: tuple[str, ...]
    template: str  # after the server's address
    headings: str = "none"
    build: str = ""  # "", "mkdocs" or "sphinx": the site is built from docs


SITES = (
    Site("python_docs (Sphinx HTML)", EVAL / "python_docs", EVAL / "python_docs.yaml", ("tune",), "{path}"),
    Site("rust_book (mdBook HTML)", EVAL / "rust_book", EVAL / "rust_book.yaml", ("tune",), "{path}"),
    Site("debian_faq (DocBook HTML)", EVAL / "debian_faq", EVAL / "debian_faq.yaml", ("tune",), "{path}"),
    Site("httpx_docs (Markdown, built by MkDocs)", TRAIN / "httpx_docs", TRAIN / "httpx_docs.yaml", ("train",),
         "{stem}/", "mkdocs", "mkdocs"),
    Site("flask_docs (rST, built by Sphinx)", TRAIN / "flask_docs" / "docs", TRAIN / "flask_docs.yaml", ("train",),
         "{base}.html", "sphinx", "sphinx"),
)


def build_site(site: Site, work: Path) -> Path:
    """The folder to serve: the docs as published, or a site built from them here."""
    if not site.build:
        return site.docs
    out = work / "site"
    if out.exists():
        return out
    source = work / "source"
    shutil.copytree(site.docs, source, dirs_exist_ok=True)
    if site.build == "mkdocs":
        # MkDocs' own defaults: its table of contents names the headings (Python-Markdown's toc).
        config = work / "mkdocs.yml"
        config.write_text(yaml.safe_dump({"site_name": site.name, "docs_dir": str(source), "site_dir": str(out),
                                          "markdown_extensions": ["toc", "attr_list"]}))
        subprocess.run([sys.executable, "-m", "mkdocs", "build", "-q", "-f", str(config)], check=True)
    else:
        # The project's own conf.py needs its theme and extensions; Sphinx's defaults read the same
        # sections (unknown roles are reported and left as text).
        # Training corpora hold a subset of the pages: any page may be the root one.
        root = "index" if (source / "index.rst").exists() else min(p.stem for p in source.glob("*.rst"))
        (source / "conf.py").write_text(f"project = 'docs'\nroot_doc = {root!r}\nhtml_theme = 'alabaster'\n")
        subprocess.run([sys.executable, "-m", "sphinx", "-q", "-b", "html", str(source), str(out)], check=True,
                       stderr=subprocess.DEVNULL)
    return out


def comes_on_screen(driver, words: str, seconds: float = 5.0) -> bool:
    """Whether the words come to be on screen within seconds: a page that loads a script from a
    CDN (unreachable here) scrolls to its fragment only once that request fails."""
    import time

    deadline = time.monotonic() + seconds
    while True:
        if on_screen(driver.execute_script(ON_SCREEN, words)):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.25)


def answer_ms(service, questions: list[str], rounds: int = 3) -> tuple[float, float]:
    """p50 of an answer with its links built and without (the same service, linker off)."""
    linker = service.linker
    timed: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(rounds):
        for linked in (True, False):
            service.linker = linker if linked else None
            for question in questions:
                started = time.perf_counter()
                service.ask(question)
                timed[linked].append((time.perf_counter() - started) * 1000)
    service.linker = linker
    return statistics.median(timed[True]), statistics.median(timed[False])


def page_exists(url: str) -> bool:
    try:
        with urllib.request.urlopen(url.split("#", 1)[0], timeout=10) as response:
            return response.status == 200
    except OSError:
        return False


def measure(site: Site, work: Path, embedder, limit: int, driver) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    with served(build_site(site, work)) as address:
        settings = replace(Settings(), docs=(str(site.docs),), index_dir=str(work / "index"), threshold=0.0,
                           links=LinkSettings(f"{address}/{site.template}", headings=site.headings))
        service = CitebotService(settings, embedder)
        service.ensure_index()
        questions = [q for q in yaml.safe_load(site.questions.read_text())["questions"]
                     if q.get("answerable", True) and q.get("split") in site.splits][:limit]
        counts = dict(asked=0, page=0, named=0, section=0, fragment=0, quote=0)
        counts["ms_linked"], counts["ms_plain"] = answer_ms(service, [q["question"] for q in questions])
        for q in questions:
            top = service.ask(q["question"]).excerpts[0]
            url = top.citation.url
            counts["asked"] += 1
            if not url or not page_exists(url):
                continue
            counts["page"] += 1
            fragment = url.partition("#")[2]
            anchor, _, directive = fragment.partition(":~:")
            driver.get("about:blank")
            driver.get(url)
            if anchor:
                counts["named"] += 1
                counts["section"] += bool(driver.execute_script(
                    "return document.getElementById(arguments[0]) !== null", unquote(anchor)))
            if directive.startswith("text="):
                counts["fragment"] += 1
                words = unquote(directive.removeprefix("text=").split(",")[0])
                counts["quote"] += comes_on_screen(driver, words)
        return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=60, help="questions per site")
    parser.add_argument("--work", default="/tmp/citebot-links", help="indexes and built sites")
    args = parser.parse_args()
    if why := missing():
        sys.exit(why)
    embedder = shared_embedder(DEFAULT_MODEL)
    driver = chromium()
    print("| site | links | page found | names a section | section id on the page | marks the quote | "
          "quote on screen | answer p50, linked / not |")
    print("|---|---|---|---|---|---|---|---|")
    try:
        for n, site in enumerate(SITES):
            c = measure(site, Path(args.work) / f"site{n}", embedder, args.questions, driver)
            print(f"| {site.name} | {c['asked']} | {c['page']}/{c['asked']} | {c['named']}/{c['page']} | "
                  f"{c['section']}/{c['named']} | {c['fragment']}/{c['page']} | {c['quote']}/{c['fragment']} | "
                  f"{c['ms_linked']:.1f} / {c['ms_plain']:.1f} ms |",
                  flush=True)
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
