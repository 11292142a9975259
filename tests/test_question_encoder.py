"""Questions through ONNX Runtime: the model's own vectors, with no torch import to answer."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

from index import onnx_query
from index.embedding import Embedder, resolve_model

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ["When was the bridge opened?", "How many people attended the ceremony that spring?", "Who?"]


def test_questions_go_through_the_checked_export(embedder):
    encoder = embedder.question_encoder()
    assert isinstance(encoder, onnx_query.OnnxQueryEncoder)
    model_dir = Path(resolve_model("all-MiniLM-L6-v2"))
    record = json.loads((onnx_query.cache_dir() / f"{onnx_query.model_key(model_dir)}.json").read_text())
    assert record["agrees"] and record["max_difference"] <= onnx_query.AGREEMENT
    reference = embedder.model.encode(QUESTIONS, normalize_embeddings=True, convert_to_numpy=True)
    assert np.allclose(embedder.encode_queries(QUESTIONS), reference, atol=1e-5)


def test_the_torch_path_can_be_chosen_and_gives_the_same_vectors(embedder, monkeypatch):
    monkeypatch.setenv("CITEBOT_QUESTION_RUNTIME", "torch")
    on_torch = Embedder()
    assert on_torch.question_encoder() is None
    assert np.allclose(on_torch.encode_queries(QUESTIONS), embedder.encode_queries(QUESTIONS), atol=1e-5)


def test_a_fresh_process_answers_without_importing_torch(seeds_service):
    script = (
        "import json, sys\n"
        "from dataclasses import replace\n"
        "from bot.config import Settings\n"
        "from bot.service import CitebotService\n"
        f"service = CitebotService(replace(Settings(), docs={list(seeds_service.settings.docs)!r}, "
        f"index_dir={seeds_service.settings.index_dir!r}))\n"
        "answer = service.ask('How many civilians were killed on 3 March?')\n"
        "print(json.dumps({'torch': 'torch' in sys.modules, 'transformers': 'transformers' in sys.modules,\n"
        "                  'top': answer.excerpts[0].text}))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT,
                            env={**os.environ}, timeout=120, check=True)
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert not seen["torch"] and not seen["transformers"]
    assert seen["top"] == seeds_service.ask("How many civilians were killed on 3 March?").excerpts[0].text


def test_only_mean_pooled_normalised_models_are_exported(tmp_path):
    model_dir = Path(resolve_model("all-MiniLM-L6-v2"))
    assert onnx_query.exportable(model_dir) and onnx_query.max_length(model_dir) == 256
    other = tmp_path / "model"
    shutil.copytree(model_dir, other, ignore=shutil.ignore_patterns("*.safetensors"))
    pooling = other / "1_Pooling" / "config.json"
    pooling.write_text(json.dumps({**json.loads(pooling.read_text()), "pooling_mode_cls_token": True}))
    assert not onnx_query.exportable(other)
    assert not onnx_query.exportable(tmp_path / "missing")


def test_an_export_that_disagreed_is_not_used(tmp_path, embedder):
    model_dir = Path(resolve_model("all-MiniLM-L6-v2"))
    source = onnx_query.cache_dir()
    for path in source.iterdir():
        shutil.copy2(path, tmp_path / path.name)
    assert onnx_query.load_exported(model_dir, 256, tmp_path) is not None
    record = (tmp_path / onnx_query.model_key(model_dir)).with_suffix(".json")
    checked = json.loads(record.read_text())
    record.write_text(json.dumps({**checked, "agrees": False, "max_difference": 0.5}))
    assert onnx_query.load_exported(model_dir, 256, tmp_path) is None


def test_a_damaged_or_replaced_export_is_not_used(tmp_path, embedder):
    model_dir = Path(resolve_model("all-MiniLM-L6-v2"))
    for path in onnx_query.cache_dir().iterdir():
        shutil.copy2(path, tmp_path / path.name)
    exported = (tmp_path / onnx_query.model_key(model_dir)).with_suffix(".onnx")
    with exported.open("r+b") as f:
        f.write(b"garbage")  # same size, new mtime
    assert onnx_query.load_exported(model_dir, 256, tmp_path) is None
    record = (tmp_path / onnx_query.model_key(model_dir)).with_suffix(".json")
    checked = json.loads(record.read_text())
    record.write_text(json.dumps({**checked, "file": onnx_query.file_facts(exported)}))
    assert onnx_query.load_exported(model_dir, 256, tmp_path) is None  # a bad file fails to load: no error


def test_an_unwritable_cache_leaves_questions_on_torch(tmp_path, monkeypatch, embedder):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder would go")
    monkeypatch.setenv("CITEBOT_CACHE_DIR", str(blocked))
    fallback = Embedder()
    assert fallback.question_encoder() is None
    assert np.allclose(fallback.encode_queries(QUESTIONS), embedder.encode_queries(QUESTIONS), atol=1e-5)
    assert not list(tmp_path.glob("*.partial.onnx"))
