"""Fitted linear models, stored as data: bot/data/<name>.json holds {feature name: weight} and a bias.

Features are built by name and stacked in the order the file lists them, so a model never
pairs a weight with the wrong feature; a file whose names differ from the code's features
fails to load with one line naming the difference. The bench/ scripts that fit them write
these files (save_linear_model); the product needs no training library.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.errors import WeightsError

DATA_DIR = Path(__file__).resolve().parent.parent / "data"


@dataclass(frozen=True)
class LinearModel:
    """A fitted logistic regression: one weight per named feature, and a bias."""

    weights: tuple[float, ...]
    bias: float
    features: tuple[str, ...] = ()  # the name of each weight, in order

    def scores(self, rows: np.ndarray) -> np.ndarray:
        """The linear score of every row of an (n x features) matrix, columns in self.features order."""
        return rows @ np.asarray(self.weights) + self.bias if len(rows) else np.zeros(0)

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-np.clip(self.scores(rows), -30.0, 30.0)))


def load_linear_model(path: Path, features: Iterable[str]) -> tuple[LinearModel, dict]:
    """The model in `path` and the file's other fitted values; its feature names must be exactly `features`."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        weights = data["weights"]
        bias = float(data["bias"])
        if not isinstance(weights, dict) or not all(isinstance(v, (int, float)) for v in weights.values()):
            raise TypeError("'weights' must map feature names to numbers")
    except OSError as err:
        raise WeightsError(f"{path}: cannot be read ({err.strerror or err})") from None
    except (ValueError, KeyError, TypeError) as err:
        raise WeightsError(f"{path}: not a weights file ({type(err).__name__}: {err})") from None
    expected = set(features)
    missing, unknown = sorted(expected - set(weights)), sorted(set(weights) - expected)
    if missing or unknown:
        raise WeightsError(f"{path}: fitted to other features (missing {missing or 'none'}, unknown {unknown or 'none'}); "
                           "refit it with its bench/ script")
    model = LinearModel(tuple(float(w) for w in weights.values()), bias, tuple(weights))
    return model, {k: v for k, v in data.items() if k not in ("weights", "bias")}


def save_linear_model(path: Path, model: LinearModel, about: str, **fitted: float) -> None:
    data = {"about": about, "weights": dict(zip(model.features, model.weights, strict=True)), "bias": model.bias,
            **fitted}
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
