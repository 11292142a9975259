"""Build or update the index from the docs folders, embedding only what changed."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from index.chunking import ChunkSettings, Passage, chunk_document, context_line, matched_text
from index.converters import Converter, Limits, registry
from index.converters.isolation import ConversionWorker
from index.documents import Document, build_document, iter_candidate_files, read_file_bytes, sha256_bytes
from index.embedding import Embedder
from index.errors import DocsError, IndexCorrupt, IndexEmpty, NothingIndexed, SkippedFile
from index.generation import Compatibility, DocumentInfo, DocumentRows, GenerationStore
from index.revisions import read_checkout

ProgressFactory = Callable[[int], Callable[[int], None]]  # total documents -> advance(documents done)
# Documents parsed and embedded together: enough passages for full, length-sorted batches,
# few enough that memory does not grow with the corpus.
_EMBED_BATCH_FILES = 256


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str
    sha256: str = ""  # set when the file was read, so an unchanged bad file is not parsed again


@dataclass(frozen=True)
class IndexReport:
    documents: int
    passages: int
    added: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]
    unchanged: int
    embedded: int
    skipped: tuple[Skipped, ...]
    seconds: float
    rebuild_reason: str
    generation: int
    wrote: bool

    def as_dict(self) -> dict:
        data = asdict(self)
        data["skipped"] = [{"path": s.path, "reason": s.reason} for s in self.skipped]
        return data


@dataclass(frozen=True)
class SourceFile:
    path: str  # shown to users: docs folder as configured + path inside it
    relpath: str
    file: Path
    data: bytes
    sha256: str
    converter: Converter
    revision: str = ""  # the git commit holding exactly these bytes at this path ("": none; index/revisions.py)


def scan_docs(docs_folders: Sequence[str], max_file_bytes: int,
              outside_allowed: bool = False) -> tuple[list[SourceFile], list[Skipped]]:
    converters = registry()
    files: list[SourceFile] = []
    skipped: list[Skipped] = []
    for folder in docs_folders:
        root = Path(folder)
        if not root.exists():
            raise DocsError(f"docs folder {folder} does not exist")
        if not root.is_dir():
            raise DocsError(f"docs folder {folder} is not a folder")
        checkout = read_checkout(root)
        first = len(files)
        for file in iter_candidate_files(root):
            relpath = file.relative_to(root).as_posix()
            shown = shown_path(folder, relpath)
            if not _is_utf8(relpath):  # the name holds bytes that are not UTF-8 (shown here as U+FFFD)
                shown = shown.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
                skipped.append(Skipped(shown, "file name is not valid UTF-8; rename it to index it"))
                continue
            try:
                data = read_file_bytes(file, max_file_bytes, root, outside_allowed)
            except SkippedFile as why:
                skipped.append(Skipped(shown, str(why)))
                continue
            sha256 = sha256_bytes(data)
            try:
                converter = converters.choose(relpath, data[:4096])
            except SkippedFile as why:
                skipped.append(Skipped(shown, str(why), sha256))
                continue
            files.append(SourceFile(shown, relpath, file, data, sha256, converter))
        if checkout is not None:  # which commit holds each file, asked of git once per folder
            mine = range(first, len(files))
            revisions = checkout.revisions([(files[k].relpath, files[k].data) for k in mine])
            for k in mine:
                files[k] = replace(files[k], revision=revisions[files[k].relpath])
    return files, skipped


def changes_since_build(docs_folders: Sequence[str], store: GenerationStore) -> tuple[int, int, int]:
    """Files added, changed and removed in the docs folders since the current generation was
    built, by names and modification times only (nothing is read); zeros when there is none."""
    known, built_at = store.indexed_files()
    if not built_at:
        return 0, 0, 0
    present: dict[str, float] = {}
    for folder in docs_folders:
        root = Path(folder)
        if root.is_dir():
            for file in iter_candidate_files(root):
                with contextlib.suppress(OSError):
                    present[shown_path(folder, file.relative_to(root).as_posix())] = file.lstat().st_mtime
    changed = sum(1 for path, mtime in present.items() if path in known and mtime > built_at)
    return len(set(present) - known), changed, len(known - set(present))


def shown_path(folder: str, relpath: str) -> str:
    """A document's path as people see it: its docs folder as configured, then its path inside."""
    return f"{folder.rstrip('/')}/{relpath}"


