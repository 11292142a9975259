"""A trained reader: does an excerpt answer the question, and where the answer starts and ends.

The embedding model reads the question and the excerpt together, changed by small trained
low-rank matrices (LoRA, 0.3M numbers in bot/data/reader.safetensors, trained on the tuning
split by bench/train_reader.py) and topped by a start/end head. It was also shown excerpts that
do not answer, taught to point at [CLS] for them (SQuAD 2.0's convention), so the best span's
score against [CLS]'s says how sure it is that the answer is there: the answer layer uses that
to re-order its excerpts (Reranking). Its per-word start and end log-probabilities join the
span model's features (highlight.py). The combined span model's weights and the
re-ranking's are stored in the same file, because they were fitted to this reader's outputs
and mean nothing with another.

It runs through ONNX Runtime, like the question encoder (index/onnx_query.py): the changed model
is exported once into the cache folder, with the torch model, and used only if it agrees with
torch. The changes only fit the model they were trained on: with another embedding model, or
with no export, answers use the ranking and the span model alone.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from bot.answering.linear import DATA_DIR, LinearModel
from index import onnx_query

log = logging.getLogger(__name__)

ADAPTER_FILE = DATA_DIR / "reader.safetensors"
# The linear layers of every transformer layer that get a low-rank change (BERT's names).
LOW_RANK_TARGETS = ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
                    "intermediate.dense", "output.dense")
MAX_TOKENS = 256  # question and excerpt together; the excerpt is cut when longer
MAX_QUESTION_TOKENS = 64  # a longer question is cut for the reader, so the excerpt always has room
AGREEMENT = 1e-3  # largest difference in start/end logits the export may show against torch
NO_PIECE = -30.0  # a word the reader did not see (cut off) gets this logit
_PROBE = ("When did the library open?",
          "The town council built a new library on the market square, which opened in 1902 with 4,000 books.")
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_QUANTISED = "int8-per-channel"  # how export() stores the weights; part of the cached file's name
_RECENT = 16  # readings kept: one question's excerpts, and a few questions asked at once
LONGEST_SPAN = 30  # word pieces: the longest answer the reader's answerability considers


@dataclass(frozen=True)
class Reranking:
    """How the reader re-orders the excerpts: by the ranking's log-odds plus weight times the
    reader's answerability. No excerpt's answerability exceeded cap in training, so an excerpt
    whose key could not beat the top one's even with cap is not read."""

    weight: float
    cap: float

    def key(self, score: float, answers_here: float) -> float:
        return log_odds(score) + self.weight * answers_here

    def could_beat(self, score: float, best_key: float) -> bool:
        return self.weight > 0 and self.key(score, self.cap) > best_key


def log_odds(probability: float) -> float:
    p = min(max(probability, 1e-6), 1 - 1e-6)
    return float(np.log(p / (1 - p)))


def answerability(start_logits: np.ndarray, end_logits: np.ndarray, in_text: np.ndarray) -> float:
    """How much more the reader believes the answer is a span of the excerpt than that it is not
    there at all ([CLS], position 0, where it was taught to point when the excerpt does not answer)."""
    starts, ends = start_logits[in_text], end_logits[in_text]
    if not len(starts):
        return -float(start_logits[0] + end_logits[0])
    pairs = starts[:, None] + ends[None, :]
    offset = np.arange(len(starts))[None, :] - np.arange(len(starts))[:, None]
    best = pairs[(offset >= 0) & (offset < LONGEST_SPAN)].max()
    return float(best - start_logits[0] - end_logits[0])


@dataclass(frozen=True)
class ReaderAdapter:
    """The trained changes, the fingerprint of the model they belong to, and the span model
    fitted with this reader's outputs."""

    tensors: dict[str, np.ndarray]
    scale: float
    base_fingerprint: tuple[float, ...]
    span_features: tuple[str, ...]
    span_model: LinearModel
    reranking: Reranking | None  # None: an adapter trained without excerpts that do not answer
    digest: str  # of the adapter file: names its export


