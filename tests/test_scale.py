"""Scale features: the dense index chosen by size, streaming writes, sampled checksums."""

import json
import shutil

import numpy as np
import pytest

from bot.cli import main
from bot.config import load_settings
from bot.evaluate import load_eval_file
from index import indexer, store
from index.dense import HNSW_ABOVE, DenseIndex, build_dense, choose_dense
from index.errors import ConfigError, IndexCorrupt
from index.store import load_generation, read_current_name, verify_files
from tests.conftest import EVAL_DATA


def test_dense_index_is_exact_while_small_and_approximate_when_large():
    assert choose_dense(HNSW_ABOVE).type == "flat-ip"
    large = choose_dense(HNSW_ABOVE + 1)
    assert large.type == "hnsw-sq8" and large.m and large.ef_search >= 64
    assert choose_dense(10, "hnsw").type == "hnsw-sq8"
    assert choose_dense(10**7, "flat").type == "flat-ip"


def test_dense_index_setting_is_checked(tmp_path):
    with pytest.raises(ConfigError, match="dense_index: 'ivf' is not one of auto, flat, hnsw"):
        load_settings(environ={"CITEBOT_DENSE_INDEX": "ivf"}, config_path=None)
    assert load_settings(environ={"CITEBOT_DENSE_INDEX": "HNSW"}).dense_index == "hnsw"


def test_hnsw_finds_what_exact_search_finds(embedder):
    """recall@10 against exact search on real passage vectors, real question vectors."""
    data = load_eval_file(str(EVAL_DATA / "xquad_subset.json"))
    passages = [p for text in data.documents.values() for p in text.split("---\n")[-1].split("\n\n") if p.strip()]
    vectors = embedder.encode_queries(passages)
    questions = embedder.encode_queries([q.question for q in data.questions])
    hnsw_spec = choose_dense(len(vectors), "hnsw")
    hnsw = DenseIndex(hnsw_spec, build_dense(hnsw_spec, vectors), vectors)
    recall = []
    for q in questions:
        exact = np.argsort(-(vectors @ q))[:10]
        ids, scores = hnsw.search(q, 10)
        recall.append(len(set(ids.tolist()) & set(exact.tolist())) / 10)
        assert np.allclose(scores, vectors[ids] @ q, atol=1e-5)  # re-scored exactly, best first
        assert list(scores) == sorted(scores, reverse=True)
    assert np.mean(recall) >= 0.98


