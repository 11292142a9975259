"""What the docs don't answer: the logged questions that were declined, voted 👎 or answered
with a low score, grouped by meaning, largest group first.

Questions are grouped by their vectors (the ones citebot computed to answer them, kept in the
question log): average-linkage agglomerative clustering on cosine distance (scikit-learn),
cut at a distance fitted on paraphrase groups written for that (bench/gaps_tune.py,
bot/data/gaps.json). Above a few thousand questions they are first split into parts of about
that size by spherical k-means (FAISS), each part grouped on its own, so 100,000 questions
group in seconds. Each group is shown by the question nearest its centre, up to five others,
its counts by week, and the passage of the docs nearest to it: where its answer belongs.
"""

from __future__ import annotations

import calendar
import json
import math
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from functools import cache
from pathlib import Path

import numpy as np

from bot.chat.question_log import DAY, LoggedQuestion
from index.errors import CitebotError, ConfigError

GAPS_MODEL = Path(__file__).resolve().parent / "data" / "gaps.json"
SHOWN_OTHERS = 5

DECLINED, VOTED_DOWN, LOW_SCORE = "declined", "voted down", "low score"


@dataclass(frozen=True)
class Gap:
    representative: str  # the question nearest the group's centre
    others: tuple[str, ...]  # up to SHOWN_OTHERS more, nearest first
    asked: int  # questions in the group
    people: int  # distinct askers
    declined: int
    voted_down: int
    low_score: int
    weeks: tuple[tuple[str, int], ...]  # (ISO week, questions), oldest first
    nearest: str  # "Title › Section (path)": the passage nearest in meaning, where the answer would go
    nearest_url: str | None
    members: tuple[str, ...]  # the logged questions' ids


@dataclass(frozen=True)
class GapReport:
    collection: str
    since: float
    until: float
    logged: int  # questions asked in the period
    gap_questions: int  # of those, declined, voted down or answered with a low score
    weeks: tuple[tuple[str, int], ...]  # gap questions per ISO week of the period, quiet weeks as 0
    gaps: tuple[Gap, ...]  # the largest groups, as many as asked for
    groups: int = 0  # groups found in all

    def to_dict(self) -> dict:
        return {
            "collection": self.collection, "since": day(self.since), "until": day(self.until),
            "logged": self.logged, "gap_questions": self.gap_questions, "groups": self.groups,
            "weeks": [{"week": w, "questions": n} for w, n in self.weeks],
            "gaps": [{"question": g.representative, "others": list(g.others), "asked": g.asked, "people": g.people,
                      "declined": g.declined, "voted_down": g.voted_down, "low_score": g.low_score,
                      "weeks": [{"week": w, "questions": n} for w, n in g.weeks],
                      "nearest": g.nearest, "nearest_url": g.nearest_url} for g in self.gaps],
        }


@dataclass(frozen=True)
class Grouping:
    """The fitted grouping (bot/data/gaps.json)."""

    distance: float  # cosine distance at which groups stop merging
    part_size: int  # questions per part above which they are first split by k-means


@cache
def grouping() -> Grouping:
    data = json.loads(GAPS_MODEL.read_text(encoding="utf-8"))
    return Grouping(float(data["distance"]), int(data["part_size"]))


def why_gap(q: LoggedQuestion, low_score: float) -> str:
    """Why a logged question is a gap ("" when it is not): declined, voted down, or answered
    with a top score below low_score."""
    if not q.answered:
        return DECLINED
    if q.down > q.up:
        return VOTED_DOWN
    if q.score < low_score:
        return LOW_SCORE
    return ""


def group(vectors: np.ndarray, distance: float, part_size: int) -> np.ndarray:
    """A group label for each row of vectors (unit length): questions closer than distance on
    average end in one group."""
    n = len(vectors)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    parts = _parts(vectors, part_size)
    labels = np.empty(n, dtype=np.int64)
    next_label = 0
    for part in range(parts.max() + 1):
        rows = np.flatnonzero(parts == part)
        if not len(rows):
            continue
        local = _agglomerate(vectors[rows], distance)
        labels[rows] = local + next_label
        next_label += int(local.max()) + 1
    return labels


def _parts(vectors: np.ndarray, part_size: int) -> np.ndarray:
    n = len(vectors)
    if n <= part_size:
        return np.zeros(n, dtype=np.int64)
    import faiss

    k = math.ceil(n / part_size)
    kmeans = faiss.Kmeans(vectors.shape[1], k, niter=12, seed=1, spherical=True, verbose=False)
    kmeans.train(vectors)
    _, assigned = kmeans.index.search(vectors, 1)
    return assigned.ravel().astype(np.int64)


def _agglomerate(vectors: np.ndarray, distance: float) -> np.ndarray:
    if len(vectors) == 1:
        return np.zeros(1, dtype=np.int64)
    from sklearn.cluster import AgglomerativeClustering

    model = AgglomerativeClustering(n_clusters=None, metric="cosine", linkage="average", distance_threshold=distance)
    return model.fit_predict(vectors).astype(np.int64)


