"""AVE, attribute value extraction (paper, Appendix A.1.1).

MAVE positives and negatives (full version, with the product paragraphs).
Seven attributes are held out as the OOD source (a seeded choice among all
attribute names, or the configured ``categories["AVE"]["ood"]`` list): a
product with a held-out attribute goes to ``test_ood`` with only the held-out
attributes as targets, and never to an IND split (its lines in either file
without a held-out attribute are skipped).  Other products are split 8:1:1 by
a hash of their id.

The input lists the product's title, description, feature and brand (the
paper's example; paragraphs of one source are joined, features by ``", "``)
and the target attributes.  The gold output is a JSON list of
``{"attribute", "value", "source"}`` triples, one per distinct value and
source (source ``"product title"``, ``"product description"``, ...), with
``"None"`` value and source for an attribute without evidence (a negative).
Evidence values are checked against the cleaned text; an evidence from a
source the input does not show (price) or no longer found after cleaning is
discarded (counted per reason in ``report.extra["evidences_dropped"]``, since
the product row itself may be kept), and a product left without targets is
dropped.

Options (``BuildConfig.options["AVE"]``): ``n_ood_attributes`` (7),
``max_input_words`` (800).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from builders.core import (
    NOT_SAMPLED,
    BottomK,
    BuildConfig,
    Example,
    TaskReport,
    assign_split,
    clean_text,
    find_source,
    shuffled,
    stable_hash,
    task_rng,
)
from builders.readers.mave import iter_products

TASK = "AVE"
#: MAVE paragraph sources shown in the input, with their labels and how paragraphs are joined.
SHOWN = (("title", "Product title", " "), ("description", "Product description", " "),
         ("feature", "Product feature", ", "), ("brand", "Product brand", " "))
FILES = ("mave_positives.jsonl", "mave_negatives.jsonl")


def held_out_attributes(counts: Counter, n: int, seed: int) -> list[str]:
    """``n`` attribute names drawn by the seeded stream from all names (sorted), returned sorted.

    >>> held_out_attributes(Counter({"Color": 3, "Material": 2, "Size": 1}), 2, 1) == held_out_attributes(
    ...     Counter({"Size": 1, "Color": 3, "Material": 2}), 2, 1)
    True
    """
    names = sorted(counts)
    if n >= len(names):
        raise ValueError(f"AVE: cannot hold out {n} of only {len(names)} attributes")
    return sorted(task_rng(seed, TASK, "ood-attributes").sample(names, n))


def products_with_held_out(paths: Iterable[Path], ood_set: set[str]) -> set[str]:
    """Ids of the products that have an attribute of ``ood_set`` in any of ``paths``."""
    return {
        product["id"]
        for path in paths
        for product in iter_products(path, None)
        if any(a["key"] in ood_set for a in product["attributes"])
    }


def product_fields(product: dict) -> dict[str, str]:
    """Cleaned text per shown source (paragraphs of one source joined)."""
    by_source: dict[str, list[str]] = {}
    for p in product["paragraphs"]:
        text = clean_text(p["text"])
        if text:
            by_source.setdefault(p["source"], []).append(text)
    return {src: sep.join(by_source[src]) for src, _, sep in SHOWN if src in by_source}


def format_input(fields: dict[str, str], targets: list[str]) -> str:
    """The paper's input layout: ``Product title: ...`` lines, then ``Target attributes: ...``."""
    lines = [f"{label}: {fields[src]}" for src, label, _ in SHOWN if fields.get(src)]
    lines.append(f"Target attributes: {', '.join(targets)}")
    return "\n".join(lines)


def gold_triples(product: dict, fields: dict[str, str], keys: list[str], report: TaskReport) -> list[dict]:
    """Gold ``{"attribute", "value", "source"}`` triples of ``keys`` (``"None"`` for no evidence).

    Discarded evidences are counted in ``report.extra["evidences_dropped"]``, not as dropped rows.
    """
    discarded = report.extra.setdefault("evidences_dropped", {})

    def discard(reason: str) -> None:
        discarded[reason] = discarded.get(reason, 0) + 1

    triples = []
    for attr in product["attributes"]:
        if attr["key"] not in keys:
            continue
        name = attr["key"].lower()
        seen = set()
        found = []
        for ev in attr["evidences"]:
            src = product["paragraphs"][ev["pid"]]["source"]
            if src not in fields:
                discard("evidence from a source not shown")
                continue
            value = clean_text(ev["value"])
            if not value or value.lower() not in fields[src].lower():
                discard("evidence value not in cleaned text")
                continue
            if (value.lower(), src) in seen:
                continue
            seen.add((value.lower(), src))
            found.append({"attribute": name, "value": value, "source": f"product {src}"})
        if attr["evidences"] and not found:
            continue  # a positive whose evidence cannot be shown: not a target
        triples.extend(found or [{"attribute": name, "value": "None", "source": "None"}])
    return triples


def build(cfg: BuildConfig, report: TaskReport) -> dict[str, list[Example]]:
    paths = [find_source(cfg.sources, "mave", [name], task=TASK) for name in FILES]
    max_words = cfg.option(TASK, "max_input_words", 800)
    conf = cfg.categories.get(TASK, {})
    if conf.get("ood") is not None:
        ood_attrs = sorted(conf["ood"])
    else:
        counts: Counter = Counter()
        for path in paths:
            for product in iter_products(path, None):
                counts.update({a["key"] for a in product["attributes"]})
        ood_attrs = held_out_attributes(counts, cfg.option(TASK, "n_ood_attributes", 7), cfg.seed)
    ood_set = set(ood_attrs)
    # A product's positives and negatives lines are routed together: one with a
    # held-out attribute in either file stays out of the IND splits.
    held_ids = products_with_held_out(paths, ood_set)
    splits = ("train", "validation", "test", "test_ood")
    heaps = {s: BottomK(cfg.size(s)) for s in splits}
    for path in paths:
        kind = "positive" if "positive" in path.name else "negative"
        for product in iter_products(path, report):
            keys = list(dict.fromkeys(a["key"] for a in product["attributes"]))
            held = [k for k in keys if k in ood_set]
            if held:
                split, keys = "test_ood", held
            elif product["id"] in held_ids:
                report.skip("product with a held-out attribute")
                continue
            else:
                split = assign_split(cfg.seed, TASK, product["id"])
            h = stable_hash(cfg.seed, TASK, "sample", kind, product["id"])
            if not heaps[split].would_keep(h):
                if heaps[split].get(h) is not None:
                    report.drop("duplicate product")
                else:
                    report.skip(NOT_SAMPLED)
                continue
            fields = product_fields(product)
            if "title" not in fields:
                report.drop("product without title")
                continue
            triples = gold_triples(product, fields, keys, report)
            targets = list(dict.fromkeys(t["attribute"] for t in triples))
            if not targets:
                report.drop("product without a showable target")
                continue
            targets = [k for k in keys if k.lower() in targets]
            text = format_input(fields, targets)
            if len(text.split()) > max_words:
                report.drop(f"input over {max_words} words")
                continue
            heaps[split].offer(h, Example(
                input=text,
                output=json.dumps(triples, ensure_ascii=False),
                category=product.get("category", "") if isinstance(product.get("category"), str) else "",
                source_ids=[product["id"]],
                attributes=triples,
            ))
    for heap in heaps.values():
        report.skip(NOT_SAMPLED, heap.evicted)
    report.extra["ood_attributes"] = ood_attrs
    return {s: shuffled(heaps[s].items(), cfg.seed, TASK, f"order/{s}") for s in splits}
