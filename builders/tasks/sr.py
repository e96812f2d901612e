"""SR, sequential recommendation (paper, Appendix A.2.2).

Amazon Review 2018 reviews and metadata of the IND categories (paper:
Electronics, Home, Sports) and the OOD category (Tools), with the 2014
metadata filling gaps.  Following UniSRec's protocol:

1. items without a usable 2018 title (after filling from 2014) are removed;
2. iterative 5-core filtering: every user and item keeps at least 5
   interactions (repeated until stable);
3. each user's interactions are sorted chronologically and the earliest 50
   kept;
4. an item is shown as ``title. category level 1. category level 2. brand.``
   cut to its first 25 words (``...`` marks a cut), the 2014 metadata filling
   a missing title, category or brand;
5. leave-one-out targets: test = the last item, validation = the second last,
   train = the third last, each with the items before it as the history;
6. 19 negatives drawn from all items of the same domain (IND categories
   together, or the OOD category) except the user's last three and any item
   with the same text as one of them, mixed with the target at a random
   position: 20 options A-T, the target exactly once.

Every interaction read is accounted for in ``report.extra["interactions"]``
(per category: read = in user sequences + without metadata + repeated +
removed by the k-core + beyond a user's first ``max_history``).  Users are
sampled per split and category (seeded hash), IND categories are
combined 1:1:1.  Options (``BuildConfig.options["SR"]``): ``core`` (5),
``max_history`` (50), ``item_words`` (25), ``candidates`` (20).
"""

from __future__ import annotations

from array import array

import numpy as np

from builders.core import (
    BottomK,
    BuildConfig,
    Example,
    TaskReport,
    clean_text,
    clean_title,
    ensure_period,
    find_source,
    interleave,
    shuffled,
    stable_hash,
    task_rng,
)
from builders.readers import amazon_review_2014 as ar14
from builders.readers.amazon_review_2018 import iter_interactions, iter_meta
from builders.sources import PAPER_CATEGORIES

TASK = "SR"
#: The pipeline keeps the IND categories 1:1 when it trims a split to its target size.
BALANCE_CATEGORIES = True
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#: split -> position of the target from the end of the user's sequence.
TARGET_POSITION = {"test": -1, "test_ood": -1, "validation": -2, "train": -3}


def ordinal(n: int) -> str:
    """``1st``, ``2nd``, ``3rd``, ``4th``, ..., ``11th``, ``21st``.

    >>> [ordinal(i) for i in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101)]
    ['1st', '2nd', '3rd', '4th', '11th', '12th', '13th', '21st', '22nd', '101st']
    """
    if 10 <= n % 100 <= 20:
        return f"{n}th"
    return f"{n}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def item_text(title: str, categories: list[str], brand: str, *, max_words: int = 25) -> str:
    """``title. cat1. cat2. brand.`` cut to ``max_words`` words (``...`` marks a cut).

    >>> item_text("Dolica WT-1003 67-Inch Lightweight Monopod", ["Electronics", "Camera &amp; Photo", "Tripods"], "Dolica")
    'Dolica WT-1003 67-Inch Lightweight Monopod. Electronics. Camera & Photo. Dolica.'
    """
    levels = list(dict.fromkeys(clean_text(c) for c in categories[:2]))  # "Gift Cards. Gift Cards." -> once
    parts = [title] + levels + [clean_text(brand)]
    text = " ".join(ensure_period(p.strip()) for p in parts if p and p.strip())
    words = text.split()
    if len(words) <= max_words:
        return text
    return " ".join(words[:max_words]).rstrip(".,;:") + "..."


def five_core(users: np.ndarray, items: np.ndarray, k: int) -> np.ndarray:
    """Boolean mask of the interactions left by iterative k-core filtering.

    >>> five_core(np.array([0, 0, 1]), np.array([0, 1, 0]), 1).tolist()
    [True, True, True]
    """
    keep = np.ones(len(users), dtype=bool)
    while True:
        u, i = users[keep], items[keep]
        ucount = np.bincount(u, minlength=users.max(initial=-1) + 1)
        icount = np.bincount(i, minlength=items.max(initial=-1) + 1)
        bad = keep & ((ucount[users] < k) | (icount[items] < k))
        if not bad.any():
            return keep
        keep &= ~bad


