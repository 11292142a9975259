"""Search hits -> an Answer made of verbatim, cited excerpts. Pure: no I/O, no Discord.

Every excerpt of kind "text" is document.text[start:end] exactly; nothing is reworded. When
no sentence scores high enough, the answer says the documents do not say, rather than
quoting something unrelated.
"""

from __future__ import annotations

import re
from functools import lru_cache
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import NamedTuple, Protocol

import numpy as np

from bot.answering.highlight import WordReader, best_highlight
from bot.answering.linear import LinearModel
from bot.answering.question import Question
from bot.answering.ranking import FEATURES, ranking_model, with_gaps
from bot.answering.reader import Reranking
from bot.answering.spans import answer_spans
from bot.types import Answer, Citation, Excerpt
from index.chunking import TEXT, Passage, blanked
from index.documents import FIELD_SEPARATOR
from index.markup import CODE, ITEM, breaks_flow
from index.search import Hit
from index.terms import term_sequence, term_set, terms, word_set

NOT_FOUND = "I couldn't find this in the documents."
MAX_LIST_CHARS = 500  # a list quoted with the sentence that introduces it, up to this length
SHORT_RUN_CHARS = 250  # three sentences are quoted together only when this short
MAX_RUN_CHARS = 600  # longer runs of several sentences are not quoted (one sentence always can be)
ON_SUBJECT_WORDS = 0.75  # share of the question's words, as written, that exempts a quote from the similarity floor
SECOND_SOURCE_SHARE = 0.5  # another document's excerpt is shown if it scores at least this share of the best
SECTION_SEPARATOR = " › "

_WORD = re.compile(r"\w+")
_INLINE_CODE = re.compile(r"``[^`\n]+``|`[^`\n]+`")  # rST and Markdown literals, roles included
# How instructions read: "use X", "you can pass …", "to do so, call …", "run …".
_INSTRUCTION = re.compile(
    r"(?:^|[.:;]\s+|\n\s*(?:[-*+]|\d+[.)])?\s*)(?:use|call|pass|set|run|add|install|enable|disable|create|replace|pick|"
    r"write|put|type|click|go|open|change|specify|define|import|remove|invite|make sure)\b"
    r"|\byou\s+(?:can|could|should|must|need\s+to|have\s+to|will\s+(?:need|have)\s+to)\b"
    r"|\b(?:to\s+do\s+(?:so|this|that)|the\s+(?:most\s+straightforward|simplest|easiest)\s+way|instead)\b",
    re.IGNORECASE)
_CAUSE = re.compile(r"\b(?:because|since|due\s+to|so\s+that|as\s+a\s+result|the\s+reason|otherwise|which\s+means)\b",
                    re.IGNORECASE)

# A sentence opening like this leans on the one before it, so both are quoted.
_NEEDS_PREVIOUS = re.compile(
    r"^(?:the\s+(?:following|next|previous|same)\s+\w+|\w+\s+(?:days?|weeks?|months?|years?)\s+later"
    r"|he|she|it|they|this|these|those|that|his|her|its|their|however|but|also|meanwhile|then"
    r"|(?:we|you)\s+(?:can\s+)?do\s+(?:this|that|so)|to\s+do\s+(?:this|that|so)"
    r"|there|later|afterwards|eventually|during\s+this)\b",
    re.IGNORECASE,
)


class AnswerSelector(Protocol):
    """Reads the question with each of the ranking's first candidates and says how likely each
    is the one that answers (bot/answering/selector.py)."""

    @property
    def pool(self) -> int: ...

    @property
    def threshold(self) -> float: ...

    @property
    def searched(self) -> int: ...

    def probabilities(self, question: str, candidates: Sequence[tuple[str, str]],
                      ranking: Sequence[float]) -> np.ndarray: ...


class ExcerptReader(WordReader, Protocol):
    """A reader that also says how likely an excerpt is to hold the answer at all (bot/answering/reader.py)."""

    @property
    def reranking(self) -> Reranking | None: ...

    def answers_here(self, question: str, text: str) -> float: ...


