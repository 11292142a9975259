"""Build or update the index from the docs folders, embedding only what changed."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from index.chunking import ChunkSettings, Passage, chunk_document
from index.documents import Document, iter_candidate_files, parse_document, read_file_bytes, sha256_bytes
from index.embedding import Embedder
from index.errors import DocsError, IndexCorrupt, SkippedFile
from index.store import (
    Compatibility, DocumentInfo, DocumentRows, clean_leftovers, current_manifest, index_lock, load_generation,
    write_generation,
)

ProgressFactory = Callable[[int], Callable[[int], None]]


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


def scan_docs(docs_folders: Sequence[str], max_file_bytes: int) -> tuple[list[SourceFile], list[Skipped]]:
    files: list[SourceFile] = []
    skipped: list[Skipped] = []
    for folder in docs_folders:
        root = Path(folder)
        if not root.exists():
            raise DocsError(f"docs folder {folder} does not exist")
        if not root.is_dir():
            raise DocsError(f"docs folder {folder} is not a folder")
        for file in iter_candidate_files(root):
            relpath = file.relative_to(root).as_posix()
            shown = f"{folder.rstrip('/')}/{relpath}"
            try:
                data = read_file_bytes(file, max_file_bytes)
            except SkippedFile as why:
                skipped.append(Skipped(shown, str(why)))
                continue
            files.append(SourceFile(shown, relpath, file, data, sha256_bytes(data)))
    return files, skipped


def update_index(
    docs_folders: Sequence[str],
    index_dir: Path,
    embedder: Embedder,
    chunking: ChunkSettings,
    max_file_bytes: int,
    rebuild: bool = False,
    progress: ProgressFactory | None = None,
) -> IndexReport:
    """Bring the index in line with the docs folders; unchanged documents keep their vectors."""
    started = time.perf_counter()
    compat = Compatibility.of(embedder.model_name, chunking)
    files, skipped = scan_docs(docs_folders, max_file_bytes)
    with index_lock(index_dir):
        clean_leftovers(index_dir)
        previous, reason = _reusable_generation(index_dir, compat, rebuild)
        old_docs: dict[str, dict] = previous.manifest["documents"] if previous else {}
        current = {f.path: f for f in files}
        removed = tuple(sorted(set(old_docs) - set(current)))
        unchanged = [p for p, f in current.items() if p in old_docs and old_docs[p]["sha256"] == f.sha256]
        known_bad = {
            s[0]: Skipped(*s) for s in (previous.manifest.get("skipped", []) if previous else []) if len(s) == 3
        }
        for path, f in current.items():
            if path in known_bad and known_bad[path].sha256 == f.sha256:
                skipped.append(known_bad[path])
        skip_paths = {s.path for s in skipped}
        to_embed = [f for p, f in sorted(current.items()) if p not in unchanged and p not in skip_paths]
        same_folders = previous is not None and previous.manifest.get("docs") == list(docs_folders)
        if previous is not None and not to_embed and not removed and same_folders:
            report = _report(previous.manifest, (), (), (), len(unchanged), 0, skipped, started, "", False)
            previous.close()
            return report

        new_rows, parse_skipped = _embed_documents(to_embed, embedder, chunking, progress)
        skipped.extend(parse_skipped)
        rows_by_path = {r.document.path: r for r in new_rows}
        if previous is not None:
            # A document that turned bad keeps its last good version until it is fixed.
            kept_bad = [s.path for s in skipped if s.path in old_docs and s.path in current]
            for path in [*unchanged, *kept_bad]:
                rows_by_path[path] = previous.document_rows(path)
            previous.close()
            skipped = [
                Skipped(s.path, f"{s.reason} (still answering from its previous version)", s.sha256)
                if s.path in kept_bad and "previous version" not in s.reason else s
                for s in skipped
            ]
        if not rows_by_path:
            where = ", ".join(docs_folders)
            detail = f"; {len(skipped)} file(s) skipped" if skipped else ""
            raise DocsError(f"nothing to index in {where}{detail}")
        rows = [rows_by_path[p] for p in sorted(rows_by_path)]
        manifest = write_generation(
            index_dir, compat, embedder.dimension, docs_folders, rows,
            [(s.path, s.reason, s.sha256) for s in skipped],
        )
        added = tuple(sorted(r.document.path for r in new_rows if r.document.path not in old_docs))
        changed = tuple(sorted(r.document.path for r in new_rows if r.document.path in old_docs))
        embedded = sum(len(r.passages) for r in new_rows)
        return _report(manifest, added, changed, removed, len(unchanged), embedded, skipped, started, reason, True)


def _reusable_generation(index_dir: Path, compat: Compatibility, rebuild: bool):
    """The current generation if its vectors can be reused, else None and why not."""
    try:
        manifest = current_manifest(index_dir)
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
        return load_generation(index_dir, compat), ""
    except IndexCorrupt as err:
        return None, f"previous index unusable ({err})"


def _embed_documents(
    files: Sequence[SourceFile], embedder: Embedder, chunking: ChunkSettings, progress: ProgressFactory | None,
) -> tuple[list[DocumentRows], list[Skipped]]:
    parsed: list[tuple[Document, list[Passage]]] = []
    skipped: list[Skipped] = []
    for f in files:
        try:
            doc = parse_document(f.data, f.path, f.relpath)
        except SkippedFile as why:
            skipped.append(Skipped(f.path, str(why), f.sha256))
            continue
        passages = chunk_document(doc, chunking, embedder.count_tokens)
        if not passages:
            skipped.append(Skipped(f.path, "no text to index (only images, headings or blank lines)", f.sha256))
            continue
        parsed.append((doc, passages))

    all_passages = [p for _, passages in parsed for p in passages]
    texts = [p.text for p in all_passages]
    spans = [[(a - p.start, b - p.start) for a, b in p.sentences] if p.kind == "text" else [] for p in all_passages]
    tick = progress(len(texts)) if progress and texts else None
    vectors, sentence_vectors = embedder.encode_passages(texts, spans, tick) if texts else (None, [])

    rows: list[DocumentRows] = []
    at = 0
    now = time.time()
    for doc, passages in parsed:
        n = len(passages)
        rows.append(DocumentRows(
            DocumentInfo(doc.path, doc.relpath, doc.title, doc.author, doc.sha256, n, now),
            doc.text,
            passages,
            np.asarray(vectors[at:at + n]),
            sentence_vectors[at:at + n],
        ))
        at += n
    return rows, skipped


def _report(manifest, added, changed, removed, unchanged, embedded, skipped, started, reason, wrote) -> IndexReport:
    return IndexReport(
        documents=manifest["counts"]["documents"],
        passages=manifest["counts"]["passages"],
        added=tuple(added), changed=tuple(changed), removed=tuple(removed),
        unchanged=unchanged, embedded=embedded, skipped=tuple(skipped),
        seconds=time.perf_counter() - started, rebuild_reason=reason,
        generation=int(manifest.get("generation", 0)), wrote=wrote,
    )
