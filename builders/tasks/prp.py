"""PRP, product relation prediction, built as the official release built it (RELEASED_FORMAT.md §3).

The release's procedure, step by step:

1. Per category, the 2018 metadata ``meta_<Category>.json(.gz)`` indexed by
   ``asin``; the last record of a duplicate ASIN wins.
2. Three candidate lists per product: ``also_buy``, ``also_view``, and the
   ``similar_item`` string split on ``"asin"`` with characters ``[1:11]`` of
   every piece (:func:`similar_item_candidates`).  A candidate gives a pair
   when it is not the product itself, has metadata, and its title differs
   from the product's; the pair is the two titles sorted.  An error while
   reading one product's list (a missing field or title) makes that product
   give nothing for that list.
3. A pair in exactly one of the three sets BUY, VIEW, SIM is kept with label
   ``A``, ``B`` or ``C``; pairs in several sets are dropped.
4. SPLIT-811 per category, then the first ``size`` pairs of each split.
5. IND mix: PY-RNG seeded 1; ``sample(·, size)`` of the concatenated
   per-category train lists (categories in configured order), then the same
   for validation and test on the same stream.  ``test_ood``: the first
   ``size`` pairs of the OOD category's test split.
6. ``input`` is ``json_text({"Product 1:": t1, "Product 2:": t2})`` (the keys
   hold the colon; titles raw, HTML entities kept), ``options`` the three
   sentences of :data:`OPTIONS`, ``output`` the letter.

Where we cannot replay the release (its pairs were listed in the iteration
order of a hash-seeded Python ``set``; ``random.sample`` raised when a split
was too small) the build follows a documented rule and says so in
``report.differs``.

The metadata is streamed: what stays in memory is the ASIN -> title index
and the set of title pairs with their relations.

Examples
--------
>>> similar_item_candidates('x asin"B000000001" y asin"B000000002"')
[' ', 'B000000001', 'B000000002']
>>> render("Zeta", "Alpha")
'{"Product 1:": "Alpha", "Product 2:": "Zeta"}'
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ecinstruct_builders.core import NOT_SAMPLED, BuildConfig, Example, TaskReport, find_source
from ecinstruct_builders.readers.amazon_review_2018 import iter_meta
from ecinstruct_builders.release import json_text, py_rng, split_811
from ecinstruct_builders.sources import PAPER_CATEGORIES

from ecinstruct_eval.tasks import get_task

TASK = "PRP"
#: The options exactly as the release stores them (``json_text(OPTIONS)``): the task registry's.
OPTIONS = list(get_task(TASK).lettered_options())
#: Metadata list -> (bit in a pair's relation mask, label).
RELATIONS = (("also_buy", 1, "A"), ("also_view", 2, "B"), ("similar_item", 4, "C"))
LABEL_OF_MASK = {bit: letter for _, bit, letter in RELATIONS}
SPLITS = ("train", "validation", "test")
_MISSING = object()


def similar_item_candidates(similar_item) -> list[str]:
    """The release's candidates of a ``similar_item`` value: ``piece[1:11]`` of every piece split on ``"asin"``.

    The piece before the first ``"asin"`` counts too (its slice is rarely an
    ASIN).  A value that is not a string raises, as it did in the release.

    >>> similar_item_candidates("")
    ['']
    """
    return [piece[1:11] for piece in similar_item.split("asin")]


def render(title_a: str, title_b: str) -> str:
    """The release's ``input``: the two titles sorted, as a JSON object with keys ``Product 1:``/``Product 2:``."""
    t1, t2 = sorted((title_a, title_b))
    return json_text({"Product 1:": t1, "Product 2:": t2})


def index_titles(path: Path, report: TaskReport) -> tuple[dict, dict]:
    """``(titles, last)``: ASIN -> title of its last record, ASIN -> position of that record."""
    titles: dict = {}
    last: dict[str, int] = {}
    for k, meta in enumerate(iter_meta(path, report)):
        a = meta["asin"]
        if a in last:
            report.skip("metadata record replaced by a later record of the same asin")
        titles[a] = meta.get("title", _MISSING)
        last[a] = k
    return titles, last


def _list_pairs(meta: dict, field: str, titles: dict) -> list[tuple[tuple[str, str], str]]:
    """``((t1, t2), candidate)`` the release takes from one list of one product; raises on its errors."""
    asin, title = meta["asin"], meta["title"]  # KeyError: no title, nothing from this list
    cands = similar_item_candidates(meta[field]) if field == "similar_item" else list(meta[field])
    out = []
    for c in cands:
        if c == asin or c not in titles:
            continue
        other = titles[c]
        if other is _MISSING:
            raise KeyError("title")
        if other != title:
            out.append((tuple(sorted((title, other))), c))
    return out