def save_adapter(path: Path, tensors: dict[str, np.ndarray], scale: float, base_fingerprint: tuple[float, ...],
                 span_features: tuple[str, ...], span_model: LinearModel, reranking: Reranking | None,
                 about: str) -> None:
    from safetensors.numpy import save_file

    stored = {name: np.ascontiguousarray(value, dtype=np.float32) for name, value in tensors.items()}
    stored["span.weights"] = np.asarray(span_model.weights, dtype=np.float64)
    stored["span.bias"] = np.asarray([span_model.bias], dtype=np.float64)
    if reranking is not None:
        stored["rerank"] = np.asarray([reranking.weight, reranking.cap], dtype=np.float64)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(stored, str(path), metadata={
        "scale": repr(scale), "base_fingerprint": json.dumps(list(base_fingerprint)),
        "span_features": json.dumps(list(span_features)), "about": about,
    })


@lru_cache(maxsize=4)
def load_adapter(path: Path = ADAPTER_FILE) -> ReaderAdapter | None:
    """The adapter shipped with citebot; None (logged) when it is missing or unreadable."""
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="numpy") as stored:
            meta = stored.metadata() or {}
            tensors = {name: stored.get_tensor(name) for name in stored.keys()}
        span_features = tuple(json.loads(meta["span_features"]))
        span_model = LinearModel(tuple(float(w) for w in tensors.pop("span.weights")),
                                 float(tensors.pop("span.bias")[0]), span_features)
        rerank = tensors.pop("rerank", None)
        return ReaderAdapter(
            tensors=tensors, scale=float(meta["scale"]),
            base_fingerprint=tuple(float(x) for x in json.loads(meta["base_fingerprint"])),
            span_features=span_features, span_model=span_model,
            reranking=Reranking(float(rerank[0]), float(rerank[1])) if rerank is not None else None,
            digest=hashlib.sha256(path.read_bytes()).hexdigest()[:16],
        )
    except Exception as err:  # noqa: BLE001 - safetensors raises its own types; the highlight still works
        log.info("reader: not using %s (%s: %s)", path, type(err).__name__, err)
        return None


def model_fingerprint(transformer) -> tuple[float, ...]:
    """Sums of a few of the model's weights: tells the model the adapter was trained on from another."""
    layers = transformer.encoder.layer
    picked = (transformer.embeddings.word_embeddings.weight, layers[0].attention.self.query.weight,
              layers[-1].output.dense.weight)
    return tuple(round(float(w.detach().double().sum()), 3) for w in picked)


@dataclass(frozen=True)
class Reading:
    """One pass of the reader over a question and an excerpt."""

    start_logits: np.ndarray  # per word piece of the excerpt
    end_logits: np.ndarray
    offsets: np.ndarray  # (start, end) of each of those pieces in the excerpt
    answers_here: float  # see answerability()


class PairModel:
    """A trained model that reads a question and a text together: the model's tokenizer (the
    text cut to fit, a long question cut first) and an ONNX Runtime session, one run at a time."""

    def __init__(self, onnx_file: Path, model_dir: Path, max_tokens: int, max_question_tokens: int):
        import onnxruntime
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_tokens, strategy="only_second")
        self.tokenizer.no_padding()
        # Counts a question's pieces on its own (the pair tokenizer's truncation needs two texts).
        self._question_pieces = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._question_pieces.no_truncation()
        self._question_pieces.no_padding()
        self._max_question_tokens = max_question_tokens
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        # Its threads do not busy-wait for more work after a run: the question encoder's session
        # runs next on the same two cores (answer p50 1-2 ms lower; docs/benchmarks.md).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = onnxruntime.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
        self._lock = threading.Lock()  # one run at a time: the session already uses every core

    def _within_budget(self, question: str) -> str:
        """A longer question is cut, so that the text always has room."""
        pieces = self._question_pieces.encode(question, add_special_tokens=False)
        if len(pieces.ids) <= self._max_question_tokens:
            return question
        return question[:pieces.offsets[self._max_question_tokens - 1][1]]