def find_gaps(questions: Sequence[LoggedQuestion], *, collection: str, since: float, until: float,
              low_score: float, nearest: Callable[[str, np.ndarray], tuple[str, str | None]] | None = None,
              limit: int | None = None, model: Grouping | None = None) -> GapReport:
    """The gap report of the questions asked between since and until."""
    model = model or grouping()
    asked = [q for q in questions if since <= q.asked_at <= until]
    gap_questions = [(q, why) for q in asked if (why := why_gap(q, low_score))]
    with_vectors = [(q, why) for q, why in gap_questions if q.vector is not None]
    if with_vectors:
        vectors = _unit(np.stack([q.vector for q, _ in with_vectors]))
        labels = group(vectors, model.distance, model.part_size)
    else:
        vectors, labels = np.zeros((0, 1), np.float32), np.zeros(0, np.int64)
    members: dict[int, list[int]] = {}
    for row, label in enumerate(labels.tolist()):
        members.setdefault(label, []).append(row)
    found = [(_gap([with_vectors[r] for r in rows], vectors[rows]), rows) for rows in members.values()]
    # A question logged without a vector of this model (another model made it) is grouped by its words.
    without: dict[str, list[tuple[LoggedQuestion, str]]] = {}
    for q, why in gap_questions:
        if q.vector is None:
            without.setdefault(" ".join(q.question.lower().split()), []).append((q, why))
    found += [(_gap(items, None), None) for items in without.values()]
    found.sort(key=lambda pair: (-pair[0].people, -pair[0].asked, pair[0].representative))
    groups = len(found)
    found = found[:limit] if limit is not None else found
    shown = []
    for gap, rows in found:
        if nearest is not None and rows is not None:  # only for the groups shown: each is one search
            where, url = nearest(gap.representative, _unit(vectors[rows].mean(axis=0, keepdims=True))[0])
            gap = replace(gap, nearest=where, nearest_url=url)
        shown.append(gap)
    weeks = Counter(_week(q.asked_at) for q, _ in gap_questions)
    every_week = tuple((week, weeks.get(week, 0)) for week in _weeks_between(since, until))
    return GapReport(collection, since, until, len(asked), len(gap_questions), every_week, tuple(shown), groups)


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


def _gap(items: list[tuple[LoggedQuestion, str]], vectors: np.ndarray | None) -> Gap:
    order = range(len(items)) if vectors is None else np.argsort(-(vectors @ vectors.mean(axis=0)), kind="stable")
    texts: list[str] = []
    for k in list(order):  # the same words asked twice are shown once
        text = items[k][0].question
        if text not in texts:
            texts.append(text)
    reasons = Counter(why for _, why in items)
    weeks = Counter(_week(q.asked_at) for q, _ in items)
    return Gap(texts[0], tuple(texts[1:1 + SHOWN_OTHERS]), len(items), len({q.user for q, _ in items}),
               reasons[DECLINED], reasons[VOTED_DOWN], reasons[LOW_SCORE], tuple(sorted(weeks.items())),
               "", None, tuple(q.id for q, _ in items))


def _week(t: float) -> str:
    year, week, _ = datetime.fromtimestamp(t, timezone.utc).isocalendar()
    return f"{year}-W{week:02d}"


def _weeks_between(since: float, until: float) -> list[str]:
    """Every ISO week from the one holding since to the one holding until, a quiet week included."""
    first, last = (datetime.fromtimestamp(t, timezone.utc).date() for t in (since, until))
    monday = first - timedelta(days=first.weekday())
    weeks = []
    while monday <= last:
        year, week, _ = monday.isocalendar()
        weeks.append(f"{year}-W{week:02d}")
        monday += timedelta(days=7)
    return weeks


def day(t: float) -> str:
    """A Unix time as its UTC date, 2026-12-05."""
    return time.strftime("%Y-%m-%d", time.gmtime(t))


def collection_report(questions, service, collection: str, since: float, until: float, low_score: float,
                      limit: int | None, place: str | None = None) -> GapReport:
    """One collection's report, from its question log (bot/chat/question_log.py), each gap placed
    in the docs by the collection's service (no place when its index cannot be opened). place:
    only the questions asked there (a server's hash); None: all of them (the command line)."""
    nearest = service.nearest_section
    try:
        service.searcher  # noqa: B018 - opened here, so a missing index is known before grouping
    except CitebotError:
        nearest = None
    asked = questions.read(since, place=place, model=service.embedder.model_name, now=until)
    return find_gaps(asked, collection=collection, since=since, until=until, low_score=low_score, nearest=nearest,
                     limit=limit)


def parse_since(text: str, now: float) -> float:
    """`--since 14d` (days), `2w` (weeks) or `2026-11-01`: the start of the period, as a Unix time."""
    text = text.strip().lower()
    units = {"d": DAY, "w": 7 * DAY, "h": DAY / 24}
    period = re.fullmatch(r"([0-9]{1,5})([dwh])", text)
    if period:
        return max(0.0, now - int(period.group(1)) * units[period.group(2)])
    try:
        return float(calendar.timegm(time.strptime(text, "%Y-%m-%d")))
    except (ValueError, OverflowError):
        raise ConfigError(f"--since: {text!r} is not a period (14d, 2w, 12h) or a date (2026-11-01)") from None