def _is_utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def update_index(
    docs_folders: Sequence[str],
    store: GenerationStore,
    embedder: Embedder,
    chunking: ChunkSettings,
    max_file_bytes: int,
    rebuild: bool = False,
    progress: ProgressFactory | None = None,
    dense_index: str = "auto",
    limits: Limits = Limits(),
    follow_links_outside_docs: bool = False,
) -> IndexReport:
    """Bring the index in line with the docs folders; unchanged documents keep their vectors."""
    started = time.perf_counter()
    compat = Compatibility.of(embedder.model_name, chunking)
    files, skipped = scan_docs(docs_folders, max_file_bytes, follow_links_outside_docs)
    with store.lock():
        store.clean_leftovers()
        previous, reason = _reusable_generation(store, compat, rebuild)
        old_docs = {d.path: d for d in previous.documents()} if previous else {}
        current = {f.path: f for f in files}
        removed = tuple(sorted(set(old_docs) - set(current)))
        # A file read by a newer version of its converter is read again, even with the same bytes.
        unchanged = [p for p, f in current.items()
                     if p in old_docs and old_docs[p].sha256 == f.sha256 and old_docs[p].converter == f.converter.key]
        known_bad = {
            s[0]: Skipped(*s) for s in (previous.manifest.get("skipped", []) if previous else []) if len(s) == 3
        }
        for path, f in current.items():
            if path in known_bad and known_bad[path].sha256 == f.sha256:
                skipped.append(known_bad[path])
        skip_paths = {s.path for s in skipped}
        to_embed = [f for p, f in sorted(current.items()) if p not in unchanged and p not in skip_paths]
        # The same bytes under another path (a moved file, or the docs folder spelled another
        # way: ./docs, docs, /abs/docs) keep their vectors: nothing in them depends on the path.
        by_content: dict[tuple[str, str], list[DocumentInfo]] = {}
        for old in old_docs.values():
            if old.path not in current:
                by_content.setdefault((old.sha256, old.converter), []).append(old)
        moved = {f.path: old for f in to_embed if (old := _same_content(f, by_content))}
        to_embed = [f for f in to_embed if f.path not in moved]
        same_folders = previous is not None and previous.manifest.get("docs") == list(docs_folders)
        same_dense = previous is not None and store.layout_matches(previous.manifest, dense_index)
        # A commit made since (of bytes already indexed) is named in links: written, not re-embedded.
        committed = any(current[p].revision and current[p].revision != old_docs[p].revision for p in unchanged)
        if previous is not None and not to_embed and not removed and same_folders and same_dense and not committed:
            report = _report(previous.manifest, (), (), (), len(unchanged), 0, skipped, started, "", False)
            previous.close()
            return report

        fresh_paths: list[str] = []
        embedded_passages = 0
        kept_bad: list[str] = []
        manifest_skipped: list[tuple[str, str, str]] = []  # filled when rows() is exhausted
        unchanged_set = set(unchanged)

        def rows() -> Iterator[DocumentRows]:
            nonlocal embedded_passages
            fresh = _embed_documents(to_embed, embedder, chunking, progress, skipped, limits)
            pending = next(fresh, None)
            for path in sorted(current):
                if pending is not None and pending.document.path == path:
                    fresh_paths.append(path)
                    embedded_passages += len(pending.passages)
                    yield pending
                    pending = next(fresh, None)
                elif path in moved:
                    fresh_paths.append(path)
                    yield _moved_rows(previous.document_rows(moved[path].path), current[path])
                elif path in old_docs:
                    # Unchanged, or turned bad: a bad document keeps its last good version until fixed.
                    if path not in unchanged_set:
                        kept_bad.append(path)
                        yield previous.document_rows(path)
                    else:
                        yield _same_rows(previous.document_rows(path), current[path])
            for s in skipped:
                why = s.reason
                if s.path in kept_bad and "previous version" not in why:
                    why = f"{why} (still answering from its previous version)"
                manifest_skipped.append((s.path, why, s.sha256))

        try:
            manifest = store.write(compat, embedder.dimension, docs_folders, rows(), manifest_skipped, dense_index)
        except IndexEmpty:
            where = ", ".join(docs_folders)
            detail = f"; {len(skipped)} file(s) skipped" if skipped else ""
            raise NothingIndexed(f"nothing to index in {where}{detail}",
                                 tuple((s.path, s.reason) for s in skipped)) from None
        finally:
            if previous is not None:
                previous.close()
        skipped = [Skipped(*record) for record in manifest_skipped]
        added = tuple(p for p in fresh_paths if p not in old_docs)
        changed = tuple(p for p in fresh_paths if p in old_docs)
        return _report(manifest, added, changed, removed, len(unchanged), embedded_passages, skipped, started,
                       reason, True)


def _same_content(f: SourceFile, gone: dict[tuple[str, str], list[DocumentInfo]]) -> DocumentInfo | None:
    """A document whose path is gone, with f's bytes and converter, if its vectors fit f: same
    path inside the folder, or a title that did not come from the file name (the title is part
    of what was embedded)."""
    candidates = gone.get((f.sha256, f.converter.key), [])
    for old in candidates:
        if old.relpath == f.relpath or old.title != Path(old.relpath).name:
            candidates.remove(old)  # one new path per old document
            return old
    return None