@dataclass(frozen=True)
class AnswerSettings:
    k: int = 3
    threshold: float | None = None  # on the model's probability scale; None: the one calibrated with the model
    # No quote whose meaning is this far from the question, however many words it shares
    # ("capital" of Ukraine for a question about Australia); None: the value fitted with the model.
    min_similarity: float | None = None
    model: LinearModel | None = None  # None: the shipped bot/data/ranking.json
    # Re-orders the excerpts and marks the answer span; None: the ranking and span model alone.
    reader: ExcerptReader | None = None
    # Chooses the excerpts and whether to answer; None: the ranking (and the reader) alone.
    selector: AnswerSelector | None = None


class _Candidate(NamedTuple):
    """One quotable run of a hit's sentences (a tuple: some hundred are made per question)."""

    hit: Hit
    first: int  # index of the first sentence quoted (text kind)
    last: int
    score: float

    @property
    def span(self) -> tuple[int, int] | None:
        p = self.hit.passage
        if p.kind != "text":
            return None
        return p.sentences[self.first][0], p.sentences[self.last][1]


def answer_question(question: Question, hits: Sequence[Hit], settings: AnswerSettings, generation: int = 0,
                    term_weights: Mapping[str, float] | None = None) -> Answer:
    if settings.selector is not None:
        return _selected(question, hits, settings, settings.selector, generation, term_weights)
    shipped = ranking_model()
    threshold = shipped.threshold if settings.threshold is None else settings.threshold
    candidates = ranked_candidates(question, hits, settings, term_weights)
    if not candidates or candidates[0].score < threshold:
        return Answer(question.text, False, NOT_FOUND, (), generation)
    chosen = distinct([c for c in candidates if c.score >= threshold], settings.k)
    chosen = _with_second_source(chosen, candidates, settings.k, threshold)
    if settings.reader is not None and settings.reader.reranking is not None:
        reranking = settings.reader.reranking
        if shipped.reader_weight is not None and settings.model is None:  # fitted with this ranking model
            reranking = replace(reranking, weight=shipped.reader_weight)
        chosen = _reread(question, chosen, settings.reader, reranking)
    excerpts = tuple(_excerpt(c, n, question, settings.reader) for n, c in enumerate(chosen, start=1))
    return Answer(question.text, True, "", excerpts, generation)


def _selected(question: Question, hits: Sequence[Hit], settings: AnswerSettings, selector: AnswerSelector,
              generation: int, term_weights: Mapping[str, float] | None) -> Answer:
    """The selector's answer: the ranking's first `pool` distinct candidates, re-ordered by how
    likely the selector finds each to answer, declined when even the best is below the
    threshold. Asked for more excerpts than the pool (k), the next candidates are read too and
    follow, re-ordered among themselves: the decision and the first quote are the same for any k."""
    threshold = selector.threshold if settings.threshold is None else settings.threshold
    read = distinct(ranked_candidates(question, hits, settings, term_weights), max(selector.pool, settings.k))
    if not read:
        return Answer(question.text, False, NOT_FOUND, (), generation)
    likely = selector.probabilities(question.text, [as_read(c) for c in read], [c.score for c in read])
    pool = min(selector.pool, len(read))
    order = [*sorted(range(pool), key=lambda i: -likely[i]), *sorted(range(pool, len(read)), key=lambda i: -likely[i])]
    if likely[order[0]] < threshold:
        return Answer(question.text, False, NOT_FOUND, (), generation)
    ordered = [read[i]._replace(score=float(likely[i])) for i in order]
    chosen = _with_second_source(ordered[:settings.k], ordered, settings.k, threshold)
    excerpts = tuple(_excerpt(c, n, question, settings.reader) for n, c in enumerate(chosen, start=1))
    return Answer(question.text, True, "", excerpts, generation)


def ranked_candidates(question: Question, hits: Sequence[Hit], settings: AnswerSettings,
                      term_weights: Mapping[str, float] | None = None) -> list[_Candidate]:
    """Every candidate of the hits, best first by the ranking model."""
    shipped = ranking_model()
    model = settings.model or shipped.model
    min_similarity = shipped.min_similarity if settings.min_similarity is None else settings.min_similarity
    return sorted(score_candidates(question, hits, model, term_weights or {}, min_similarity), key=lambda c: -c.score)


def distinct(candidates: Sequence[_Candidate], n: int) -> list[_Candidate]:
    """The first n candidates that quote no text another one before them quotes."""
    chosen: list[_Candidate] = []
    for cand in candidates:
        if len(chosen) == n:
            break
        if not any(_overlaps(cand, c) for c in chosen):
            chosen.append(cand)
    return chosen


