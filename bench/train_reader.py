"""Train the reader (bot/answering/reader.py), the span model that uses its outputs and the re-ranking; write bot/data/reader.safetensors.

The embedding model gets trained low-rank changes (LoRA) to every layer's linear maps, its
layer norms retrained, and a start/end head; it reads question and excerpt together. Trained on
the TUNING split's (even XQuAD articles) top three excerpts per question as the ranking orders
them: where one quotes the answer from the right document, the reader learns its start and
end; where one does not, to point at [CLS] ("not here"). Out-of-fold outputs (two readers,
each trained on half of the tuning articles) fit the span model (bot/answering/highlight.py features plus
the reader's per-word start and end log-probabilities, on the top excerpts) and choose the
re-ranking's weight (best tuning hit@1), so both see the reader as it does on text it was not
trained on. Held out: the odd articles, read by the reader trained on the whole tuning split.
Prints held-out hit@1 with and without re-ranking and held-out highlight F1 for the span model
alone, the reader alone, and both; ~17 min on 2 cores.

    python bench/train_reader.py [--epochs 5] [--lr 1e-3] [--rank 8] [--seed 0] [--train-depth 3] [--listwise 0]
                                 [--out bot/data/reader.safetensors]

--rank 0 fine-tunes the whole model instead (--freeze N keeps the word embeddings and the
first N layers as they are); such a reader is reported, not written.
"""

from __future__ import annotations

import argparse
import json
import copy
import random
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from bot.answering.question import read_question  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.evaluate import eval_settings, load_eval_file, token_f1  # noqa: E402
from bot.answering.highlight import FEATURES, READER_FEATURES, READER_ONLY, _tokens, span_features  # noqa: E402
from bot.answering.linear import LinearModel  # noqa: E402
from bot.answering.reader import ADAPTER_FILE, LOW_RANK_TARGETS, Reranking, answerability, log_odds, model_fingerprint, save_adapter  # noqa: E402
from bot.service import CitebotService  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "eval"
BATCH = 16
RERANK_WEIGHT = 0.4  # the reader's weight in the re-ranking key, as the listwise loss sees it
ALPHA_PER_RANK = 2.0  # the low-rank change is scaled by alpha / rank = 2


def holds_answer(item) -> bool:
    return any(a.lower() in item["text"].lower() for a in item["answers"])


class LowRankLinear(torch.nn.Module):
    """A frozen linear layer plus a trained low-rank change (LoRA): W + scale * B @ A."""

    def __init__(self, base: torch.nn.Linear, rank: int, alpha: float):
        super().__init__()
        self.base = base
        self.a = torch.nn.Parameter(torch.randn(rank, base.in_features) / base.in_features ** 0.5)
        self.b = torch.nn.Parameter(torch.zeros(base.out_features, rank))
        self.scale = alpha / rank

    def forward(self, x):
        return self.base(x) + (x @ self.a.T @ self.b.T) * self.scale


def add_low_rank(reader, rank: int) -> None:
    for p in reader.encoder.parameters():
        p.requires_grad = False
    low_rank_layers(reader.encoder.encoder.layer, rank)


def low_rank_layers(layers, rank: int) -> None:
    """Each layer's linear maps get a trained low-rank change, and its layer norms are trained."""
    for layer in layers:
        for path in LOW_RANK_TARGETS:
            parent, name = path.rsplit(".", 1)
            owner = layer.get_submodule(parent)
            setattr(owner, name, LowRankLinear(getattr(owner, name), rank, ALPHA_PER_RANK * rank))
        for norm in (layer.attention.output.LayerNorm, layer.output.LayerNorm):
            for p in norm.parameters():
                p.requires_grad = True


