"""Train the answer selector (bot/answering/selector.py) on bench/selector_data.py's examples.

    python bench/train_selector.py --data DIR --train SET ... [--score SET ...]
        [--curve 300 1000 0] [--epochs 2] [--lr 1e-4] [--rank 0] [--frozen 4] [--pools 3] [--cache DIR] [--save]

The embedding model reads the question with each candidate (the context line and the text, as
compose.as_read gives them) and a head on its mean-pooled output gives one score. Trained
listwise: among a question's candidates, the key  score + prior x log-odds(ranking probability)
should be highest for one that answers; for a question the documents do not answer, a learned
"none of these" key should be highest (so the score also says when to decline).

Only the top layers learn (whole with --rank 0, as shipped; or low-rank changes to their linear
maps and their layer norms) and the head:
the first --frozen layers keep the embedding model's weights, so their output for every
(question, candidate) pair is computed once and training runs the top layers alone, which makes
thousands of questions and several models per run affordable on two cores.

--curve N ... trains one model per size on N questions drawn from the --train sets (0: all)
and scores each on the --score sets, which must be other corpora: a learning curve whose every
point is out of corpus. --save writes the last model to bot/data/selector.safetensors, with the
pool and the threshold chosen on its out-of-corpus scores (the best mean hit@1; the highest
threshold that wrongly declines at most 5% of the answerable questions).
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from bench.train_reader import ALPHA_PER_RANK, layer_tensors, low_rank_layers  # noqa: E402
from bot.answering.reader import log_odds, model_fingerprint  # noqa: E402
from bot.answering.selector import MAX_TOKENS, SELECTOR_FILE, pair_text, save_selector  # noqa: E402

PAIRS_PER_STEP = 32
TRAIN_DEPTH = 6  # candidates per question trained on (those that answer, deeper down, come too)
POOLS = (4, 6, 8, 12)


def load_sets(folder: Path, names) -> list[dict]:
    rows = []
    for name in names:
        with (folder / f"{name}.jsonl").open(encoding="utf-8") as lines:
            rows += [json.loads(line) for line in lines]
    return rows


def groups_of(rows, depth: int = TRAIN_DEPTH) -> list[tuple[dict, list[dict], list[bool]]]:
    """(question row, its candidates, which answer). Answerable questions none of whose
    candidates answer teach nothing about choosing and are left out."""
    groups = []
    for row in rows:
        kept = [c for n, c in enumerate(row["candidates"]) if n < depth or c["label"]]
        labels = [bool(c["label"]) and row["answerable"] for c in kept]
        if kept and (any(labels) or not row["answerable"]):
            groups.append((row, kept, labels))
    return groups


def pair_key(row, candidate) -> tuple[str, str]:
    return row["question"], pair_text(candidate["context"], candidate["text"])


class Bottom:
    """The frozen first layers' output for each (question, candidate text), computed once."""

    def __init__(self, encoder, tokenizer, frozen: int):
        self.model = copy.deepcopy(encoder).eval()
        self.model.encoder.layer = self.model.encoder.layer[:frozen]
        self.tokenizer = tokenizer
        # What the stored outputs are outputs of: the model (by its fingerprint) and the layers kept.
        self.made_by = [list(model_fingerprint(encoder)), frozen, MAX_TOKENS]
        self.states: dict[tuple[str, str], torch.Tensor] = {}

    def fill(self, keys, cache: Path | None = None) -> None:
        """Compute what is missing; with a cache folder, read it from there first and write it back after."""
        if cache is not None and (cache / "index.json").exists():
            index = json.loads((cache / "index.json").read_text(encoding="utf-8"))
            if index.get("made_by") != self.made_by:
                sys.exit(f"{cache}: made by {index.get('made_by')}, not {self.made_by}; use another --cache")
            stored = torch.from_numpy(np.load(cache / "states.npy", allow_pickle=False))
            for question, text, start, length in index["pairs"]:
                self.states[question, text] = stored[start:start + length]
        todo = sorted({k for k in keys if k not in self.states}, key=lambda k: len(k[0]) + len(k[1]))
        if todo:
            self._compute(todo)
            if cache is not None:
                self._save(cache)

    def _save(self, cache: Path) -> None:
        cache.mkdir(parents=True, exist_ok=True)
        index, at = [], 0
        for (question, text), state in self.states.items():
            index.append((question, text, at, len(state)))
            at += len(state)
        np.save(cache / "states.npy", torch.cat(list(self.states.values())).numpy(), allow_pickle=False)
        (cache / "index.json").write_text(json.dumps({"made_by": self.made_by, "pairs": index}), encoding="utf-8")

    def _compute(self, todo) -> None:
        started = time.perf_counter()
        with torch.no_grad():
            for at in range(0, len(todo), 64):
                chunk = todo[at:at + 64]
                batch = self.tokenizer([q for q, _ in chunk], [t for _, t in chunk], truncation="only_second",
                                       max_length=MAX_TOKENS, padding=True, return_tensors="pt")
                hidden = self.model(**batch).last_hidden_state
                for k, key in enumerate(chunk):
                    length = int(batch["attention_mask"][k].sum())
                    self.states[key] = hidden[k, :length].to(torch.float16).clone()
                if at % 6400 == 0:
                    print(f"  frozen layers: {at}/{len(todo)} pairs ({time.perf_counter() - started:.0f} s)",
                          file=sys.stderr, flush=True)

    def batch(self, keys) -> tuple[torch.Tensor, torch.Tensor]:
        states = [self.states[k] for k in keys]
        longest = max(len(s) for s in states)
        hidden = torch.zeros(len(states), longest, states[0].shape[1])
        mask = torch.zeros(len(states), longest)
        for k, s in enumerate(states):
            hidden[k, :len(s)] = s.float()
            mask[k, :len(s)] = 1
        return hidden, mask