def score_candidates(question: Question, hits: Sequence[Hit], model: LinearModel, term_weights: Mapping[str, float],
                     min_similarity: float = -1.0) -> list[_Candidate]:
    found, matrix = candidate_features(question, hits, term_weights, model.features)
    probabilities = model.probabilities(matrix)
    # The similarity floor stops quotes that share a word or two but mean something else; a quote
    # holding most of the question's own words is on its subject however its vector lies.
    far = matrix[:, model.features.index("sentence_cos")] < min_similarity
    probabilities[far & (matrix[:, model.features.index("exact")] < ON_SUBJECT_WORDS)] = 0.0
    return [_Candidate(c.hit, c.first, c.last, p) for c, p in zip(found, probabilities.tolist(), strict=True)]


def candidate_features(question: Question, hits: Sequence[Hit], term_weights: Mapping[str, float],
                       features: Sequence[str] = FEATURES) -> tuple[list[_Candidate], np.ndarray]:
    """Every sentence, sentence pair or field of every hit, and its features: a candidates x
    features matrix, columns in the order `features` names them (see ranking.py).

    Facts about each sentence are gathered once, numbered across all hits; a candidate quotes a
    run of consecutive sentences, so most of its features are prefix-sum differences computed
    for all candidates at once.
    """
    asked = _Asked(question, term_weights)
    sentences = _Sentences(asked)
    found: list[_Candidate] = []
    runs: list[tuple[int, int, int, int]] = []  # hit rank; first, matched and last sentence (flat numbers)
    quotes: list[str] = []
    for rank, hit in enumerate(hits):
        p = hit.passage
        # The title and headings name what the text is about ("the town" in its sentences,
        # "How do I set the status?" over the paragraph that says how).
        title = sentences.add_title(hit.document.title, p.section)
        if p.kind != "text":  # a front-matter field is quoted whole, scored like its passage
            at = sentences.add(p.text, hit.dense, title, 0, 1)
            runs.append((rank, at, at, at))
            quotes.append(p.text)
            found.append(_Candidate(hit, 0, 0, 0.0))
            continue
        texts = [p.text[a - p.start:b - p.start] for a, b in p.sentences]
        base = sentences.count
        for i, text in enumerate(texts):
            sentences.add(text, hit.sentence_scores[i], title, i, len(texts), p.sentence_kind(i))
        for first, matched, last in answering_units(p, texts):
            runs.append((rank, base + first, base + matched, base + last))
            quotes.append(p.text[p.sentences[first][0] - p.start:p.sentences[last][1] - p.start])
            found.append(_Candidate(hit, first, last, 0.0))
    if not found:
        return found, np.zeros((0, len(features)))
    rank, first, matched, last = (np.array(column) for column in zip(*runs))
    columns = sentences.run_features(first, matched, last, quotes)
    best_bm25 = max(h.lexical for h in hits) or 1.0
    columns["passage_cos"] = np.array([h.dense for h in hits])[rank]
    columns["passage_rank"] = 1.0 / (1 + rank)
    fused = np.array([h.score for h in hits])
    columns["passage_fused"] = (fused / (fused.max() or 1.0))[rank]
    columns["passage_bm25"] = np.array([h.lexical for h in hits])[rank] / best_bm25
    columns = with_gaps({name: np.asarray(column, dtype=np.float64) for name, column in columns.items()})
    return found, np.column_stack([columns[name] for name in features])