def _same_rows(rows: DocumentRows, f: SourceFile) -> DocumentRows:
    """An unchanged document's rows, naming the commit that holds it now when one does (the
    one it was read at holds it too, but may be older than the branch's history people browse)."""
    if f.revision and f.revision != rows.document.revision:
        rows.document = replace(rows.document, revision=f.revision)
    return rows


def _moved_rows(rows: DocumentRows, f: SourceFile) -> DocumentRows:
    info = replace(rows.document, path=f.path, relpath=f.relpath, indexed_at=time.time(), revision=f.revision)
    passages = [replace(p, doc_path=f.path) for p in rows.passages]
    return DocumentRows(info, rows.text, passages, rows.vectors, rows.sentence_vectors)


def _reusable_generation(store: GenerationStore, compat: Compatibility, rebuild: bool):
    """The current generation if its vectors can be reused, else None and why not."""
    try:
        manifest = store.current_manifest()
    except IndexCorrupt as err:
        return None, f"previous index unusable ({err})"
    if manifest is None:
        return None, ""
    if rebuild:
        return None, "--rebuild asked for a full rebuild"
    mismatch = compat.mismatch(manifest)
    if mismatch:
        return None, mismatch
    try:
        return store.open(compat), ""
    except IndexCorrupt as err:
        return None, f"previous index unusable ({err})"


def read_document(f: SourceFile, worker: ConversionWorker) -> Document:
    """A file through its converter (in the bounded child process when the converter asks for it)."""
    converter = f.converter
    converted = (worker.convert(converter, f.data, f.relpath) if converter.isolated
                 else converter.convert(f.data, f.relpath, worker.limits))
    return build_document(converted, f.sha256, f.path, f.relpath, converter.key)


def _embed_documents(
    files: Sequence[SourceFile], embedder: Embedder, chunking: ChunkSettings,
    progress: ProgressFactory | None, skipped: list[Skipped], limits: Limits,
) -> Iterator[DocumentRows]:
    """Convert, chunk and embed files in path order, a batch at a time; bad files go to skipped."""
    with ConversionWorker(limits) as worker:
        tick = progress(len(files)) if progress and files else None
        for start in range(0, len(files), _EMBED_BATCH_FILES):
            batch = files[start:start + _EMBED_BATCH_FILES]
            parsed: list[tuple[Document, list[Passage], str]] = []
            for f in batch:
                try:
                    doc = read_document(f, worker)
                except SkippedFile as why:
                    skipped.append(Skipped(f.path, str(why), f.sha256))
                    continue
                passages = chunk_document(doc, chunking, embedder.count_tokens)
                if not passages:
                    skipped.append(Skipped(f.path, "no text to index (only images, headings or blank lines)", f.sha256))
                    continue
                parsed.append((doc, passages, f.revision))
            all_passages = [p for _, passages, _ in parsed for p in passages]
            # Each passage is embedded after its context line, so its sentences are read in context
            # too; their offsets move by the context's length. What is embedded is the matched text:
            # markup blanked out, same length, so the offsets hold.
            titles = [doc.title for doc, passages, _ in parsed for _ in passages]
            contexts = [context_line(title, p.section) + "\n" for title, p in zip(titles, all_passages)]
            matched = [matched_text(p) for p in all_passages]
            texts = [context + m for context, m in zip(contexts, matched)]
            spans = [[(a - p.start + len(context), b - p.start + len(context)) for a, b in p.sentences]
                     if p.kind == "text" else [] for context, p in zip(contexts, all_passages)]
            # Each sentence is also read on its own after the context line: "the town" under a title that names it.
            span_texts = [[context + m[a - p.start:b - p.start] for a, b in p.sentences] if p.kind == "text" else []
                          for context, p, m in zip(contexts, all_passages, matched)]
            vectors, sentence_vectors = (embedder.encode_passages(texts, spans, span_texts=span_texts)
                                         if texts else (None, []))
            at = 0
            now = time.time()
            for doc, passages, revision in parsed:
                n = len(passages)
                yield DocumentRows(
                    DocumentInfo(doc.path, doc.relpath, doc.title, doc.author, doc.sha256, n, now, doc.converter,
                                 doc.pages, doc.headings, doc.first_line, revision),
                    doc.text,
                    passages,
                    np.asarray(vectors[at:at + n]),
                    sentence_vectors[at:at + n],
                )
                at += n
            if tick is not None:
                tick(len(batch))


def _report(manifest, added, changed, removed, unchanged, embedded, skipped, started, reason, wrote) -> IndexReport:
    return IndexReport(
        documents=manifest["counts"]["documents"],
        passages=manifest["counts"]["passages"],
        added=tuple(added), changed=tuple(changed), removed=tuple(removed),
        unchanged=unchanged, embedded=embedded, skipped=tuple(skipped),
        seconds=time.perf_counter() - started, rebuild_reason=reason,
        generation=int(manifest.get("generation", 0)), wrote=wrote,
    )