def produce(path: Path, titles: dict, last: dict) -> Iterator[tuple[tuple[str, str], int, str, str]]:
    """Every ``(pair, relation bit, asin, candidate)`` the release's three loops make, in our fixed order.

    Order: the surviving (last) record of each ASIN in file order; per
    record ``also_buy``, ``also_view``, ``similar_item``; candidates in list
    order.
    """
    for k, meta in enumerate(iter_meta(path, None)):
        if last.get(meta["asin"]) != k:
            continue
        for field, bit, _ in RELATIONS:
            try:
                pairs = _list_pairs(meta, field, titles)
            except (KeyError, TypeError, AttributeError):
                continue
            for pair, cand in pairs:
                yield pair, bit, meta["asin"], cand


def category_splits(cfg: BuildConfig, report: TaskReport, category: str, wanted: tuple[str, ...]) -> dict:
    """The first ``cfg.target(split)`` examples of each wanted split of ``category``."""
    path = find_source(cfg.sources, "amazon_review_2018", [f"meta_{category}.json"], task=TASK)
    titles, last = index_titles(path, report)
    masks: dict[tuple[str, str], int] = {}
    for pair, bit, _, _ in produce(path, titles, last):
        masks[pair] = masks.get(pair, 0) | bit
    kept = [(pair, LABEL_OF_MASK[m]) for pair, m in masks.items() if m in LABEL_OF_MASK]
    several = len(masks) - len(kept)
    report.drop("title pair in more than one relation", several)
    parts = dict(zip(SPLITS, split_811(kept, seed=cfg.seed)))
    chosen = {}
    for s in wanted:
        n = cfg.target("test_ood" if s == "test" and "train" not in wanted else s)
        chosen[s] = parts[s] if n is None else parts[s][:n]
    stats = {"products": len(last), "pairs": len(masks), "in several relations": several, "kept": len(kept)}
    stats.update({f"{s} (first of split)": len(chosen[s]) for s in wanted})
    report.extra.setdefault("pairs", {})[category] = stats
    # Which products gave each chosen pair (first in our order): a pass for the few pairs kept.
    need = {pair for s in wanted for pair, _ in chosen[s]}
    source = {}
    for pair, _, asin, cand in produce(path, titles, last):
        if pair in need and pair not in source:
            source[pair] = [asin, cand] if titles[asin] == pair[0] else [cand, asin]
    return {
        s: [Example(input=json_text({"Product 1:": p[0], "Product 2:": p[1]}), output=letter, options=list(OPTIONS),
                    category=category, source_ids=source[p]) for p, letter in chosen[s]]
        for s in wanted
    }


def build(cfg: BuildConfig, report: TaskReport) -> dict[str, list[Example]]:
    ind, ood = cfg.categories_for(TASK, **PAPER_CATEGORIES[TASK])
    report.differs("PRP: the release listed each category's title pairs in the iteration order of a hash-seeded "
                   "Python set, which cannot be replayed; we list them in the order they are first produced, walking "
                   "the metadata file (the last record of each ASIN, in file order) and per product also_buy, "
                   "also_view, similar_item, so split membership and order differ from the release's")
    out: dict[str, list[Example]] = {}
    if ind:
        per_cat = {c: category_splits(cfg, report, c, SPLITS) for c in ind}
        rng = py_rng(cfg.seed)
        for s in SPLITS:
            pool = [ex for c in ind for ex in per_cat[c][s]]
            n = cfg.target(s)
            k = len(pool) if n is None else min(n, len(pool))
            if n is not None and n > len(pool):
                report.differs(f"PRP: {s} has {len(pool)} pairs, fewer than the {n} the mix samples; the release's "
                               "random.sample would raise, we sample all of them (a permutation)")
            out[s] = rng.sample(pool, k)
            report.skip(NOT_SAMPLED, len(pool) - k)
    if ood:
        lists = [category_splits(cfg, report, c, ("test",))["test"] for c in ood]
        pool = [ex for lst in lists for ex in lst]
        n = cfg.target("test_ood")
        out["test_ood"] = pool if n is None else pool[:n]
        if len(ood) > 1:
            report.differs("PRP: several OOD categories: test_ood is the first pairs of their test splits "
                           "concatenated in configured order (the release had one OOD category)")
    report.extra["categories"] = {"ind": ind, "ood": ood}
    return out