def test_switching_the_dense_index_rewrites_without_embedding(make_service, tmp_path, capsys):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "mill.md").write_text("# Mill\nThe mill was rebuilt in 1894 after the flood.\n", encoding="utf-8")
    (docs / "canal.md").write_text("# Canal\nThe canal opened to barges in 1802.\n", encoding="utf-8")
    flat = make_service()
    flat.reindex()
    assert flat.status().dense_index.startswith("flat-ip")
    before = flat.ask("When was the mill rebuilt?")

    hnsw = make_service(dense_index="hnsw")
    report = hnsw.reindex()
    assert report.wrote and report.embedded == 0 and report.unchanged == 2
    assert hnsw.status().dense_index.startswith("hnsw-sq8 (M=48")
    after = hnsw.ask("When was the mill rebuilt?")
    assert [e.text for e in after.excerpts] == [e.text for e in before.excerpts]
    assert not hnsw.reindex().wrote  # settled: the next run is a no-op

    assert main(["status", "--index-dir", str(hnsw.index_dir), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["dense_index"].startswith("hnsw-sq8")


def test_streamed_batches_give_the_same_index_as_one_batch(make_service, tmp_path, monkeypatch):
    docs = tmp_path / "docs"
    docs.mkdir()
    for n in range(7):
        (docs / f"d{n}.md").write_text(f"# Note {n}\nItem {n} weighs {n * 3 + 1} kilograms.\n", encoding="utf-8")
    (docs / "d3.md").write_bytes(b"\x00\x01 binary")  # a bad file in the middle of a batch
    one_batch = make_service()
    one_batch.reindex()
    reference = load_generation(one_batch.index_dir)

    monkeypatch.setattr(indexer, "_EMBED_BATCH_FILES", 2)
    shutil.rmtree(one_batch.index_dir)
    streamed = make_service()
    report = streamed.reindex()
    assert report.documents == 6 and [s.path.rsplit("/", 1)[1] for s in report.skipped] == ["d3.md"]
    again = load_generation(streamed.index_dir)
    assert [d.path for d in again.documents()] == [d.path for d in reference.documents()]
    assert np.allclose(np.asarray(again.vectors), np.asarray(reference.vectors), atol=1e-5)
    assert np.allclose(np.asarray(again.sentence_vectors, np.float32),
                       np.asarray(reference.sentence_vectors, np.float32), atol=1e-2)


def test_large_files_are_sampled_at_load_and_hashed_in_full_on_request(make_service, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(store, "FULL_HASH_BELOW", 1024)
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# A\n" + "The orchard has pear trees and a stone wall. " * 40, encoding="utf-8")
    service = make_service()
    service.reindex()
    folder = service.index_dir / read_current_name(service.index_dir)
    manifest = store.read_manifest(folder)
    sampled = [name for name, f in manifest["files"].items() if "sampled_sha256" in f]
    assert "sentence_vectors.f16" in sampled
    assert main(["status", "--verify", "--index-dir", str(service.index_dir)]) == 0
    assert "intact" in capsys.readouterr().err

    path = folder / "sentence_vectors.f16"
    data = bytearray(path.read_bytes())
    data[len(data) // 2 + 7] ^= 0xFF  # a small file's samples cover all of it
    path.write_bytes(bytes(data))
    with pytest.raises(IndexCorrupt, match="sentence_vectors.f16 is truncated or altered"):
        verify_files(folder, manifest)
    with pytest.raises(IndexCorrupt, match="sentence_vectors.f16"):
        verify_files(folder, manifest, full=True)
    assert main(["status", "--verify", "--index-dir", str(service.index_dir)]) == 2
    assert "sentence_vectors.f16 is truncated or altered" in capsys.readouterr().err

    with open(path, "r+b") as f:
        f.truncate(len(data) - 2)
    with pytest.raises(IndexCorrupt, match="sentence_vectors.f16"):
        verify_files(folder, manifest)


def test_lexical_search_scores_as_bm25s_does():
    from index.lexical import LexicalIndex
    from index.terms import terms

    data = load_eval_file(str(EVAL_DATA / "xquad_subset.json"))
    texts = [p for text in data.documents.values() for p in text.split("---\n")[-1].split("\n\n") if p.strip()]
    lexical = LexicalIndex.build([terms(t) for t in texts])
    for q in data.questions[:60]:
        ids, scores = lexical.search(q.question, 10)
        ref_ids, ref_scores = lexical._retriever.retrieve([terms(q.question)], k=10, show_progress=False)
        keep = ref_scores[0] > 0
        assert np.allclose(scores, ref_scores[0][keep], atol=1e-4)
        assert set(ids[scores > scores.min()].tolist()) <= set(ref_ids[0][keep].tolist())


def test_row_file_reads_what_was_written(tmp_path):
    from index.rows import RowFile

    matrix = np.arange(40, dtype="<f4").reshape(10, 4)
    (tmp_path / "m.f32").write_bytes(matrix.tobytes())
    rows = RowFile(tmp_path / "m.f32", "<f4", 10, 4)
    assert np.array_equal(rows[2:5], matrix[2:5])
    assert np.array_equal(rows[[7, 1, 2, 3, 9]], matrix[[7, 1, 2, 3, 9]])  # any order, runs read at once
    assert np.array_equal(rows[[0, 2, 3, 8]], matrix[[0, 2, 3, 8]])  # already in order
    assert np.array_equal(rows[[5, 1, 1, 2]], matrix[[5, 1, 1, 2]])  # repeated rows
    assert np.array_equal(rows[4], matrix[4]) and np.array_equal(np.asarray(rows), matrix)
    assert rows[8:20].shape == (2, 4) and rows[5:5].shape == (0, 4)
    with pytest.raises(IndexError):
        rows[[3, 10]]
    empty = RowFile(tmp_path / "none", "<f2", 0, 4)
    assert empty[0:3].shape == (0, 4)


def test_question_vectors_are_what_sentence_transformers_gives(embedder):
    questions = ["When was the bridge opened?", "How many people attended the ceremony that spring?", "Who?"]
    ours = embedder.encode_queries(questions)
    reference = embedder.model.encode(questions, normalize_embeddings=True, convert_to_numpy=True)
    assert ours.shape == reference.shape and ours.dtype == np.float32
    assert np.allclose(ours, reference, atol=1e-5)
    assert embedder.encode_queries([]).shape == (0, reference.shape[1])