class Top(torch.nn.Module):
    """The layers that learn, the head, and the "none of these" key."""

    def __init__(self, encoder, frozen: int, rank: int):
        super().__init__()
        self.layers = copy.deepcopy(encoder.encoder.layer[frozen:])
        self.first = frozen
        for p in self.layers.parameters():
            p.requires_grad = rank == 0  # rank 0: the top layers are trained whole
        if rank:
            low_rank_layers(self.layers, rank)
        self.head = torch.nn.Linear(encoder.config.hidden_size, 1)
        self.none = torch.nn.Parameter(torch.zeros(()))

    def forward(self, hidden, mask):
        additive = (1.0 - mask[:, None, None, :]) * torch.finfo(hidden.dtype).min
        for layer in self.layers:
            hidden = layer(hidden, attention_mask=additive)
            hidden = hidden[0] if isinstance(hidden, tuple) else hidden
        weights = mask.unsqueeze(-1)
        return self.head((hidden * weights).sum(1) / weights.sum(1)).squeeze(-1)

    def tensors(self) -> dict[str, np.ndarray]:
        """The trained numbers under the names bot/answering/reader.changed_transformer reads."""
        return {**{f"head.{name}": p.detach().numpy() for name, p in self.head.named_parameters()},
                **layer_tensors(self.layers, self.first)}


def listwise_loss(scores, groups, prior: float, none):
    losses, at = [], 0
    for row, cands, labels in groups:
        keys = scores[at:at + len(cands)] + prior * torch.tensor([log_odds(c["score"]) for c in cands])
        at += len(cands)
        everything = torch.logsumexp(torch.cat([keys, none.view(1)]), 0)
        right = torch.logsumexp(keys[torch.tensor(labels)], 0) if any(labels) else none
        losses.append(everything - right)
    return torch.stack(losses).mean()


def constant_loss(groups, prior: float) -> float:
    """The loss of the ranking alone (every score 0) with the best constant "none" key: what
    training has to fall well below."""
    best = float("inf")
    for none in np.linspace(-8, 8, 65):
        total = 0.0
        for row, cands, labels in groups:
            keys = np.array([prior * log_odds(c["score"]) for c in cands])
            everything = np.logaddexp(np.logaddexp.reduce(keys), none)
            total += everything - (np.logaddexp.reduce(keys[np.array(labels)]) if any(labels) else none)
        best = min(best, total / len(groups))
    return best


def length_batches(groups, bottom: Bottom, rng: random.Random) -> list[list]:
    """Batches of about PAIRS_PER_STEP pairs, of questions whose longest pairs are about as long
    (padding to the longest in a batch costs more than the batch itself otherwise), in random order."""
    def longest(group) -> float:
        row, cands, _ = group
        return max(len(bottom.states[pair_key(row, c)]) for c in cands) + rng.uniform(0, 24)

    batches, current = [], []
    for group in sorted(groups, key=longest):
        current.append(group)
        if sum(len(g[1]) for g in current) >= PAIRS_PER_STEP:
            batches.append(current)
            current = []
    batches += [current] if current else []
    rng.shuffle(batches)
    return batches