def answering_units(p: Passage, texts: Sequence[str]) -> list[tuple[int, int, int]]:
    """The runs of a passage's units worth quoting, as (first, matched, last): a sentence with
    what it needs. The sentence before comes along when this one opens with a reference ("It",
    "The following day"); the sentence after may come along, since answers often follow the
    sentence that matches ("… the oldest quarterback. The past record was held by …"), and a
    third when all three are short. A sentence that ends in a colon introduces what follows
    (a code block, a list, a sentence) and is only quoted with it."""
    count = len(texts)
    # Units of one paragraph may be quoted together; a blank line ends a paragraph.
    joined = [i > 0 and "\n\n" not in p.text[p.sentences[i - 1][1] - p.start:p.sentences[i][0] - p.start]
              for i in range(count)]
    units = []
    for i, text in enumerate(texts):
        first = i - 1 if joined[i] and _NEEDS_PREVIOUS.match(text) else i
        gap_after = p.text[p.sentences[i][1] - p.start:p.sentences[i + 1][0] - p.start] if i + 1 < count else ""
        leads = i + 1 < count and text.rstrip().endswith(":") and not breaks_flow(gap_after)
        if leads:
            lasts = {i + 1}
            if p.sentence_kind(i + 1) == ITEM:  # the whole list, while it stays short
                last = i + 1
                while (last + 1 < count and p.sentence_kind(last + 1) == ITEM
                       and p.sentences[last + 1][1] - p.sentences[i][0] <= MAX_LIST_CHARS):
                    last += 1
                lasts.add(last)
        else:
            lasts = {i}
            if i + 1 < count and joined[i + 1]:
                lasts.add(i + 1)
                if i + 2 < count and joined[i + 2] and p.sentences[i + 2][1] - p.sentences[i][0] <= SHORT_RUN_CHARS:
                    lasts.add(i + 2)
        for last in sorted(lasts):
            # A long run says more than the answer; a sentence keeps what it leads into whatever its length.
            if leads or last == i or p.sentences[last][1] - p.sentences[first][0] <= MAX_RUN_CHARS:
                units.append((first, i, last))
    return units


class _Asked:
    """The question as this search sees it: its terms weighted by their IDF here, and its word pairs."""

    def __init__(self, question: Question, term_weights: Mapping[str, float]):
        self.wanted = {t: term_weights.get(t, 1.0) for t in question.terms}
        self.weights = np.array(list(self.wanted.values()), dtype=np.float64)
        self.total = sum(self.wanted.values())
        self.kind = question.kind
        self.bigrams = {pair: 1 << n for n, pair in enumerate(_bigrams(question.terms))}
        self.words = question.words
        self.asked = question.term_set
        self.question = question

    def term_row(self, present: frozenset[str]) -> list[bool]:
        return [t in present for t in self.wanted]

    def bigram_bits(self, text: str) -> int:
        """Which of the question's word pairs the text's terms hold, as bits."""
        held = _term_pairs(text)
        return sum(bit for pair, bit in self.bigrams.items() if pair in held)


