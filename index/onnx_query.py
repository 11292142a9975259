"""Question vectors through ONNX Runtime: the vectors SentenceTransformer.encode gives, without
importing torch or transformers to answer a question.

Importing those two is ~5 s of every start (docs/benchmarks.md, cold start), and ONNX Runtime
runs this small model 2-3x faster on CPU. The model's transformer is exported once, with the
torch model that indexing loads anyway, into a cache folder; the export is checked against
SentenceTransformer.encode on probe sentences and used only if it agrees. Any failure (no
onnx package, an unusual model, a read-only cache) leaves questions on the torch path.
Passages are always encoded with torch: they need the per-token vectors of late chunking.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

AGREEMENT = 1e-5  # largest difference from SentenceTransformer.encode an export may show
_PROBES = (
    "When was the bridge opened?",
    "How many people attended the ceremony that spring?",
    "Who?",
    "Ships sailed into the harbour, and trade grew fast that year; the town council built a "
    "new library on the market square, which opened in 1902 with four thousand books.",
)
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def cache_dir() -> Path:
    configured = os.environ.get("CITEBOT_CACHE_DIR")
    if configured:
        return Path(configured).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")).expanduser() / "citebot"


def cache_problem() -> str:
    """Why exports cannot be written to the cache folder ("" when they can)."""
    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".probe-"):
            pass
    except OSError as err:
        return f"cache not writable: {folder} ({err.strerror or err})"
    return ""


class OnnxQueryEncoder:
    """Tokenizer (the model's own tokenizer.json) + ONNX Runtime + mean pooling + normalising."""

    def __init__(self, onnx_file: Path, model_dir: Path, max_length: int):
        import onnxruntime
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length)
        self.tokenizer.enable_padding()
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        self.session = onnxruntime.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
        self.dimension = int(self.session.get_outputs()[0].shape[-1])

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        encoded = self.tokenizer.encode_batch(list(texts))
        feed = {
            "input_ids": np.array([e.ids for e in encoded], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encoded], dtype=np.int64),
        }
        tokens = self.session.run(None, feed)[0]
        mask = feed["attention_mask"][..., None].astype(np.float32)
        pooled = (tokens * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
        pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return np.ascontiguousarray(pooled, dtype=np.float32)


def exportable(model_dir: Path) -> bool:
    """A transformer, mean pooling and normalising: what OnnxQueryEncoder reproduces."""
    try:
        modules = json.loads((model_dir / "modules.json").read_text(encoding="utf-8"))
        kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
        pooling = json.loads((model_dir / modules[1]["path"] / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return False
    mean_only = pooling.get("pooling_mode_mean_tokens") and not any(
        v for k, v in pooling.items() if k.startswith("pooling_mode_") and k != "pooling_mode_mean_tokens")
    return kinds == ["Transformer", "Pooling", "Normalize"] and bool(mean_only) and (model_dir / "tokenizer.json").exists()


def max_length(model_dir: Path) -> int | None:
    """The model's own truncation length (sentence_bert_config.json), as SentenceTransformer reads it."""
    try:
        return int(json.loads((model_dir / "sentence_bert_config.json").read_text(encoding="utf-8"))["max_seq_length"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def model_key(model_dir: Path) -> str:
    """Names the export after the model's files, so a changed model is exported again."""
    facts = [str(model_dir.resolve())]
    for path in sorted(model_dir.glob("*.json")) + sorted(model_dir.glob("*.safetensors")) + sorted(model_dir.glob("*.bin")):
        stat = path.stat()
        facts.append(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}")
    return hashlib.sha256("\n".join(facts).encode()).hexdigest()[:24]


def load_exported(model_dir: Path, max_length: int, folder: Path | None = None) -> OnnxQueryEncoder | None:
    """The checked export of this model, if there is one and it is the file that was checked."""
    onnx_file, record = _files(model_dir, folder)
    try:
        checked = json.loads(record.read_text(encoding="utf-8"))
        if not checked.get("agrees") or checked.get("file") != file_facts(onnx_file):
            return None
        return OnnxQueryEncoder(onnx_file, model_dir, max_length)
    except Exception as err:  # noqa: BLE001 - onnxruntime raises its own types for a bad file
        if record.exists():
            log.info("question encoder: not using %s (%s)", onnx_file, err)
        return None


def _files(model_dir: Path, folder: Path | None) -> tuple[Path, Path]:
    """The export of this model and the record of its check, in the cache folder."""
    stem = (folder or cache_dir()) / model_key(model_dir)
    return stem.with_suffix(".onnx"), stem.with_suffix(".json")


def file_facts(path: Path) -> list[int]:
    stat = path.stat()
    return [stat.st_size, stat.st_mtime_ns]


def export(model, model_dir: Path, folder: Path | None = None) -> OnnxQueryEncoder | None:
    """Export the loaded SentenceTransformer's transformer, check it, and return its encoder."""
    onnx_file, record = _files(model_dir, folder)
    partial = onnx_file.with_suffix(f".{os.getpid()}.partial.onnx")
    try:
        import torch

        class LastHiddenState(torch.nn.Module):
            def __init__(self, transformer):
                super().__init__()
                self.transformer = transformer

            def forward(self, input_ids, attention_mask, token_type_ids):
                return self.transformer(input_ids=input_ids, attention_mask=attention_mask,
                                        token_type_ids=token_type_ids).last_hidden_state

        onnx_file.parent.mkdir(parents=True, exist_ok=True)
        encoded = model.tokenizer(list(_PROBES[:2]), padding=True, return_tensors="pt")
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporter's notes on ops it rewrites
            torch.onnx.export(
                LastHiddenState(model[0].auto_model).eval(), tuple(encoded[name] for name in _INPUTS), str(partial),
                input_names=list(_INPUTS), output_names=["token_embeddings"], opset_version=17, dynamo=False,
                dynamic_axes={name: {0: "batch", 1: "tokens"} for name in (*_INPUTS, "token_embeddings")},
            )
        os.replace(partial, onnx_file)
        encoder = OnnxQueryEncoder(onnx_file, model_dir, int(model.max_seq_length))
        expected = model.encode(list(_PROBES), normalize_embeddings=True, convert_to_numpy=True,
                                show_progress_bar=False)
        difference = float(np.abs(encoder.encode(_PROBES) - expected).max())
        agrees = difference <= AGREEMENT
        record.write_text(json.dumps({"agrees": agrees, "max_difference": difference,
                                      "file": file_facts(onnx_file)}), encoding="utf-8")
    except Exception as err:  # noqa: BLE001 - an optimisation: any failure keeps the torch path
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        log.info("question encoder: staying on torch (%s: %s)", type(err).__name__, err)
        return None
    if not agrees:
        log.info("question encoder: ONNX export differs from the model by %.1e; staying on torch", difference)
        return None
    return encoder