class _Category:
    """One category after filtering: user sequences (item ids) and item texts."""

    def __init__(self, name: str, seqs: dict[str, list[str]], texts: dict[str, str]):
        self.name, self.seqs, self.texts = name, seqs, texts


def _meta_2014(cfg: BuildConfig, category: str):
    name = cfg.option(TASK, "meta2014", {}).get(category, category)
    if not name:
        return None
    return find_source(cfg.sources, "amazon_review_2014", [f"meta_{name}.json"], required=False)


def load_category(cfg: BuildConfig, report: TaskReport, category: str) -> _Category:
    core = cfg.option(TASK, "core", 5)
    max_history = cfg.option(TASK, "max_history", 50)
    item_words = cfg.option(TASK, "item_words", 25)
    meta_path = find_source(cfg.sources, "amazon_review_2018", [f"meta_{category}.json"], task=TASK)
    inter_path = find_source(
        cfg.sources, "amazon_review_2018", [f"{category}.json", f"{category}_5.json", f"{category}.csv"], task=TASK
    )
    path14 = _meta_2014(cfg, category)
    if path14 is None:
        report.note(f"{category}: no Amazon Review 2014 metadata; gaps in 2018 metadata are not filled")

    # Pass 1: which items have metadata with a usable title (2014 may supply the title).
    titled, untitled = set(), set()
    for meta in iter_meta(meta_path, report):
        (titled if clean_title(meta.get("title")) else untitled).add(meta["asin"])
    untitled -= titled
    if untitled and path14 is not None:
        for m in ar14.iter_meta(path14, report, wanted=untitled):
            if clean_title(m.get("title")):
                titled.add(m["asin"])
    report.drop("item without usable title", len(untitled - titled))

    # Pass 2: interactions with items that have metadata, as compact integer arrays.
    user_ids: dict[str, int] = {}
    item_ids: dict[str, int] = {}
    us, its, ts = array("l"), array("l"), array("q")
    # Every interaction read ends in a user's sequence or in one of these counts.
    tally = {"read": 0, "item without metadata": 0}
    for it in iter_interactions(inter_path, report):
        tally["read"] += 1
        if it.item not in titled:
            tally["item without metadata"] += 1
            continue
        us.append(user_ids.setdefault(it.user, len(user_ids)))
        its.append(item_ids.setdefault(it.item, len(item_ids)))
        ts.append(it.time)
    report.drop("interaction with an item without metadata", tally["item without metadata"])
    users, items, times = (np.frombuffer(a, dtype=a.typecode).astype(np.int64) for a in (us, its, ts))
    del us, its, ts
    # One interaction per (user, item): the earliest.
    order = np.lexsort((np.arange(len(users)), times, items, users))
    users, items, times = users[order], items[order], times[order]
    first = np.ones(len(users), dtype=bool)
    first[1:] = (users[1:] != users[:-1]) | (items[1:] != items[:-1])
    tally["repeated"] = int((~first).sum())
    report.drop("repeated user-item interaction", tally["repeated"])
    users, items, times = users[first], items[first], times[first]
    keep = five_core(users, items, core)
    tally[f"removed by {core}-core"] = int((~keep).sum())
    report.drop(f"interaction removed by {core}-core filtering", tally[f"removed by {core}-core"])
    users, items, times = users[keep], items[keep], times[keep]
    # Chronological per user (ties: item id, which follows first appearance in the file).
    order = np.lexsort((items, times, users))
    users, items = users[order], items[order]
    user_names = np.array(list(user_ids), dtype=object)
    item_names = np.array(list(item_ids), dtype=object)
    seqs: dict[str, list[str]] = {}
    tally[f"beyond a user's first {max_history}"] = 0
    if len(users):
        starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]])
        ends = np.r_[starts[1:], len(users)]
        for s, e in zip(starts, ends):
            seqs[user_names[users[s]]] = [item_names[i] for i in items[s : min(e, s + max_history)]]
            tally[f"beyond a user's first {max_history}"] += int(max(0, e - s - max_history))
    report.skip(f"interaction beyond a user's first {max_history}", tally[f"beyond a user's first {max_history}"])
    tally["in user sequences"] = sum(len(seq) for seq in seqs.values())
    report.extra.setdefault("interactions", {})[category] = tally
    needed = {a for seq in seqs.values() for a in seq}
    del users, items, times, user_ids, item_ids

    # Pass 3: texts of the remaining items; 2014 fills missing title, category or brand.
    parts: dict[str, list] = {}
    for meta in iter_meta(meta_path, None, wanted=needed):
        a = meta["asin"]
        if a not in parts:
            cats = [c for c in (meta.get("category") or []) if isinstance(c, str) and c.strip()]
            brand = meta.get("brand") if isinstance(meta.get("brand"), str) else ""
            parts[a] = [clean_title(meta.get("title")), cats, brand.strip()]
    gaps = {a for a, p in parts.items() if not p[0] or len(p[1]) < 2 or not p[2]}
    if gaps and path14 is not None:
        filled = 0
        for m in ar14.iter_meta(path14, None, wanted=gaps):
            m = ar14.to_2018_shape(m)
            p = parts[m["asin"]]
            before = list(p)
            p[0] = p[0] or clean_title(m["title"])
            p[1] = p[1] if len(p[1]) >= 2 else (m["category"] if len(m["category"]) > len(p[1]) else p[1])
            p[2] = p[2] or m["brand"].strip()
            filled += p != before
        report.extra.setdefault("items_filled_from_2014", {})[category] = filled
    texts = {a: item_text(p[0], p[1], p[2], max_words=item_words) for a, p in parts.items()}
    report.extra.setdefault("after_filtering", {})[category] = {"users": len(seqs), "items": len(texts)}
    return _Category(category, seqs, texts)