class _Sentences:
    """Facts about every sentence of the hits, numbered across hits, as the question sees them."""

    def __init__(self, asked: _Asked):
        self.asked = asked
        self.terms: list[tuple[str, ...]] = []
        self.cosine: list[float] = []
        self.title: list[int] = []  # which title (hit) a sentence belongs to
        self.position: list[int] = []  # in its passage
        self.passage_length: list[int] = []  # sentences in its passage
        self.term_rows: list[list[bool]] = []  # which question terms it holds
        self.asked_in: list[int] = []  # how many of its terms the question asks
        self.bigram_bits: list[int] = []  # which of the question's word pairs it holds
        self.title_term_rows: list[list[bool]] = []
        self.title_words: list[frozenset[str]] = []
        self.kinds: list[str] = []  # TEXT, ITEM or CODE (index/chunking.py)
        self.holds_code: list[bool] = []  # a code block, or inline code markup
        self.ends_with_colon: list[bool] = []  # it introduces what follows
        self.heading_coverage: list[float] = []  # per title: share of the question the headings alone hold

    @property
    def count(self) -> int:
        return len(self.terms)

    def add_title(self, title: str, section: Sequence[str] = ()) -> int:
        """The title and headings over a hit's text (one per hit, numbered like the hits)."""
        named = " ".join((title, *section))
        self.title_term_rows.append(self.asked.term_row(term_set(named)))
        self.title_words.append(word_set(named))
        headings = term_set(" ".join(section))
        asked = self.asked
        self.heading_coverage.append(
            sum(w for t, w in asked.wanted.items() if t in headings) / asked.total if asked.total else 0.0)
        return len(self.title_words) - 1

    def add(self, text: str, cosine: float, title: int, position: int, passage_length: int,
            kind: str = TEXT) -> int:
        sentence_terms = term_sequence(text)
        self.kinds.append(kind)
        self.holds_code.append(kind == CODE or bool(_INLINE_CODE.search(text)))
        self.ends_with_colon.append(text.rstrip().endswith(":"))
        self.terms.append(sentence_terms)
        self.cosine.append(cosine)
        self.title.append(title)
        self.position.append(position)
        self.passage_length.append(passage_length)
        self.term_rows.append(self.asked.term_row(term_set(text)))
        self.asked_in.append(sum(map(self.asked.wanted.__contains__, sentence_terms)))
        self.bigram_bits.append(self.asked.bigram_bits(text))
        return len(self.terms) - 1

    def run_features(self, first: np.ndarray, matched: np.ndarray, last: np.ndarray,
                     quoted: Sequence[str]) -> dict[str, np.ndarray]:
        """Features of the runs first..last (matched: the sentence the run was found for)."""
        asked = self.asked
        cosine = np.array(self.cosine)
        title = np.array(self.title)[first]
        held = np.array(self.term_rows, dtype=bool).reshape(self.count, len(asked.wanted))
        held_before = np.concatenate([np.zeros((1, held.shape[1]), dtype=np.int64), np.cumsum(held, axis=0)])
        in_run = (held_before[last + 1] - held_before[first]) > 0
        in_title = np.array(self.title_term_rows, dtype=bool).reshape(len(self.title_words), held.shape[1])[title]
        alone = held @ asked.weights / asked.total if asked.total else np.zeros(self.count)
        with_title = (in_run | in_title) @ asked.weights / asked.total if asked.total else np.zeros(len(first))
        position, length = np.array(self.position), np.array(self.passage_length)
        has_previous = position[first] > 0
        has_next = position[last] + 1 < length[last]
        term_count = _prefix_sums([len(t) for t in self.terms])
        asked_count = _prefix_sums(self.asked_in)
        run_terms = term_count[last + 1] - term_count[first]
        run_asked = asked_count[last + 1] - asked_count[first]
        kind_count = {k: _prefix_sums([kind == k for kind in self.kinds]) for k in (CODE, ITEM)}
        code_count = _prefix_sums(self.holds_code)
        inline = (code_count[last + 1] > code_count[first]).astype(np.float64)
        instruction = np.array([bool(_INSTRUCTION.search(text)) for text in quoted], dtype=np.float64)
        cause = np.array([bool(_CAUSE.search(text)) for text in quoted], dtype=np.float64)
        cosine_sum = np.concatenate([[0.0], np.cumsum(cosine)])
        question = asked.question
        event = (np.array([_event_patient(text, question.event, question.patient) for text in quoted])
                 if question.event else np.zeros(len(first)))
        return {
            "sentence_cos": np.maximum(cosine[matched], cosine[last]),
            "coverage": with_title,
            "typed": np.array([_typed_nearness(text, asked.kind, asked.asked) for text in quoted])
            if asked.kind != "other" else np.zeros(len(first)),
            "prev_coverage": np.where(has_previous, alone[first - 1], 0.0),
            "next_coverage": np.where(has_next, alone[np.minimum(last + 1, self.count - 1)], 0.0),
            "novelty": np.where(run_terms > 0, (run_terms - run_asked) / np.maximum(run_terms, 1), 0.0),
            "length": np.log1p([len(text) for text in quoted]),
            "pair": (last > matched).astype(np.float64),
            "phrase": np.array([self._phrase(a, b) for a, b in zip(first.tolist(), last.tolist())]),
            "exact": np.array([self._exact(text, t) for text, t in zip(quoted, title.tolist())]),
            "heading_coverage": np.array(self.heading_coverage)[title],
            "opens_passage": (position[first] == 0).astype(np.float64),
            "has_code": (kind_count[CODE][last + 1] > kind_count[CODE][first]).astype(np.float64),
            "has_item": (kind_count[ITEM][last + 1] > kind_count[ITEM][first]).astype(np.float64),
            "inline_code": inline,
            "instruction": instruction,
            "how_instruction": instruction if question.asks_how else np.zeros(len(first)),
            "why_cause": cause if question.asks_why else np.zeros(len(first)),
            "run_cos": (cosine_sum[last + 1] - cosine_sum[first]) / (last - first + 1),
            "event_to_patient": (event == 1.0).astype(np.float64),
            "event_to_other": (event == -1.0).astype(np.float64),
            "how_code": inline if question.asks_how else np.zeros(len(first)),
            "leads_on": np.array(self.ends_with_colon, dtype=np.float64)[first] * (last > first),
        }

    def _phrase(self, first: int, last: int) -> float:
        """Share of the question's word pairs found in the run's terms read in order."""
        pairs = self.asked.bigrams
        if not pairs:
            return 0.0
        bits, previous = 0, None
        for s in range(first, last + 1):
            sentence_terms = self.terms[s]
            if sentence_terms:
                if previous is not None:  # the pair across the sentence boundary
                    bits |= pairs.get((previous, sentence_terms[0]), 0)
                bits |= self.bigram_bits[s]
                previous = sentence_terms[-1]
        return bits.bit_count() / len(pairs)

    def _exact(self, text: str, title: int) -> float:
        """Share of the question's words found as written, in the text or its title."""
        asked = self.asked.words
        if not asked:
            return 0.0
        present = word_set(text)
        title_words = self.title_words[title]
        return sum(1 for w in asked if w in present or w in title_words) / len(asked)


