"""PRP, product relation prediction (paper, Appendix A.1.2).

Amazon Review 2018 metadata of the IND categories (paper: Electronics, Home,
Sports) and the OOD category (Tools).  Products without detail (no usable
title, or neither description nor feature) are removed.  Every
``also_buy`` (A), ``also_view`` (B) and ``similar_item`` (C, ASINs parsed
from its HTML table) link between two kept products of the same category
gives an unordered pair; pairs seen with more than one relation are dropped.
A pair is shown by its two titles in sorted order.  Pairs are split 8:1:1 by a
hash of the pair, IND categories are combined 1:1:1, the OOD category gives
``test_ood``.

The metadata is streamed three times, holding only the set of ASINs with
detail and a bounded sample of pairs (several times the target size), so a
category of any size builds with flat memory; when conflicts leave too few
pairs the pair pass repeats with a larger sample.
"""

from __future__ import annotations

from builders.core import (
    BottomK,
    BuildConfig,
    Example,
    TaskReport,
    assign_split,
    clean_title,
    find_source,
    interleave,
    shuffled,
    stable_hash,
)
from builders.readers.amazon_review_2018 import iter_meta, similar_item_asins, text_list
from builders.sources import PAPER_CATEGORIES

TASK = "PRP"
#: The pipeline keeps the IND categories 1:1 when it trims a split to its target size.
BALANCE_CATEGORIES = True
#: Metadata field -> option letter (options as in the paper: A also buy, B also view, C similar).
RELATIONS = (("also_buy", "A"), ("also_view", "B"), ("similar_item", "C"))


def has_detail(meta: dict) -> bool:
    """Whether a product has detailed information: a usable title and a description or feature."""
    return bool(clean_title(meta.get("title"))) and bool(text_list(meta.get("description")) or text_list(meta.get("feature")))


def links(meta: dict) -> list[tuple[str, str]]:
    """``(other_asin, letter)`` for every relation link of a metadata record."""
    out = []
    for fieldname, letter in RELATIONS:
        if fieldname == "similar_item":
            ids = similar_item_asins(meta.get("similar_item"))
        else:
            ids = [x for x in (meta.get(fieldname) or []) if isinstance(x, str)]
        out.extend((b, letter) for b in ids)
    return out


def _pairs(path, report, detail, splits, sizes, seed, oversample):
    """Bottom-k sample of unordered pairs per split, with every relation each pair has."""
    heaps = {s: BottomK(None if sizes[s] is None else sizes[s] * oversample + 50) for s in splits}
    for meta in iter_meta(path, None):
        a = meta["asin"]
        if a not in detail:
            continue
        for b, letter in links(meta):
            if b == a or b not in detail:
                continue
            key = (a, b) if a < b else (b, a)
            split = assign_split(seed, TASK, *key) if len(splits) > 1 else splits[0]
            h = stable_hash(seed, TASK, "sample", *key)
            held = heaps[split].get(h)
            if held is not None:
                held[2].add(letter)
            elif heaps[split].would_keep(h):
                heaps[split].offer(h, [key[0], key[1], {letter}])
    return heaps


def sample_category(cfg: BuildConfig, report: TaskReport, category: str, splits: tuple[str, ...]) -> dict[str, list[Example]]:
    from ecinstruct_eval.tasks import get_task

    path = find_source(cfg.sources, "amazon_review_2018", [f"meta_{category}.json"], task=TASK)
    detail = set()
    for meta in iter_meta(path, report):
        if has_detail(meta):
            detail.add(meta["asin"])
        else:
            report.drop("product without detail")
    sizes = {s: cfg.size(s) for s in splits}
    oversample = 3
    while True:
        heaps = _pairs(path, report, detail, splits, sizes, cfg.seed, oversample)
        kept = {s: [p for p in heaps[s].items() if len(p[2]) == 1] for s in splits}
        short = [s for s in splits if sizes[s] is not None and len(kept[s]) < sizes[s]
                 and heaps[s].offered > len(heaps[s])]
        if not short:
            break
        oversample *= 4
    for s in splits:
        report.drop("pair with more than one relation", sum(1 for p in heaps[s].items() if len(p[2]) > 1))
        kept[s] = kept[s][: sizes[s]] if sizes[s] is not None else kept[s]
    wanted = {a for s in splits for p in kept[s] for a in p[:2]}
    titles = {m["asin"]: clean_title(m.get("title")) for m in iter_meta(path, None, wanted=wanted)}
    options = get_task(TASK).lettered_options()
    out = {}
    for s in splits:
        exs = []
        for a, b, letters in kept[s]:
            t1, t2 = sorted((titles[a], titles[b]))
            exs.append(Example(
                input=f"Product 1: {t1}\nProduct 2: {t2}",
                output=next(iter(letters)),
                options=list(options),
                category=category,
                source_ids=[a, b] if titles[a] <= titles[b] else [b, a],
            ))
        out[s] = exs
    return out


def build(cfg: BuildConfig, report: TaskReport) -> dict[str, list[Example]]:
    ind, ood = cfg.categories_for(TASK, **PAPER_CATEGORIES[TASK])
    per_cat = {c: sample_category(cfg, report, c, ("train", "validation", "test")) for c in ind}
    out = {}
    for split in ("train", "validation", "test"):
        mixed = interleave([per_cat[c][split] for c in ind], cfg.size(split))
        out[split] = shuffled(mixed, cfg.seed, TASK, f"order/{split}")
    if ood:
        lists = [sample_category(cfg, report, c, ("test_ood",))["test_ood"] for c in ood]
        out["test_ood"] = shuffled(interleave(lists, cfg.size("test_ood")), cfg.seed, TASK, "order/test_ood")
    report.extra["categories"] = {"ind": ind, "ood": ood}
    return out