class OnnxReader(PairModel):
    """Start and end log-probabilities per word, and whether the excerpt answers at all."""

    def __init__(self, onnx_file: Path, model_dir: Path, adapter: ReaderAdapter):
        super().__init__(onnx_file, model_dir, MAX_TOKENS, MAX_QUESTION_TOKENS)
        self.adapter = adapter
        # The excerpt that re-ranking read first is then marked from the same pass.
        self._recent: dict[tuple[str, str], Reading] = {}

    @property
    def span_model(self) -> LinearModel:
        return self.adapter.span_model

    @property
    def reranking(self) -> Reranking | None:
        return self.adapter.reranking

    def read(self, question: str, text: str) -> Reading:
        with self._lock:
            if (question, text) in self._recent:
                return self._recent[question, text]
        encoded = self.tokenizer.encode(self._within_budget(question), text)
        feed = {name: np.array([values], dtype=np.int64) for name, values in
                zip(_INPUTS, (encoded.ids, encoded.attention_mask, encoded.type_ids))}
        with self._lock:
            start_end = self.session.run(None, feed)[0][0]
        in_text = np.array([s == 1 for s in encoded.sequence_ids], dtype=bool)
        offsets = np.array(encoded.offsets, dtype=np.int64).reshape(-1, 2)
        in_text &= offsets[:, 1] > offsets[:, 0]
        reading = Reading(start_end[in_text, 0], start_end[in_text, 1], offsets[in_text],
                          answerability(start_end[:, 0], start_end[:, 1], in_text))
        with self._lock:
            if len(self._recent) >= _RECENT:
                self._recent.pop(next(iter(self._recent)))
            self._recent[question, text] = reading
        return reading

    def answers_here(self, question: str, text: str) -> float:
        return self.read(question, text).answers_here

    def word_log_probabilities(self, question: str, text: str, word_starts: np.ndarray,
                               word_ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each word (its offsets in text): log P(the answer starts there), log P(it ends there).

        A word's start logit is its first piece's, its end logit its last piece's."""
        reading = self.read(question, text)
        start_logits, end_logits, offsets = reading.start_logits, reading.end_logits, reading.offsets
        starts = np.full(len(word_starts), NO_PIECE)
        ends = np.full(len(word_starts), NO_PIECE)
        if len(offsets):
            first = np.searchsorted(offsets[:, 0], word_starts, side="left")
            last = np.searchsorted(offsets[:, 1], word_ends, side="right") - 1
            safe_first, safe_last = np.minimum(first, len(offsets) - 1), np.maximum(last, 0)
            seen = (first < len(offsets)) & (last >= first) & (offsets[safe_first, 1] <= word_ends) \
                & (offsets[safe_last, 0] >= word_starts)
            starts[seen] = start_logits[safe_first[seen]]
            ends[seen] = end_logits[safe_last[seen]]
        return _log_softmax(starts), _log_softmax(ends)


def _log_softmax(x: np.ndarray) -> np.ndarray:
    if not len(x):
        return x
    x = x - x.max()
    return x - np.log(np.exp(x).sum())


def export_files(model_dir: Path, kind: str, digest: str, folder: Path | None) -> tuple[Path, Path]:
    """Where a trained model's checked export and its check record live in the cache, named by
    everything that makes the file: the model, what was trained ("reader", "selector"), the
    trained file's digest and how it is quantised."""
    stem = (folder or onnx_query.cache_dir()) / f"{onnx_query.model_key(model_dir)}-{kind}-{digest}-{_QUANTISED}"
    return stem.with_suffix(".onnx"), stem.with_suffix(".json")


def open_checked(onnx_file: Path, record: Path, kind: str, open_file):
    """open_file(onnx_file), if the record says the export agreed with torch and onnx_file is
    still the file that was checked; None otherwise."""
    try:
        checked = json.loads(record.read_text(encoding="utf-8"))
        if not checked.get("agrees") or checked.get("file") != onnx_query.file_facts(onnx_file):
            return None
        return open_file(onnx_file)
    except Exception as err:  # noqa: BLE001 - onnxruntime raises its own types for a bad file
        if record.exists():
            log.info("%s: not using %s (%s)", kind, onnx_file, err)
        return None


def _files(model_dir: Path, adapter: ReaderAdapter, folder: Path | None) -> tuple[Path, Path]:
    return export_files(model_dir, "reader", adapter.digest, folder)


def export_missing(model_dir: Path) -> bool:
    """Whether the reader would have to be exported (and so written to the cache) before use."""
    adapter = load_adapter()
    return adapter is not None and not _files(model_dir, adapter, None)[1].exists()


def load_exported(model_dir: Path, adapter: ReaderAdapter, folder: Path | None = None) -> OnnxReader | None:
    """The checked export of this model and adapter, if there is one and it is the file that was checked."""
    return open_checked(*_files(model_dir, adapter, folder), "reader",
                        lambda onnx_file: OnnxReader(onnx_file, model_dir, adapter))


def run_once(onnx_file: Path, feed: dict[str, np.ndarray]) -> np.ndarray:
    """The first output of one run of a fresh session (the export checked before quantising)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"]).run(None, feed)[0]


@contextlib.contextmanager
def _quiet_logging():
    """quantize_dynamic logs a warning on the root logger about optional pre-processing."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def changed_transformer(transformer, adapter: ReaderAdapter):
    """A copy of the model's transformer with the adapter's changes merged into its weights (any
    adapter with `tensors` and `scale`: the selector's too)."""
    import copy

    import torch

    changed = copy.deepcopy(transformer).eval()
    tensors = adapter.tensors
    with torch.no_grad():
        for n, layer in enumerate(changed.encoder.layer):
            # A layer the adapter has nothing for (the selector trains only the top ones) stays as it is.
            for target in LOW_RANK_TARGETS:
                linear, name = layer.get_submodule(target), f"layer.{n}.{target}"
                if f"{name}.a" in tensors:
                    linear.weight += adapter.scale * (torch.from_numpy(tensors[f"{name}.b"]) @ torch.from_numpy(tensors[f"{name}.a"]))
                elif f"{name}.weight" in tensors:  # trained whole
                    linear.weight.copy_(torch.from_numpy(tensors[f"{name}.weight"]))
                    linear.bias.copy_(torch.from_numpy(tensors[f"{name}.bias"]))
            for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
                module, name = layer.get_submodule(norm), f"layer.{n}.{norm}"
                if f"{name}.weight" in tensors:
                    module.weight.copy_(torch.from_numpy(tensors[f"{name}.weight"]))
                    module.bias.copy_(torch.from_numpy(tensors[f"{name}.bias"]))
    return changed


def export_quantised(wrapped, inputs: tuple, onnx_file: Path, output: str, output_axes: dict[int, str]
                     ) -> tuple[np.ndarray, float, dict[str, np.ndarray]]:
    """Export a torch module that reads (input_ids, attention_mask, token_type_ids) to onnx_file,
    its weights quantised to 8-bit integers with one scale per output channel (~1.4x faster on
    CPU; per tensor instead cost the reader 1.2 points of held-out hit@1, docs/benchmarks.md).
    Gives torch's output for the probe inputs (the whole batch), the float export's largest
    difference from it, and the feed, for the caller's own check of the quantised file. Nothing half-written is
    left behind when it fails."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    partial = onnx_file.with_suffix(f".{os.getpid()}.partial.onnx")
    quantized = onnx_file.with_suffix(f".{os.getpid()}.int8.onnx")
    try:
        onnx_file.parent.mkdir(parents=True, exist_ok=True)
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporter's notes on ops it rewrites
            torch.onnx.export(
                wrapped, inputs, str(partial), input_names=list(_INPUTS), output_names=[output],
                opset_version=17, dynamo=False,
                dynamic_axes={**{name: {0: "batch", 1: "tokens"} for name in _INPUTS}, output: output_axes},
            )
            expected = wrapped(*inputs).numpy()
        feed = {name: tensor.numpy() for name, tensor in zip(_INPUTS, inputs)}
        difference = float(np.abs(run_once(partial, feed) - expected).max())  # the export itself
        with _quiet_logging():
            quantize_dynamic(str(partial), str(quantized), weight_type=QuantType.QInt8, per_channel=True)
        partial.unlink()
        os.replace(quantized, onnx_file)
        return expected, difference, feed
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
            quantized.unlink(missing_ok=True)
        raise


def export(model, model_dir: Path, adapter: ReaderAdapter, folder: Path | None = None) -> OnnxReader | None:
    """Export the loaded SentenceTransformer's transformer with the adapter merged, check it
    against torch, and return its reader; None (logged) if the adapter is for another model or
    anything fails."""
    onnx_file, record = _files(model_dir, adapter, folder)
    try:
        import torch

        transformer = model[0].auto_model
        if not np.allclose(model_fingerprint(transformer), adapter.base_fingerprint, rtol=1e-4, atol=1e-2):
            log.info("reader: trained for another embedding model; the highlight uses the span model alone")
            return None

        class StartEnd(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.transformer = changed_transformer(transformer, adapter)
                self.head = torch.nn.Linear(transformer.config.hidden_size, 2)
                self.head.weight.copy_(torch.from_numpy(adapter.tensors["head.weight"]))
                self.head.bias.copy_(torch.from_numpy(adapter.tensors["head.bias"]))

            def forward(self, input_ids, attention_mask, token_type_ids):
                return self.head(self.transformer(input_ids=input_ids, attention_mask=attention_mask,
                                                  token_type_ids=token_type_ids).last_hidden_state)

        with torch.no_grad():
            wrapped = StartEnd().eval()
        encoded = model.tokenizer([_PROBE[0]], [_PROBE[1]], return_tensors="pt")
        expected, difference, feed = export_quantised(wrapped, tuple(encoded[name] for name in _INPUTS), onnx_file,
                                                      "start_end", {0: "batch", 1: "tokens"})
        expected = expected[0]  # one probe
        # The quantised file's own difference is recorded; it must still pick the same span.
        reader = OnnxReader(onnx_file, model_dir, adapter)
        got = reader.session.run(None, feed)[0][0]
        same_span = bool((got.argmax(axis=0) == expected.argmax(axis=0)).all())
        agrees = difference <= AGREEMENT and same_span
        record.write_text(json.dumps({"agrees": agrees, "max_difference": difference, "same_span_int8": same_span,
                                      "max_difference_int8": float(np.abs(got - expected).max()),
                                      "file": onnx_query.file_facts(onnx_file)}), encoding="utf-8")
    except Exception as err:  # noqa: BLE001 - an improvement: any failure keeps the span model alone
        log.info("reader: the highlight uses the span model alone (%s: %s)", type(err).__name__, err)
        return None
    if not agrees:
        log.info("reader: ONNX export differs from the model by %.1e; the highlight uses the span model alone",
                 difference)
        return None
    return reader


def find_reader(model_dir: Path, load_model, folder: Path | None = None) -> OnnxReader | None:
    """The reader for the model in model_dir: its checked export from the cache, or exported now
    (load_model() gives the loaded SentenceTransformer); None when there is no usable one."""
    from bot.answering.highlight import READER_FEATURES

    adapter = load_adapter()
    if adapter is None or not model_dir.is_dir() or not (model_dir / "tokenizer.json").exists():
        return None
    if set(adapter.span_features) != set(READER_FEATURES):  # stacked by name: the order may differ
        log.info("reader: %s was fitted to other span features; run bench/train_reader.py", ADAPTER_FILE)
        return None
    return load_exported(model_dir, adapter, folder) or export(load_model(), model_dir, adapter, folder)
