"""The `citebot` command. Errors become one line on stderr here, and nowhere below."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Sequence

from index.errors import CitebotError, ConfigError, IndexNotFound, NothingIndexed


def _common(parser: argparse.ArgumentParser, docs: bool = True, collection: str = "") -> None:
    parser.add_argument("--config", help="config file (default: ./citebot.yaml if present)")
    if docs:
        parser.add_argument("--docs", action="append", metavar="DIR", help="docs folder (repeatable)")
    parser.add_argument("--index-dir", metavar="DIR", help="index folder")
    if collection:
        parser.add_argument("--collection", metavar="NAME", help=collection)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="citebot", description="Answer questions from your documents by quoting them.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("index", help="build or update the index")
    p.set_defaults(func=_index)
    _common(p, collection="only this collection (default: every one)")
    p.add_argument("--rebuild", action="store_true", help="re-embed everything")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--watch", action="store_true", help="keep running and re-index when files change")

    p = sub.add_parser("ask", help="answer a question ('-' reads questions from stdin)")
    p.set_defaults(func=_ask)
    _common(p, collection="the collection to ask (default: the only one, else default_collection)")
    p.add_argument("-k", type=int, metavar="N", help="excerpts per answer")
    p.add_argument("--json", action="store_true", help="one JSON object per answer")
    p.add_argument("question", nargs="+", help="the question, or - for one question per line on stdin")

    p = sub.add_parser("status", help="show what is indexed")
    p.set_defaults(func=_status)
    _common(p, docs=False, collection="only this collection (default: every one)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--verify", action="store_true",
                   help="hash every index file in full (loading samples large files)")

    p = sub.add_parser("config", help="print the effective configuration")
    p.set_defaults(func=_config)
    _common(p)
    p.add_argument("--reference", action="store_true",
                   help="print every key with its default and meaning (the README's table) instead")

    p = sub.add_parser("eval", help="score answers against an eval file (YAML or SQuAD JSON)")
    p.set_defaults(func=_eval)
    _common(p, collection="the collection to score (default: the only one, else default_collection)")
    p.add_argument("file")
    p.add_argument("--json", action="store_true")
    p.add_argument("--limit", type=int, help="only the first N questions")
    p.add_argument("--negative", action="store_true",
                   help="ask the questions of the configured docs instead; every one should be declined")
    p.add_argument("--only", action="append", metavar="KEY=VALUE", default=[],
                   help="only questions whose KEY has VALUE, e.g. --only split=held_out --only corpus=black")

    p = sub.add_parser("gaps", help="what the docs don't answer: declined, 👎 and low-score questions from the "
                                    "question log, grouped by meaning")
    p.set_defaults(func=_gaps)
    _common(p, docs=False, collection="the collection (default: the only one, else default_collection)")
    p.add_argument("--since", default="30d", help="the period: 14d, 2w, 12h, or a date such as 2026-11-01 "
                                                  "(default: 30d)")
    p.add_argument("--limit", type=int, default=20, metavar="N", help="groups shown (default: 20)")
    p.add_argument("--json", action="store_true", help="the report as JSON")
    p.add_argument("--html", metavar="FILE", help="also write the report as one self-contained HTML page")

    p = sub.add_parser("forget", help="remove logged questions older than question_log_days (--all: every one)")
    p.set_defaults(func=_forget)
    _common(p, docs=False, collection="only this collection (default: every one)")
    p.add_argument("--all", action="store_true", help="remove every logged question and vote")

    p = sub.add_parser("run", help="run the Discord bot (token from DISCORD_TOKEN)")
    p.set_defaults(func=_run)
    _common(p)
    return parser


class Stopped(BaseException):
    """SIGTERM (docker stop, systemd, Kubernetes): unwinds like Ctrl-C, and a half-built
    generation is removed on the way out (index/store.py), but it is a normal end: exit 0."""


def _stop(signum, frame) -> None:
    raise Stopped


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    previous = signal.signal(signal.SIGTERM, _stop) if threading.current_thread() is threading.main_thread() else None
    try:
        return _dispatch(args)
    except CitebotError as err:
        if isinstance(err, NothingIndexed):  # why nothing could be indexed, file by file
            from bot.render import visible

            for path, reason in err.skipped:
                print(f"skipped {visible(path)}: {visible(reason)}", file=sys.stderr)
        print(f"citebot: error: {err}", file=sys.stderr)
        return 2
    except Stopped:
        print("citebot: stopped", file=sys.stderr)
        return 0
    except KeyboardInterrupt:
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _settings(args):
    from bot.config import load_settings

    overrides = {"docs": getattr(args, "docs", None), "index_dir": args.index_dir}
    if getattr(args, "k", None) is not None:
        overrides["k"] = args.k
    if getattr(args, "watch", False):
        overrides["watch"] = True
    return load_settings(args.config, overrides=overrides)


def configure_logging(settings) -> None:
    logging.basicConfig(level=settings.log_level, format=settings.log_format, stream=sys.stderr)
    for handler in logging.getLogger().handlers:
        handler.addFilter(_quiet_libraries)


_NOISY = ("faiss", "sentence_transformers", "bm25s", "transformers", "httpx", "huggingface_hub")


def _quiet_libraries(record: logging.LogRecord) -> bool:
    """Libraries narrate their own start-up below WARNING; only their warnings are worth a line."""
    return record.levelno >= logging.WARNING or not record.name.startswith(_NOISY)


def _dispatch(args) -> int:
    settings = _settings(args)
    if settings.collections and getattr(args, "docs", None):
        raise ConfigError("--docs: collections are configured, each with its docs; choose one with --collection")
    configure_logging(settings)
    return args.func(settings, args)


def _config(settings, args) -> int:
    from bot.config import as_display, reference_table

    import yaml

    if args.reference:
        print(reference_table())
    else:
        print(yaml.safe_dump(as_display(settings), sort_keys=False, allow_unicode=True), end="")
    return 0


def _run(settings, args) -> int:
    from bot.discord.app import run_bot

    return run_bot(settings)


def _eval(settings, args) -> int:
    from bot.evaluate import run_eval_command

    only = {}
    for item in args.only:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--only {item!r}: expected KEY=VALUE, e.g. split=held_out")
        only[key] = value
    library = _library(settings)
    settings = library.settings_for(library.named(args.collection))
    return run_eval_command(settings, args.file, as_json=args.json, limit=args.limit, negative=args.negative,
                            only=only)


def _library(settings):
    from bot.library import Library

    return Library(settings)


def _chosen(library, args) -> tuple[str, ...]:
    """The collections a command works on: the one named, else every one."""
    return (library.named(args.collection),) if args.collection else library.names


def _index(settings, args) -> int:
    library = _library(settings)
    names = _chosen(library, args)
    for name in names:
        if len(library.names) > 1 and not args.json:
            print(f"collection {name}:")
        _print_report(library.service(name).reindex(rebuild=args.rebuild, progress=_progress_bar), args.json,
                      name if len(library.names) > 1 else None)
    if settings.watch:
        from bot.watch import watch_and_reindex

        print("watching for changes (Ctrl-C to stop)", file=sys.stderr)
        watch_and_reindex([library.service(name) for name in names],
                          on_report=lambda r: _print_report(r, args.json),
                          on_error=lambda err: print(f"citebot: error: {err}", file=sys.stderr, flush=True))
    return 0


def _status(settings, args) -> int:
    from bot.render import visible

    library = _library(settings)
    names = _chosen(library, args)
    several = len(library.names) > 1
    for n, name in enumerate(names):
        service = library.service(name)
        if several and not args.json:
            print(("\n" if n else "") + f"collection: {name}")
        try:
            status = service.status()
        except IndexNotFound:
            if len(names) == 1:
                raise
            print(json.dumps({"collection": name, "built": False}) if args.json
                  else f"not built yet (run: citebot index --collection {name})")
            continue
        if args.verify:
            files = service.verify()
            print(f"verified {files} files of generation {status.generation} of {name}: intact", file=sys.stderr)
        if args.json:
            print(json.dumps({"collection": name, "built": True, **status.__dict__}))
            continue
        built = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(status.built_at))
        print(f"index:      {status.index_dir} (generation {status.generation})")
        print(f"docs:       {', '.join(status.docs)}")
        print(f"model:      {status.model}")
        print(f"documents:  {status.documents}")
        print(f"passages:   {status.passages}")
        print(f"dense:      {status.dense_index}")
        print(f"reader:     {status.reader}")
        print("formats:    " + ", ".join(name for name, why in status.formats if not why))
        for name, why in status.formats:
            if why:
                print(f"unreadable: {name} files cannot be read here ({visible(why)}); reinstall citebot")
        print(f"built:      {built}")
        for label, problem in (("damaged", status.warning), ("stale", status.stale)):
            if problem:
                print(f"{label + ':':<11} {visible(problem)}")
    return 0


def _ask(settings, args) -> int:
    from bot.render import render_json, render_text

    library = _library(settings)
    service = library.service(library.named(args.collection))
    single = args.question != ["-"]
    if single and not " ".join(args.question).strip():
        raise ConfigError("the question is empty; ask e.g.: citebot ask \"when was the bridge built?\"")
    report = service.ensure_index(progress=_progress_bar)
    if report is not None:
        print(f"indexed {report.documents} documents, {report.passages} passages in {report.seconds:.1f}s",
              file=sys.stderr)
        _print_skipped(report)
    service.searcher  # noqa: B018 - opened now, so a fallback to an older generation is known before answering
    for warning in (service.warning, service.stale_reason(), service.degraded()):
        if warning:
            print(f"citebot: warning: {warning}", file=sys.stderr)
    questions = iter([" ".join(args.question)]) if single else (line.strip() for line in sys.stdin)
    color = sys.stdout.isatty()
    first, failed = True, 0
    for question in questions:
        if not question:
            continue
        try:
            answer = service.ask(question, k=args.k)
        except CitebotError as err:  # one question's failure; the rest of a batch is still answered
            print(f"citebot: error: {question[:80]!r}: {err}", file=sys.stderr, flush=True)
            failed += 1
            continue
        if args.json:
            print(render_json(answer), flush=True)
        else:
            if not first:
                print("\n" + "─" * 40)
            print(render_text(answer, color=color), flush=True)
        first = False
    return 2 if failed else 0


def _gaps(settings, args) -> int:
    from pathlib import Path

    from bot.chat.question_log import open_log
    from bot.gaps import collection_report, parse_since
    from bot.gaps_render import render_gaps_html, render_gaps_text

    library = _library(settings)
    name = library.named(args.collection)
    questions = open_log(library.settings_for(name))
    if not questions.path.exists():
        raise ConfigError(f"no question log for collection {name} ({questions.path}); set question_log: true "
                          "and the bot keeps one")
    if args.limit < 1:
        raise ConfigError(f"--limit {args.limit}: show at least one group")
    now = time.time()
    report = collection_report(questions, library.service(name), name, parse_since(args.since, now), now,
                               settings.gaps_low_score, args.limit)
    if args.html:
        try:
            Path(args.html).write_text(render_gaps_html(report), encoding="utf-8")
        except OSError as err:
            raise ConfigError(f"--html {args.html}: cannot be written ({err.strerror or err})") from None
    print(json.dumps(report.to_dict(), ensure_ascii=False) if args.json else render_gaps_text(report))
    return 0


def _forget(settings, args) -> int:
    from bot.chat.question_log import open_log

    library = _library(settings)
    for name in _chosen(library, args):
        questions = open_log(library.settings_for(name))
        removed = questions.forget(everything=args.all)
        kept = "none kept" if args.all else f"kept the last {settings.question_log_days:g} days"
        print(f"collection {name}: removed {removed} logged question{'s' if removed != 1 else ''} ({kept})")
    return 0


def _progress_bar(total: int):
    from tqdm import tqdm

    bar = tqdm(total=total, unit="document", desc="embedding", file=sys.stderr, leave=False,
               disable=not sys.stderr.isatty())

    def advance(n: int) -> None:
        bar.update(n)
        if bar.n >= total:
            bar.close()

    return advance


def _print_skipped(report) -> None:
    from bot.render import visible

    for s in report.skipped:
        print(f"skipped {visible(s.path)}: {visible(s.reason)}", file=sys.stderr)


def _print_report(report, as_json: bool, collection: str | None = None) -> None:
    from bot.render import visible

    if as_json:
        data = report.as_dict()
        if collection is not None:
            data["collection"] = collection
        print(json.dumps(data), flush=True)
        return
    if report.rebuild_reason:
        print(f"full rebuild: {report.rebuild_reason}")
    if not report.wrote:
        print(f"index is up to date: {report.documents} documents, {report.passages} passages "
              f"({report.seconds:.2f}s)")
    else:
        print(f"indexed {report.documents} documents, {report.passages} passages in {report.seconds:.1f}s "
              f"(generation {report.generation})")
        print(f"  added {len(report.added)}, changed {len(report.changed)}, removed {len(report.removed)}, "
              f"unchanged {report.unchanged}; passages embedded: {report.embedded}")
    for s in report.skipped:
        print(f"  skipped {visible(s.path)}: {visible(s.reason)}")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