class Reader(torch.nn.Module):
    """Start and end logits over the excerpt's tokens and [CLS], where an excerpt that does not
    answer puts both (SQuAD 2.0's convention): the reader also learns to say "not here"."""

    def __init__(self, encoder):
        super().__init__()
        self.encoder = copy.deepcopy(encoder)
        self.head = torch.nn.Linear(encoder.config.hidden_size, 2)

    def forward(self, batch):
        start_end = self.head(self.encoder(**batch).last_hidden_state)
        allowed = (batch["token_type_ids"] == 1) & (batch["attention_mask"] == 1)
        allowed[:, 0] = True
        return start_end[..., 0].masked_fill(~allowed, -1e4), start_end[..., 1].masked_fill(~allowed, -1e4)


def encode(tokenizer, items):
    batch = tokenizer([i["question"] for i in items], [i["text"] for i in items], truncation="only_second",
                      max_length=192, padding=True, return_offsets_mapping=True, return_tensors="pt")
    offsets = batch.pop("offset_mapping").tolist()
    sequences = [batch.sequence_ids(k) for k in range(len(items))]
    starts, ends = [], []
    for k, item in enumerate(items):
        lowered, first, last = item["text"].lower(), 0, 0  # 0: [CLS], "no answer here"
        where = next((p, p + len(a)) for a in item["answers"] if (p := lowered.find(a.lower())) >= 0) \
            if item.get("label", True) and holds_answer(item) else (-1, -1)
        for t, ((a, b), seq) in enumerate(zip(offsets[k], sequences[k])):
            if seq == 1 and where[0] >= 0 and b > a:
                if not first and b > where[0]:
                    first = t
                if a < where[1]:
                    last = t
        starts.append(first)
        ends.append(max(first, last))
    return batch, offsets, sequences, torch.tensor(starts), torch.tensor(ends)


def batches(items, listwise: bool) -> list[list[dict]]:
    """Shuffled batches of about BATCH excerpts; for the listwise loss, a question's excerpts stay together."""
    if not listwise:
        random.shuffle(items)  # in place, so that a seed gives the same reader as before this option
        return [items[k:k + BATCH] for k in range(0, len(items), BATCH)]
    groups: dict[int, list[dict]] = {}
    for item in items:
        groups.setdefault(item["number"], []).append(item)
    order = list(groups.values())
    random.shuffle(order)
    out, current = [], []
    for group in order:
        current.extend(group)
        if len(current) >= BATCH:
            out.append(current)
            current = []
    return out + ([current] if current else [])


def listwise_loss(items, batch, start_logits, end_logits, weight: float):
    """Cross-entropy of "which of a question's excerpts answers" under the re-ranking's key
    (ranking log-odds + weight x answerability), so the reader learns what the ranking misses.
    Answerability here is best start + best end against [CLS]'s, a bound of the one used."""
    in_text = (batch["token_type_ids"] == 1) & (batch["attention_mask"] == 1)
    best = (start_logits.masked_fill(~in_text, -1e4).max(dim=1).values
            + end_logits.masked_fill(~in_text, -1e4).max(dim=1).values)
    answerable = best - start_logits[:, 0] - end_logits[:, 0]
    prior = torch.tensor([log_odds(i["score"]) for i in items])
    keys = prior + weight * answerable
    losses = []
    for number in dict.fromkeys(i["number"] for i in items):
        at = [k for k, i in enumerate(items) if i["number"] == number]
        right = [k for k in at if items[k]["label"]]
        if right and len(right) < len(at):
            losses.append(torch.logsumexp(keys[at], 0) - torch.logsumexp(keys[right], 0))
    return torch.stack(losses).mean() if losses else keys.sum() * 0