def train(encoder, bottom: Bottom, rows, epochs: int, lr: float, rank: int, prior: float, seed: int) -> Top:
    torch.manual_seed(seed)
    rng = random.Random(seed)
    model = Top(encoder, len(bottom.model.encoder.layer), rank)
    # The head and the "none" key start from nothing and learn at ten times the layers' rate.
    fresh = [*model.head.parameters(), model.none]
    layers = [p for p in model.layers.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW([{"params": layers, "lr": lr, "base": lr},
                                   {"params": fresh, "lr": 10 * lr, "base": 10 * lr}], weight_decay=0.01)
    groups = groups_of(rows)
    steps = epochs * len(length_batches(groups, bottom, random.Random(seed)))
    step, started = 0, time.perf_counter()
    model.train()
    for epoch in range(epochs):
        losses = []
        for batch_groups in length_batches(groups, bottom, rng):
            step += 1
            for g in optimiser.param_groups:  # linear warm-up over 6% of the steps, then linear decay
                g["lr"] = g["base"] * min(1.0, step / max(1, 0.06 * steps)) * max(0.0, 1 - (step - 1) / steps)
            hidden, mask = bottom.batch([pair_key(row, c) for row, cands, _ in batch_groups for c in cands])
            loss = listwise_loss(model(hidden, mask), batch_groups, prior, model.none)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            losses.append(loss.item())
        print(f"  {len(groups)} questions, epoch {epoch + 1}: loss {np.mean(losses):.3f} "
              f"(last fifth {np.mean(losses[-len(losses) // 5:]):.3f}; {time.perf_counter() - started:.0f} s)",
              file=sys.stderr, flush=True)
    model.eval()
    return model


def score_rows(model: Top, bottom: Bottom, rows) -> None:
    """Each candidate gets "selector": the model's score."""
    keys = [(row, c) for row in rows for c in row["candidates"]]
    with torch.no_grad():
        for at in range(0, len(keys), 128):
            chunk = keys[at:at + 128]
            scores = model(*bottom.batch([pair_key(r, c) for r, c in chunk])).tolist()
            for (_, c), s in zip(chunk, scores):
                c["selector"] = s


def best_of(row, pool: int, prior: float, none: float) -> tuple[int, float] | None:
    """The chosen candidate's index and its probability of answering (against none); None: no candidates."""
    cands = row["candidates"][:pool]
    if not cands:
        return None
    keys = [c.get("selector", 0.0) + prior * log_odds(c["score"]) for c in cands]
    best = int(np.argmax(keys))
    return best, float(1 / (1 + np.exp(-(keys[best] - none))))


def figures(rows, pool: int, prior: float, none: float, threshold: float) -> dict:
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    picks = [(r, best_of(r, pool, prior, none)) for r in rows]
    hit = sum(1 for r, p in picks if r["answerable"] and p and p[1] >= threshold and r["candidates"][p[0]]["label"])
    wrongly = sum(1 for r, p in picks if r["answerable"] and (p is None or p[1] < threshold))
    declined = sum(1 for r, p in picks if not r["answerable"] and (p is None or p[1] < threshold))
    chars = [r["candidates"][p[0]]["chars"] for r, p in picks if p and p[1] >= threshold]
    return {"hit@1": hit / max(1, len(answerable)), "answerable": len(answerable),
            "wrongly_declined": wrongly / max(1, len(answerable)),
            "declined": declined / len(unanswerable) if unanswerable else None,
            "chars": float(np.mean(chars)) if chars else 0.0}


def by_set(rows) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in rows:
        out.setdefault(r["set"], []).append(r)
    return out


def report(rows, prior: float, none: float, pools=POOLS) -> dict[int, float]:
    """hit@1 per set: the ranking alone, and the selector over each pool (no declining)."""
    sets = by_set(rows)
    print("| set | answerable | ranking | " + " | ".join(f"pool {p}" for p in pools) + " |")
    print("|---|---|---|" + "---|" * len(pools))
    means = {p: [] for p in (0, *pools)}
    for name, set_rows in sets.items():
        plain = figures([{**r, "candidates": [{**c, "selector": 0.0} for c in r["candidates"]]} for r in set_rows],
                        1, 0.0, -1e9, 0.0)["hit@1"]
        chosen = {p: figures(set_rows, p, prior, none, 0.0)["hit@1"] for p in pools}
        means[0].append(plain)
        for p in pools:
            means[p].append(chosen[p])
        print(f"| {name} | {sum(r['answerable'] for r in set_rows)} | {plain:.3f} | "
              + " | ".join(f"{chosen[p]:.3f}" for p in pools) + " |")
    print("| mean | | " + " | ".join(f"{np.mean(means[p]):.3f}" for p in (0, *pools)) + " |", flush=True)
    return {p: float(np.mean(means[p])) for p in pools}


def calibrate(rows, pool: int, prior: float, none: float) -> float:
    """The lowest probability to answer at: the highest that keeps answerable questions
    wrongly declined at 5% or fewer (pooled over the sets), as out-of-corpus scores show them."""
    answerable = [r for r in rows if r["answerable"]]
    # A question with no candidate at all is declined whatever the threshold: it uses up the allowance first.
    best = sorted((p[1] for r in answerable if (p := best_of(r, pool, prior, none))))
    allowed = int(0.05 * len(answerable)) - (len(answerable) - len(best))
    return float(best[allowed]) if 0 <= allowed < len(best) else float(best[0]) if best else 0.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--train", nargs="+", required=True)
    parser.add_argument("--score", nargs="*", default=[])
    parser.add_argument("--curve", nargs="*", type=int, default=[0], help="training sizes (0: all)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--rank", type=int, default=0, help="rank of the low-rank changes; 0: train the top layers whole")
    parser.add_argument("--frozen", type=int, default=4, help="layers that keep the embedding model's weights")
    parser.add_argument("--prior", type=float, default=1.0, help="weight of the ranking's log-odds in a key")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pools", nargs="+", type=int, default=[3], help="pools to report and choose "
                        "from (each candidate read costs ~10 ms on 2 cores)")
    parser.add_argument("--save", action="store_true", help=f"write the last model to --out ({SELECTOR_FILE})")
    parser.add_argument("--out", type=Path, default=SELECTOR_FILE)
    parser.add_argument("--cache", type=Path, help="folder keeping the frozen layers' outputs between runs "
                        "(numpy arrays and JSON; made for these --frozen layers and model)")
    args = parser.parse_args()
    torch.set_num_threads(2)
    train_rows, scored = load_sets(args.data, args.train), load_sets(args.data, args.score)
    shared = {r["corpus"] for r in train_rows} & {r["corpus"] for r in scored}
    if shared:
        sys.exit(f"--train and --score share corpora: {sorted(shared)}")
    from sentence_transformers import SentenceTransformer

    from bot.config import load_settings
    from index.embedding import resolve_model

    st = SentenceTransformer(resolve_model(load_settings().model), device="cpu")
    encoder, tokenizer = st[0].auto_model, st.tokenizer
    bottom = Bottom(encoder, tokenizer, args.frozen)
    bottom.fill([pair_key(row, c) for row, cands, _ in groups_of(train_rows + scored) for c in cands]
                + [pair_key(row, c) for row in scored for c in row["candidates"]], args.cache)
    print(f"{len(train_rows)} training questions from {len({r['corpus'] for r in train_rows})} corpora; "
          f"{len(scored)} scored from {len({r['corpus'] for r in scored})} others", file=sys.stderr)
    last = None
    for size in args.curve:
        rows = list(train_rows)
        random.Random(args.seed).shuffle(rows)
        rows = rows[:size] if size else rows
        groups = groups_of(rows)
        print(f"\n### {len(rows)} training questions ({len(groups)} with an answering candidate or none to answer); "
              f"ranking-alone loss {constant_loss(groups, args.prior):.3f}", flush=True)
        model = train(encoder, bottom, rows, args.epochs, args.lr, args.rank, args.prior, args.seed)
        if scored:
            score_rows(model, bottom, scored)
            last = (model, report(scored, args.prior, model.none.item(), args.pools))
    if not args.save:
        return
    if last is None:
        sys.exit("--save needs --score sets to choose the pool and threshold on")
    _, means = last
    pool = max(means, key=means.get)
    none = last[0].none.item()
    threshold = calibrate(scored, pool, args.prior, none)
    print(f"\nchosen on out-of-corpus scores: pool {pool}, threshold {threshold:.3f}")
    for name, set_rows in by_set(scored).items():
        f = figures(set_rows, pool, args.prior, none, threshold)
        print(f"  {name}: hit@1 {f['hit@1']:.3f}, wrongly declined {f['wrongly_declined']:.3f}, "
              f"unanswerable declined {f['declined']}, top chars {f['chars']:.0f}")
    # The model written is the one scored: every figure above is out of corpus for it.
    save_selector(args.out, last[0].tensors(), ALPHA_PER_RANK, model_fingerprint(encoder), pool, args.prior,
                  none, threshold,
                  about=f"bench/train_selector.py --epochs {args.epochs} --lr {args.lr} --rank {args.rank} "
                        f"--frozen {args.frozen} --prior {args.prior} --seed {args.seed} "
                        f"--pools {' '.join(map(str, args.pools))}; trained on "
                        f"{', '.join(sorted({r['set'] for r in train_rows}))} (licences in bench/train_data/README.md); "
                        f"pool and threshold chosen on {', '.join(sorted({r['set'] for r in scored}))}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
