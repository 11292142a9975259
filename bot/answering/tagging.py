"""Part-of-speech tags and phrase chunks for a text's words: where an answer phrase can start
and stop.

The tagger is TextBlob's bundled English one (pattern's Brill tagger, its lexicon and its
rule-based chunker: no model download, ~0.3 ms an excerpt). Its module is loaded from its
file rather than through `import textblob`, whose package start-up imports nltk and, through
it, scipy.stats: 1.1-1.3 s of every cold start, for code this never calls.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np

from index.errors import TaggerUnavailable

# Penn Treebank tags folded into the classes that matter at a phrase's edges.
TAG_CLASSES = ("DT", "IN", "VB", "NN", "NNP", "JJ", "CD", "PRP", "RB", "CC", "TO", "POS", "other")
_PREFIXES = ("NNP", "VB", "NN", "JJ", "PRP", "RB", "DT", "IN", "CD", "CC", "TO", "POS")
_CLASS_OF = {c: n for n, c in enumerate(TAG_CLASSES)}


@dataclass(frozen=True)
class WordTags:
    tag_class: np.ndarray  # index into TAG_CLASSES, per word
    chunk: np.ndarray  # number of the word's phrase chunk; words of one chunk share it
    noun_phrase: np.ndarray  # the word is in a noun-phrase chunk


_lock = threading.Lock()
_parser = None


def tag_words(words: Sequence[str], punctuation_before: Sequence[str]) -> WordTags:
    """Tags for `words`; punctuation_before[k] is the punctuation between word k-1 and word k,
    given to the tagger as tokens of their own (they end phrases) and then dropped."""
    tokens: list[str] = []
    word_at: list[int] = []
    for k, word in enumerate(words):
        for mark in punctuation_before[k]:
            tokens.append(mark)
            word_at.append(-1)
        tokens.append(word.replace(" ", "_"))
        word_at.append(k)
    parser = _english_parser()
    tagged = parser.find_chunks(parser.find_tags(tokens)) if tokens else []
    count = len(words)
    tag_class = np.full(count, _CLASS_OF["other"], dtype=np.int64)
    chunk = np.zeros(count, dtype=np.int64)
    noun_phrase = np.zeros(count, dtype=bool)
    number = -1
    for k, token in zip(word_at, tagged, strict=True):
        tag, iob = token[1], token[2]  # then the prepositional-phrase tag, unused
        if k < 0 or iob == "O" or iob.startswith("B-"):
            number += 1
        if k >= 0:
            tag_class[k] = _CLASS_OF[next((p for p in _PREFIXES if tag.startswith(p)), "other")]
            chunk[k] = number
            noun_phrase[k] = iob.endswith("-NP")
    return WordTags(tag_class, chunk, noun_phrase)


def _english_parser():
    global _parser
    if _parser is None:
        with _lock:
            if _parser is None:
                text_module, folder = _load_pattern_text()
                lexicon = text_module.Lexicon(
                    path=str(folder / "en-lexicon.txt"), morphology=str(folder / "en-morphology.txt"),
                    context=str(folder / "en-context.txt"), entities=str(folder / "en-entities.txt"),
                    language="en",
                )
                # Its lexicon and rule lists load themselves on first use; loading them all here,
                # under the lock, keeps two answers in worker threads from both loading one.
                for part in (lexicon, lexicon.morphology, lexicon.context, lexicon.entities):
                    len(part)
                _parser = text_module.Parser(lexicon=lexicon, default=("NN", "NNP", "CD"), language="en")
    return _parser


def _load_pattern_text() -> tuple[ModuleType, Path]:
    spec = importlib.util.find_spec("textblob")  # finds the package without running its __init__
    if spec is None or not spec.submodule_search_locations:
        raise TaggerUnavailable("textblob is not installed (pip install textblob)")
    folder = Path(next(iter(spec.submodule_search_locations)))
    module_spec = importlib.util.spec_from_file_location("citebot_textblob_text", folder / "_text.py")
    if module_spec is None or module_spec.loader is None or not (folder / "en" / "en-lexicon.txt").exists():
        raise TaggerUnavailable(f"textblob at {folder} has no bundled English tagger")
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module, folder / "en"


def warm_up() -> None:
    _english_parser()