_REFERENCE = re.compile(
    r"\b(?:it|its|the\s+(?:town|city|village|country|state|company|firm|band|team|club|group|university|"
    r"school|college|party|army|island|river|region|county|province|nation|empire|kingdom|church|building|"
    r"bridge|festival|film|album|book|game|series|show|battle|war|treaty|project|library|organi[sz]ation))\b",
    re.IGNORECASE)
_EVENT_WINDOW = 4  # words either side of the event's verb in which what it happened to is looked for


@lru_cache(maxsize=16384)
def _event_patient(text: str, event: str, patient: frozenset[str]) -> float:
    """For "when was X rebuilt": 1 when the text tells of the event happening to X (named, or
    "the town"/"it" for the document's subject), -1 when it tells of the event happening to
    something else ("rebuilt three houses"), 0 when it does not tell of the event."""
    words = [(m.start(), m.end(), (terms(m.group(0)) or [""])[0]) for m in _WORD.finditer(text)]
    at = [k for k, (_, _, t) in enumerate(words) if t == event]
    if not at:
        return 0.0
    references = [m.start() for m in _REFERENCE.finditer(text)]
    for k in at:
        lo, hi = max(0, k - _EVENT_WINDOW), min(len(words), k + _EVENT_WINDOW + 1)
        if any(words[j][2] in patient for j in range(lo, hi)):
            return 1.0
        span_start, span_end = words[lo][0], words[hi - 1][1]
        if any(span_start <= r < span_end for r in references):
            return 1.0
    return -1.0


def _prefix_sums(values: Sequence[int]) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(values, dtype=np.int64)])


@lru_cache(maxsize=16384)
def _typed_nearness(text: str, kind: str, asked: frozenset[str]) -> float:
    """1 when a new answer of the asked-for kind stands right next to a question word, fading with distance."""
    spans = answer_spans(text, kind, asked)
    if not spans:
        return 0.0
    anchors = [m.start() for m in _WORD.finditer(text) if (terms(m.group(0)) or [""])[0] in asked]
    if not anchors:
        return 0.25
    gap = min(max(0, a - b, s - a) for a in anchors for s, b in spans)
    return max(0.25, 1.0 / (1.0 + gap / 40.0))


def _bigrams(items: Sequence[str]) -> set[tuple[str, str]]:
    return set(zip(items, items[1:]))


@lru_cache(maxsize=32768)
def _term_pairs(text: str) -> frozenset[tuple[str, str]]:
    return frozenset(_bigrams(term_sequence(text)))


def _with_second_source(chosen: list[_Candidate], candidates: Sequence[_Candidate], k: int,
                        threshold: float) -> list[_Candidate]:
    """When another document answers too, its best excerpt takes the last place: two sources
    saying the same thing are worth more than a third excerpt from one."""
    documents = {c.hit.passage.doc_path for c in chosen}
    if len(documents) > 1 or len(chosen) < 2:
        return chosen
    other = next((c for c in candidates if c.hit.passage.doc_path not in documents
                  and c.score >= max(threshold, SECOND_SOURCE_SHARE * chosen[0].score)), None)
    return [*chosen[:k - 1], other] if other else chosen


