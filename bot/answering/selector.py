"""The answer selector: which of the ranking's first candidates answers the question, and whether any does.

The embedding model reads the question together with each candidate, as compose.as_read gives
it (context line: title › headings, then the text as shown), its top layers changed by
training (whole, or by low-rank matrices) and topped by a one-number head on its mean-pooled
output. Trained listwise by
bench/train_selector.py on questions written from other projects' documentation: a candidate's
key is that score plus `prior` times the ranking's log-odds, the highest key is quoted first,
and a learned "none of these" key stands for the documents not answering. The probability that
the best candidate answers is the logistic of its key over "none"; below the threshold
calibrated with the model, the bot declines. Everything fitted (the changes, the head, the
combination, the pool and the threshold) is in bot/data/selector.safetensors, because the
numbers only mean something together.

It runs through ONNX Runtime like the reader (bot/answering/reader.py): exported once into the
cache folder, quantised to 8 bits, and used only if both the float export and the quantised one
agree with torch (INT8_AGREEMENT: the threshold was calibrated on torch's scores). With another embedding model or no
export, answers are ordered by the ranking (and the reader) alone.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from bot.answering.linear import DATA_DIR
from bot.answering.reader import (PairModel, changed_transformer, export_files, export_quantised, log_odds,
                                  model_fingerprint, open_checked)
from index import onnx_query

log = logging.getLogger(__name__)

SELECTOR_FILE = DATA_DIR / "selector.safetensors"
MAX_TOKENS = 256  # question and candidate together; the candidate is cut when longer
MAX_QUESTION_TOKENS = 64  # a longer question is cut, as for the reader
AGREEMENT = 1e-2  # largest difference in scores the float export may show against torch
INT8_AGREEMENT = 0.25  # and the 8-bit one (0.11 measured on the probe): ~0.06 in probability at most
SEARCHED_PASSAGES = 16  # what the ranking saw in training (bench/selector_data.py --hits), for a file that does not say
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_PROBE = ("When did the library open?",
          "Town history: The town council built a new library on the market square, which opened in 1902.")


@dataclass(frozen=True)
class SelectorAdapter:
    """The trained changes and how their scores are used."""

    tensors: dict[str, np.ndarray]
    scale: float
    base_fingerprint: tuple[float, ...]
    pool: int  # how many of the ranking's distinct candidates are read
    searched: int  # passages searched per question in training: the ranking's features depend on them
    prior: float  # weight of the ranking's log-odds in a candidate's key
    none: float  # the key of "none of these answers"
    threshold: float  # the probability below which the bot declines
    digest: str


def pair_text(context: str, text: str) -> str:
    """The second text the selector reads: the candidate under its context line."""
    return f"{context}: {text}" if context else text


def save_selector(path: Path, tensors: dict[str, np.ndarray], scale: float, base_fingerprint: tuple[float, ...],
                  pool: int, prior: float, none: float, threshold: float, about: str,
                  searched: int = SEARCHED_PASSAGES) -> None:
    from safetensors.numpy import save_file

    # Half precision halves the file; the export is checked against the model made from these same numbers.
    stored = {name: np.ascontiguousarray(value, dtype=np.float16) for name, value in tensors.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(stored, str(path), metadata={
        "scale": repr(scale), "base_fingerprint": json.dumps(list(base_fingerprint)), "pool": str(pool),
        "prior": repr(prior), "none": repr(none), "threshold": repr(threshold), "about": about,
        "searched": str(searched),
    })


@lru_cache(maxsize=4)
def load_selector(path: Path = SELECTOR_FILE) -> SelectorAdapter | None:
    """The selector shipped with citebot; None (logged) when it is missing or unreadable."""
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="numpy") as stored:
            meta = stored.metadata() or {}
            tensors = {name: stored.get_tensor(name).astype(np.float32) for name in stored.keys()}
        return SelectorAdapter(
            tensors=tensors, scale=float(meta["scale"]),
            base_fingerprint=tuple(float(x) for x in json.loads(meta["base_fingerprint"])),
            pool=int(meta["pool"]), searched=int(meta.get("searched", SEARCHED_PASSAGES)),
            prior=float(meta["prior"]), none=float(meta["none"]),
            threshold=float(meta["threshold"]), digest=hashlib.sha256(path.read_bytes()).hexdigest()[:16],
        )
    except Exception as err:  # noqa: BLE001 - safetensors raises its own types; the ranking still works
        log.info("selector: not using %s (%s: %s)", path, type(err).__name__, err)
        return None


class OnnxSelector(PairModel):
    """One score per (question, candidate)."""

    def __init__(self, onnx_file: Path, model_dir: Path, adapter: SelectorAdapter):
        super().__init__(onnx_file, model_dir, MAX_TOKENS, MAX_QUESTION_TOKENS)
        self.adapter = adapter

    @property
    def pool(self) -> int:
        return self.adapter.pool

    @property
    def threshold(self) -> float:
        return self.adapter.threshold

    @property
    def searched(self) -> int:
        return self.adapter.searched

    def scores(self, question: str, candidates: Sequence[tuple[str, str]]) -> np.ndarray:
        """One run per candidate: the int8 model quantises its activations by the range of the
        whole run, so in a batch one candidate's score would move with the others' (and padding
        to the longest costs more than the runs)."""
        scores = np.zeros(len(candidates))
        question = self._within_budget(question)
        for n, encoded in enumerate(self.tokenizer.encode_batch([(question, pair_text(*c)) for c in candidates])):
            feed = {name: np.array([getattr(encoded, field)], dtype=np.int64) for name, field in
                    zip(_INPUTS, ("ids", "attention_mask", "type_ids"))}
            with self._lock:
                scores[n] = float(self.session.run(None, feed)[0][0])
        return scores

    def probabilities(self, question: str, candidates: Sequence[tuple[str, str]],
                      ranking: Sequence[float]) -> np.ndarray:
        """For each candidate: how likely it is the one that answers, against none answering."""
        keys = self.scores(question, candidates) + self.adapter.prior * np.array([log_odds(p) for p in ranking])
        return 1.0 / (1.0 + np.exp(-np.clip(keys - self.adapter.none, -30.0, 30.0)))


def _files(model_dir: Path, adapter: SelectorAdapter, folder: Path | None) -> tuple[Path, Path]:
    return export_files(model_dir, "selector", adapter.digest, folder)


def export_missing(model_dir: Path) -> bool:
    """Whether the selector would have to be exported (and so written to the cache) before use."""
    adapter = load_selector()
    return adapter is not None and not _files(model_dir, adapter, None)[1].exists()


def load_exported(model_dir: Path, adapter: SelectorAdapter, folder: Path | None = None) -> OnnxSelector | None:
    return open_checked(*_files(model_dir, adapter, folder), "selector",
                        lambda onnx_file: OnnxSelector(onnx_file, model_dir, adapter))


def scoring_module(transformer, adapter: SelectorAdapter):
    """The torch model the export is made from: the changed transformer, mean pooling, the head."""
    import torch

    class Scorer(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.transformer = changed_transformer(transformer, adapter)
            self.head = torch.nn.Linear(transformer.config.hidden_size, 1)
            with torch.no_grad():
                self.head.weight.copy_(torch.from_numpy(adapter.tensors["head.weight"]))
                self.head.bias.copy_(torch.from_numpy(adapter.tensors["head.bias"]))

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.transformer(input_ids=input_ids, attention_mask=attention_mask,
                                      token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            return self.head((hidden * mask).sum(1) / mask.sum(1)).squeeze(-1)

    return Scorer().eval()


def export(model, model_dir: Path, adapter: SelectorAdapter, folder: Path | None = None) -> OnnxSelector | None:
    """Export the loaded SentenceTransformer's transformer with the selector merged, check it
    against torch, and return the selector; None (logged) if anything fails."""
    onnx_file, record = _files(model_dir, adapter, folder)
    try:
        import torch

        transformer = model[0].auto_model
        if not np.allclose(model_fingerprint(transformer), adapter.base_fingerprint, rtol=1e-4, atol=1e-2):
            log.info("selector: trained for another embedding model; answers are ordered by the ranking")
            return None
        with torch.no_grad():
            wrapped = scoring_module(transformer, adapter)
        # Two candidates of different lengths: the padded one checks the mean pooling's mask.
        encoded = model.tokenizer([_PROBE[0], _PROBE[0]], [_PROBE[1], "The weather was fine."], padding=True,
                                  return_tensors="pt")
        expected, difference, feed = export_quantised(wrapped, tuple(encoded[name] for name in _INPUTS),
                                                      onnx_file, "score", {0: "batch"})
        selector = OnnxSelector(onnx_file, model_dir, adapter)
        got = selector.session.run(None, feed)[0]
        same_order = bool(np.argmax(got) == np.argmax(expected))
        agrees = difference <= AGREEMENT and same_order and float(np.abs(got - expected).max()) <= INT8_AGREEMENT
        record.write_text(json.dumps({"agrees": agrees, "max_difference": difference, "same_order_int8": same_order,
                                      "max_difference_int8": float(np.abs(got - expected).max()),
                                      "file": onnx_query.file_facts(onnx_file)}), encoding="utf-8")
    except Exception as err:  # noqa: BLE001 - an improvement: any failure keeps the ranking's order
        log.info("selector: answers are ordered by the ranking (%s: %s)", type(err).__name__, err)
        return None
    if not agrees:
        log.info("selector: ONNX export differs from the model by %.1e; answers are ordered by the ranking", difference)
        return None
    return selector


def find_selector(model_dir: Path, load_model, folder: Path | None = None) -> OnnxSelector | None:
    """The selector for the model in model_dir: its checked export from the cache, or exported now
    (load_model() gives the loaded SentenceTransformer); None when there is no usable one."""
    adapter = load_selector()
    if adapter is None or not model_dir.is_dir() or not (model_dir / "tokenizer.json").exists():
        return None
    return load_exported(model_dir, adapter, folder) or export(load_model(), model_dir, adapter, folder)