def _examples(cfg, report, cat: _Category, split: str, pool: list[str], texts: dict[str, str]) -> list[Example]:
    n_cand = cfg.option(TASK, "candidates", 20)
    heap = BottomK(cfg.size(split))
    pos = TARGET_POSITION[split]
    for user, seq in cat.seqs.items():
        if len(seq) >= -pos + 1:  # at least one history item before the target
            heap.offer(stable_hash(cfg.seed, TASK, split, cat.name, user), user)
    out = []
    for user in heap.items():
        seq = cat.seqs[user]
        target = seq[pos]
        history = seq[:pos]
        rng = task_rng(cfg.seed, TASK, f"candidates/{split}/{cat.name}/{user}")
        # By text, not ASIN: another ASIN with the text of one of the last three items
        # would show the user's real (or next) item as a wrong option.
        shown = {texts[a] for a in seq[-3:]} | {texts[target]}
        negs: list[str] = []
        tries = 0
        while len(negs) < n_cand - 1 and tries < 50 * n_cand:
            tries += 1
            cand = pool[rng.randrange(len(pool))]
            if texts[cand] in shown:
                continue
            negs.append(cand)
            shown.add(texts[cand])
        if len(negs) < n_cand - 1:
            report.drop(f"{split}: too few distinct candidate items")
            continue
        at = rng.randrange(n_cand)
        cands = negs[:at] + [target] + negs[at:]
        out.append(Example(
            input="\n".join(f"{ordinal(k)}: {texts[a]}" for k, a in enumerate(history, 1)),
            output=LETTERS[at],
            options=[f"{LETTERS[k]}: {texts[a]}" for k, a in enumerate(cands)],
            category=cat.name,
            source_ids=[user, target],
        ))
    return out


def build(cfg: BuildConfig, report: TaskReport) -> dict[str, list[Example]]:
    ind, ood = cfg.categories_for(TASK, **PAPER_CATEGORIES[TASK])
    n_cand = cfg.option(TASK, "candidates", 20)
    if not 2 <= n_cand <= len(LETTERS):
        raise ValueError(f"SR candidates must be 2..{len(LETTERS)}, got {n_cand}")
    out: dict[str, list[Example]] = {}
    for group, splits in ((ind, ("train", "validation", "test")), (ood, ("test_ood",))):
        if not group:
            continue
        cats = [load_category(cfg, report, c) for c in group]
        texts: dict[str, str] = {}
        for c in cats:
            texts.update(c.texts)
        pool = sorted(texts)
        if len(pool) < n_cand + 3:
            report.note(f"{'/'.join(group)}: only {len(pool)} items after filtering; too few for {n_cand} options")
            for s in splits:
                out[s] = []
            continue
        for split in splits:
            lists = [_examples(cfg, report, c, split, pool, texts) for c in cats]
            out[split] = shuffled(interleave(lists, cfg.size(split)), cfg.seed, TASK, f"order/{split}")
    report.extra["categories"] = {"ind": ind, "ood": ood}
    return out