def train(encoder, tokenizer, items, epochs: int, lr: float, freeze: int, rank: int = 0, seed: int = 0,
          listwise: float = 0.0) -> Reader:
    torch.manual_seed(seed)
    random.seed(seed)
    reader = Reader(encoder)
    if rank:
        add_low_rank(reader, rank)
    elif freeze:
        frozen = [reader.encoder.embeddings, *reader.encoder.encoder.layer[:freeze]]
        for module in frozen:
            for p in module.parameters():
                p.requires_grad = False
    params = [p for p in reader.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    items, steps, step = list(items), epochs * -(-len(items) // BATCH), 0
    reader.train()
    for _ in range(epochs):
        for chunk in batches(items, listwise > 0):
            batch, _, _, starts, ends = encode(tokenizer, chunk)
            start_logits, end_logits = reader(batch)
            loss = (torch.nn.functional.cross_entropy(start_logits, starts)
                    + torch.nn.functional.cross_entropy(end_logits, ends)) / 2
            if listwise:
                loss = loss + listwise * listwise_loss(chunk, batch, start_logits, end_logits, RERANK_WEIGHT)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            step += 1
            for group in optimiser.param_groups:
                group["lr"] = lr * (1 - step / steps)
    reader.eval()
    return reader


def read(reader, tokenizer, items) -> None:
    """Each item gets "reader": per word of the text (highlight's words), the log-probability
    that the answer starts there and that it ends there; and "answers_here", the reader's
    answerability (bot/answering/reader.py: best span against [CLS])."""
    with torch.no_grad():
        for k in range(0, len(items), 32):
            chunk = items[k:k + 32]
            batch, offsets, sequences, _, _ = encode(tokenizer, chunk)
            start_logits, end_logits = reader(batch)
            for r, item in enumerate(chunk):
                in_text = np.array([seq == 1 and b > a for (a, b), seq in zip(offsets[r], sequences[r])])
                item["answers_here"] = answerability(start_logits[r].numpy(), end_logits[r].numpy(), in_text)
                words = _tokens(item["text"])
                starts, ends = np.full(len(words.start), -30.0), np.full(len(words.start), -30.0)
                pieces = [(t, a, b) for t, ((a, b), seq) in enumerate(zip(offsets[r], sequences[r])) if seq == 1 and b > a]
                for w, (a, b) in enumerate(zip(words.start, words.end)):
                    inside = [t for t, pa, pb in pieces if pa >= a and pb <= b]
                    if inside:
                        starts[w], ends[w] = start_logits[r, inside[0]], end_logits[r, inside[-1]]
                item["reader"] = (_log_softmax(starts), _log_softmax(ends))


def _log_softmax(x: np.ndarray) -> np.ndarray:
    x = x - x.max()
    return x - np.log(np.exp(x).sum())


def rows(item, use: str):
    starts, ends, matrix = span_features(read_question(item["question"]), item["text"])
    words = _tokens(item["text"])
    i, j = np.searchsorted(words.start, starts), np.searchsorted(words.end, ends)
    start_lp, end_lp = item["reader"]
    reader = np.column_stack([start_lp[i], end_lp[j], start_lp[i] + end_lp[j]])
    return starts, ends, {"span model": matrix, "reader": reader, "both": np.hstack([matrix, reader])}[use]


def fit(items, use: str) -> LinearModel:
    x, y = [], []
    for item in items:
        if holds_answer(item):
            starts, ends, matrix = rows(item, use)
            x.append(matrix)
            y.extend(max(token_f1(item["text"][a:b], g) for g in item["answers"]) for a, b in zip(starts, ends))
    x, y = np.vstack(x), np.array(y)
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    # With the reader, spans matching the gold answer with F1 >= 0.6 are the positives (chosen by
    # 4-fold cross-validation on the tuning split over 0.5-0.99); without it, 0.5 (bench/tune_highlight.py).
    good = 0.5 if use == "span model" else 0.6
    model = LogisticRegression(C=0.1, max_iter=5000).fit((x - mean) / scale, (y >= good).astype(int),
                                                         sample_weight=np.where(y >= good, y, 1.0))
    weights = model.coef_[0] / scale
    names = {"span model": FEATURES, "reader": READER_ONLY, "both": READER_FEATURES}[use]
    return LinearModel(tuple(float(w) for w in weights), float(model.intercept_[0] - weights @ mean), names)


def f1(items, model: LinearModel, use: str) -> list[float]:
    scores = []
    for item in items:
        starts, ends, matrix = rows(item, use)
        best = int(np.argmax(model.scores(matrix)))
        scores.append(max(token_f1(item["text"][starts[best]:ends[best]], g) for g in item["answers"]))
    return scores


def top_excerpts(service, questions, k: int = 3) -> list[dict]:
    """The top k excerpts of every question, in ranking order, with their ranking probability;
    "label": the excerpt quotes the answer from the right document (hit@1's test)."""
    items = []
    for number, q in enumerate(questions):
        for rank, excerpt in enumerate(service.ask(q.question, k=k).excerpts[:k]):
            item = {"number": number, "question": q.question, "text": excerpt.text, "answers": q.answers,
                    "article": int(q.source[:3]) if q.source[:3].isdigit() else -1, "rank": rank,
                    "score": excerpt.score, "right": excerpt.citation.path == q.source}
            item["label"] = item["right"] and holds_answer(item)
            items.append(item)
    return items


def reranked(items, reranking: Reranking) -> dict[int, dict]:
    """Each question's top excerpt after re-ordering by the ranking and the reader together."""
    best: dict[int, dict] = {}
    for item in items:
        key = reranking.key(item["score"], item["answers_here"])
        if item["number"] not in best or key > best[item["number"]]["key"]:
            best[item["number"]] = {**item, "key": key}
    return best


def choose_reranking(items, questions: int) -> tuple[Reranking, dict[float, float]]:
    """The reader's weight against the ranking's log-odds that gives the best hit@1 (out-of-fold
    reader outputs, tuning split); the cap is the highest answerability seen, so that an excerpt
    that cannot win is never read."""
    cap = max(item["answers_here"] for item in items)
    by_weight = {w: sum(top["label"] for top in reranked(items, Reranking(w, cap)).values()) / questions
                 for w in (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0)}
    return Reranking(max(by_weight, key=by_weight.get), round(cap + 0.5, 1)), by_weight


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--freeze", type=int, default=0)
    parser.add_argument("--rank", type=int, default=8, help="rank of the low-rank changes; 0: fine-tune the model")
    parser.add_argument("--seed", type=int, default=0, help="for the initial weights and the order of examples")
    parser.add_argument("--train-depth", type=int, default=3, help="train on each tuning question's top N excerpts "
                        "(more than 3 adds lower-ranked ones, as harder negatives); the re-ranking is chosen on the top 3")
    parser.add_argument("--listwise", type=float, default=0.0, help="weight of a loss on which of a question's "
                        "excerpts answers, under the re-ranking's key (0: the span loss alone)")
    parser.add_argument("--out", type=Path, default=ADAPTER_FILE)
    parser.add_argument("--save-items", type=Path, help="write the excerpts with their (out-of-fold) reader "
                        "outputs here as JSON, to try other ways of combining without training again")
    args = parser.parse_args()
    torch.set_num_threads(2)
    base = load_settings()
    xquad = load_eval_file(str(SHARED / "xquad" / "xquad.en.json"))
    # The excerpts as the ranking alone orders them, down to the third, whatever their score.
    service = CitebotService(replace(eval_settings(base, xquad), reader=False, k=3, threshold=0.0))
    service.ensure_index()
    items = top_excerpts(service, xquad.questions)
    shown = {(i["number"], i["text"]) for i in items}
    deeper = [i for i in top_excerpts(service, xquad.questions, args.train_depth)
              if (i["number"], i["text"]) not in shown] if args.train_depth > 3 else []
    held_count = sum(1 for q in xquad.questions if int(q.source[:3]) % 2 == 1)
    tune = [i for i in items if i["article"] % 2 == 0]
    held = [i for i in items if i["article"] % 2 == 1]
    # An excerpt from another document that happens to hold the answer's words is not one to learn from.
    learn = [i for i in tune + [i for i in deeper if i["article"] % 2 == 0] if i["label"] or not holds_answer(i)]
    model = service.embedder.model
    encoder, tokenizer = model[0].auto_model, model.tokenizer
    started = time.perf_counter()
    for side in (0, 1):  # out-of-fold reader outputs for fitting the span model and the re-ranking
        trained_on = [i for i in learn if i["article"] // 2 % 2 != side]
        read(train(encoder, tokenizer, trained_on, args.epochs, args.lr, args.freeze, args.rank, args.seed, args.listwise),
             tokenizer, [i for i in tune if i["article"] // 2 % 2 == side])
    reader = train(encoder, tokenizer, learn, args.epochs, args.lr, args.freeze, args.rank, args.seed, args.listwise)
    read(reader, tokenizer, held)
    if args.save_items:
        args.save_items.write_text(json.dumps([{**i, "reader": [x.tolist() for x in i["reader"]]} for i in items]))
    trainable = sum(p.numel() for p in reader.parameters() if p.requires_grad)
    print(f"epochs {args.epochs}, lr {args.lr}, first {args.freeze} layers frozen, rank {args.rank}: {trainable / 1e6:.1f}M weights trained, "
          f"{time.perf_counter() - started:.0f} s for three readers")
    tune_count = len(xquad.questions) - held_count
    reranking, by_weight = choose_reranking(tune, tune_count)
    print("re-ranking, tuning hit@1 (out-of-fold) by the reader's weight: "
          + ", ".join(f"{w}: {h:.3f}" for w, h in by_weight.items()) + f"; chosen {reranking}")
    plain, both = reranked(held, Reranking(0.0, reranking.cap)), reranked(held, reranking)
    print(f"held-out hit@1: ranking alone {sum(t['label'] for t in plain.values()) / held_count:.3f}, "
          f"re-ranked with the reader {sum(t['label'] for t in both.values()) / held_count:.3f} ({held_count} questions)")
    models = {}
    first = [i for i in tune if i["rank"] == 0]
    for use in ("span model", "reader", "both"):
        models[use] = fit(first, use)
        for name, tops in (("ranking's top", plain), ("re-ranked top", both)):
            scored = list(tops.values())
            answered = [i for i in scored if i["label"]]
            print(f"{use:>10}, {name}: held-out highlight F1 {100 * sum(f1(scored, models[use], use)) / held_count:.1f} "
                  f"over {held_count} questions, {100 * np.mean(f1(answered, models[use], use)):.1f} where it holds the answer")
    if args.rank:
        save_adapter(args.out, adapter_tensors(reader), ALPHA_PER_RANK, model_fingerprint(encoder),
                     READER_FEATURES, models["both"], reranking,
                     about=f"bench/train_reader.py --epochs {args.epochs} --lr {args.lr} --rank {args.rank} --seed {args.seed} "
                           f"--train-depth {args.train_depth} --listwise {args.listwise}; "
                           f"trained on the even articles of XQuAD (CC BY-SA 4.0)")
        print(f"wrote {args.out}")


def adapter_tensors(reader: Reader) -> dict[str, np.ndarray]:
    """The trained numbers only: low-rank factors, layer norms, head."""
    return {**{f"head.{name}": p.detach().numpy() for name, p in reader.head.named_parameters()},
            **layer_tensors(reader.encoder.encoder.layer)}


def layer_tensors(layers, first: int = 0) -> dict[str, np.ndarray]:
    """The trained numbers of these layers (numbered from `first`), under the names
    bot/answering/reader.changed_transformer reads: each linear map's low-rank factors, or the map
    itself when it was trained whole, and the layer norms."""
    tensors = {}
    for n, layer in enumerate(layers, start=first):
        for target in LOW_RANK_TARGETS:
            changed, name = layer.get_submodule(target), f"layer.{n}.{target}"
            if isinstance(changed, LowRankLinear):
                tensors[f"{name}.a"], tensors[f"{name}.b"] = changed.a.detach().numpy(), changed.b.detach().numpy()
            else:
                tensors[f"{name}.weight"], tensors[f"{name}.bias"] = changed.weight.detach().numpy(), changed.bias.detach().numpy()
        for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
            for name, p in layer.get_submodule(norm).named_parameters():
                tensors[f"layer.{n}.{norm}.{name}"] = p.detach().numpy()
    return tensors


if __name__ == "__main__":
    main()