def _reread(question: Question, chosen: list[_Candidate], reader: ExcerptReader, reranking: Reranking) -> list[_Candidate]:
    """The excerpt the reader and the ranking together like best goes first; the others keep
    their order. The reader reads the top excerpt (it marks its answer anyway) and only those
    others that could still overtake it."""
    best, best_key = 0, reranking.key(chosen[0].score, reader.answers_here(question.text, quoted(chosen[0])))
    for n, cand in enumerate(chosen[1:], start=1):
        if reranking.could_beat(cand.score, best_key):
            key = reranking.key(cand.score, reader.answers_here(question.text, quoted(cand)))
            if key > best_key:
                best, best_key = n, key
    return [chosen[best], *chosen[:best], *chosen[best + 1:]]


def quoted(cand: _Candidate) -> str:
    """The candidate's text exactly as it stands in its document (a run of sentences, or a field whole)."""
    span, p = cand.span, cand.hit.passage
    return p.text if span is None else p.text[span[0] - p.start:span[1] - p.start]


def _overlaps(a: _Candidate, b: _Candidate) -> bool:
    if a.hit.passage.doc_path != b.hit.passage.doc_path:
        return False
    sa, sb = a.span, b.span
    if sa is None or sb is None:
        return a.hit.passage.text == b.hit.passage.text
    return sa[0] < sb[1] and sb[0] < sa[1]


def _hidden_spans(cand: _Candidate) -> tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]:
    """What an excerpt quotes but does not show as words, as offsets into its quoted text:
    the markup between its units (a code fence, a directive line) and the inline markup inside
    them (a role, link syntax, an HTML tag)."""
    span, p = cand.span, cand.hit.passage
    if span is None:
        return (), ()
    start = span[0]
    units = p.sentences[cand.first:cand.last + 1]
    markup = tuple((b - start, a - start) for (_, b), (a, _) in zip(units, units[1:])
                   if p.text[b - p.start:a - p.start].strip())
    inline = tuple((a - start, b - start) for a, b in p.inline if any(ua <= a and b <= ub for ua, ub in units))
    return markup, inline


def as_read(cand: _Candidate) -> tuple[str, str]:
    """A candidate as a reader sees it: its context line (title › headings) and its text with
    the hidden markup left out and white space folded. The selector reads exactly this, in
    training (bench/train_selector.py) and at question time."""
    doc, p = cand.hit.document, cand.hit.passage
    markup, inline = _hidden_spans(cand)
    context = SECTION_SEPARATOR.join(part for part in (doc.title, *p.section) if part)
    return context, " ".join(blanked(quoted(cand), markup + inline).split())


def _excerpt(cand: _Candidate, n: int, question: Question, reader: WordReader | None) -> Excerpt:
    hit, p = cand.hit, cand.hit.passage
    span = cand.span
    start, end = span if span is not None else (None, None)
    text = quoted(cand)
    doc = hit.document
    citation = Citation(
        n=n, path=doc.relpath, file=doc.path, title=doc.title,
        section=SECTION_SEPARATOR.join(p.section), author=doc.author, start=start, end=end,
        page=doc.page_at(start),
    )
    units = p.sentences[cand.first:cand.last + 1] if span is not None else ()
    code = tuple((a - start, b - start) for i, (a, b) in enumerate(units, cand.first) if p.sentence_kind(i) == CODE)
    markup, inline = _hidden_spans(cand)
    # Only the top excerpt gets its answer span marked: it is the one read first. It is found in
    # the text as read (markup blanked out, same length: its offsets hold for the quote).
    highlight = (best_highlight(question, blanked(text, markup + inline), parts=_answer_parts(cand, text), reader=reader)
                 if n == 1 else None)
    return Excerpt(text=text, kind=p.kind, score=cand.score, citation=citation, highlight=highlight,
                   code=code, markup=markup, inline=inline)


def _answer_parts(cand: _Candidate, text: str) -> list[tuple[int, int]]:
    """Where in an excerpt's text an answer may stand: each quoted sentence, or a field's value."""
    span = cand.span
    if span is None:
        value = text.find(FIELD_SEPARATOR)
        return [(value + len(FIELD_SEPARATOR) if value >= 0 else 0, len(text))]
    sentences = cand.hit.passage.sentences[cand.first:cand.last + 1]
    return [(a - span[0], b - span[0]) for a, b in sentences]
