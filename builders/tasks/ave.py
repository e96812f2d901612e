"""AVE, attribute value extraction, built as the official release built it (RELEASED_FORMAT.md §2).

The release's procedure:

1. Rows: per MAVE PRODUCT split (``train``, ``val``, ``test``) the lines of
   ``<split>/00_All/mave_positives.jsonl`` followed by those of
   ``mave_negatives.jsonl``.  A row's holdout key is ``attributes[0].key``.
2. OOD holdout: the distinct keys of the **test** rows in order of first
   appearance, shuffled twice with Python's ``random`` after ``seed(1)``;
   walking that list, each key is held out unless the held-out test rows
   already number at least 1000 (then the walk stops).
3. Per split, the IND rows (key not held out) in row order, shuffled by pandas
   ``sample(frac=1, random_state=1)``; the first ``size`` of them are used.
   The OOD rows are the held-out **test** rows, concatenated key by key in
   holdout order, shuffled the same way; only the OOD test set is written.
   Held-out rows of train and validation are not used.
4. ``input`` is the JSON text of an object with one key ``"product <source>"``
   per paragraph source, in order of first appearance, whose texts are joined
   by ``", "``, then ``"target attributes"``: the row's attribute keys joined
   by ``" and "``.  No cleaning of any kind.
5. ``output`` is the JSON text of a list of ``{"attribute", "value",
   "source"}`` objects, all lower-cased: one per evidence (the source is the
   evidence paragraph's ``"product <source>"``), ``"None"``/``"None"`` for an
   attribute without evidence; identical triples collapse.  The release built
   them as a Python set, so its list order is hash-seeded and unknown; we keep
   the order of first appearance (attributes, then evidences, in row order).

Differences from the release (each recorded with ``report.differs``): that
list order; the split of the single-file layout (MAVE's full-version script
writes ``mave_positives.jsonl`` and ``mave_negatives.jsonl`` without splits:
we split their rows 8:1:1 by a seeded hash of the product id, so a product's
positives and negatives lines share a split, and read each split's rows
positives first, in file order); a configured holdout
(``categories["AVE"]["ood"]``) instead of the drawn one; a holdout threshold
other than 1000 (option ``ood_test_rows``; default the ``test_ood`` target
size, which is 1000 at the paper's sizes, and 1000 with sizes ``"all"``).

Memory stays bounded by the target sizes: a first pass keeps each row's
position and key only, the second renders the chosen rows.

Examples
--------
>>> row = {"id": "B1", "category": "Scarves", "paragraphs": [
...     {"text": "Wool Scarf", "source": "title"}, {"text": "Warm", "source": "feature"},
...     {"text": "Soft wool", "source": "feature"}],
...     "attributes": [{"key": "Material", "evidences": [{"value": "Wool", "pid": 0}, {"value": "wool", "pid": 2}]},
...                    {"key": "Color", "evidences": []}]}
>>> print(render_input(row))
{"product title": "Wool Scarf", "product feature": "Warm, Soft wool", "target attributes": "Material and Color"}
>>> print(json_text(gold_triples(row)))
[{"attribute": "material", "value": "wool", "source": "product title"}, {"attribute": "material", "value": "wool", \
"source": "product feature"}, {"attribute": "color", "value": "None", "source": "None"}]
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from ecinstruct_builders.core import (
    NOT_SAMPLED,
    BuildConfig,
    Example,
    TaskReport,
    assign_split,
    find_source,
)
from ecinstruct_builders.readers.mave import FILES, find_split_files, iter_products
from ecinstruct_builders.release import json_text, pandas_sample, py_rng

TASK = "AVE"
IND_SPLITS = ("train", "validation", "test")
#: The release's holdout threshold (held-out test rows) at the paper's sizes.
OOD_TEST_ROWS = 1000
#: Skip reason of a held-out row of train or validation (the release writes only the OOD test set).
HELD_OUT_UNUSED = "held-out attribute outside the test split"


def render_input(row: dict) -> str:
    """The release's ``input`` of a MAVE row (paragraphs grouped by source, then the target attributes)."""
    groups: dict[str, list[str]] = {}
    for p in row["paragraphs"]:
        groups.setdefault("product " + p["source"], []).append(p["text"])
    obj = {key: ", ".join(texts) for key, texts in groups.items()}
    obj["target attributes"] = " and ".join(a["key"] for a in row["attributes"])
    return json_text(obj)


def gold_triples(row: dict) -> list[dict]:
    """The release's set of gold triples, lower-cased, in order of first appearance."""
    seen: dict[tuple[str, str, str], None] = {}
    for a in row["attributes"]:
        name = a["key"].lower()
        if not a["evidences"]:
            seen.setdefault((name, "None", "None"), None)
        for ev in a["evidences"]:
            source = ("product " + row["paragraphs"][ev["pid"]]["source"]).lower()
            seen.setdefault((name, ev["value"].lower(), source), None)
    return [{"attribute": k, "value": v, "source": s} for k, v, s in seen]


def holdout(test_keys: list[str], counts: Counter, threshold: int, seed: int = 1) -> list[str]:
    """The release's held-out attribute keys, in holdout order.

    ``test_keys`` are the test rows' keys in row order; ``counts`` the test
    rows per key.

    >>> holdout(["a", "b", "a", "c", "d"], Counter("abacd"), 2)
    ['b', 'a']
    """
    keys = list(dict.fromkeys(test_keys))
    rng = py_rng(seed)
    rng.shuffle(keys)
    rng.shuffle(keys)
    held, n = [], 0
    for key in keys:
        if n >= threshold:
            break
        held.append(key)
        n += counts[key]
    return held


def _files(cfg: BuildConfig, report: TaskReport) -> list[tuple[str | None, Path, str]]:
    """``(split or None, path, label)`` of every MAVE file, in reading order."""
    root = Path(cfg.sources) / "mave"
    per_split = find_split_files(root)
    if per_split:
        out = []
        for split in IND_SPLITS:
            if split not in per_split:
                report.note(f"no MAVE {split} split folder: {split} is empty")
                continue
            out += [(split, p, p.relative_to(root).as_posix()) for p in per_split[split]]
        return out
    paths = [find_source(cfg.sources, "mave", [name], task=TASK) for name in FILES]
    report.differs("MAVE files without the PRODUCT split folders (<split>/00_All/): rows are split 8:1:1 by a seeded "
                   "hash of the product id, each split reading positives then negatives in file order; the release "
                   "read train/, val/ and test/00_All/")
    return [(None, p, p.name) for p in paths]


def build(cfg: BuildConfig, report: TaskReport) -> dict[str, list[Example]]:
    files = _files(cfg, report)
    # first pass: (file, ordinal, key) of every valid row, per split in the release's row order
    rows: dict[str, list[tuple[int, int, str]]] = {s: [] for s in IND_SPLITS}
    for i, (split, path, label) in enumerate(files):
        for j, row in enumerate(iter_products(path, report, label=label)):
            s = split or assign_split(cfg.seed, TASK, row["id"])
            rows[s].append((i, j, row["attributes"][0]["key"]))
    counts = Counter(k for _, _, k in rows["test"])
    configured = cfg.categories.get(TASK, {}).get("ood")
    threshold = cfg.option(TASK, "ood_test_rows", cfg.target("test_ood") or OOD_TEST_ROWS)
    if configured is not None:
        held = list(dict.fromkeys(configured))
        report.differs(f"held-out attributes configured ({', '.join(held)}) instead of the release's drawn holdout")
    else:
        held = holdout([k for _, _, k in rows["test"]], counts, threshold, cfg.seed)
        if threshold != OOD_TEST_ROWS:
            report.differs(f"holdout stops at {threshold} held-out test rows (the release: {OOD_TEST_ROWS}), "
                           "scaled to the OOD test size")
    if counts and not set(counts) - set(held):
        report.note("every test attribute is held out, so the IND test split is empty: the test split is too small "
                    "for the holdout threshold (option ood_test_rows)")
    report.differs("output triples: the release listed a Python set (hash-seeded order); we list them in order of "
                   "first appearance (attributes, then evidences)")
    held_set = set(held)
    chosen: dict[str, list[tuple[int, int, str]]] = {}
    for split in IND_SPLITS:
        ind = [r for r in rows[split] if r[2] not in held_set]
        if split != "test":
            report.skip(HELD_OUT_UNUSED, len(rows[split]) - len(ind))
        chosen[split] = _first(pandas_sample(ind, seed=cfg.seed, frac=1), cfg.target(split), report)
    if held:
        ood = [r for key in held for r in rows["test"] if r[2] == key]
        chosen["test_ood"] = _first(pandas_sample(ood, seed=cfg.seed, frac=1), cfg.target("test_ood"), report)
    report.extra["ood_attributes"] = held
    splits = _render(files, chosen)
    report.tally_splits(splits, key=lambda ex: ex.category, by="category")
    return splits


def _first(items: list, size: int | None, report: TaskReport) -> list:
    if size is None or len(items) <= size:
        return items
    report.skip(NOT_SAMPLED, len(items) - size)
    return items[:size]


def _render(files, chosen: dict[str, list[tuple[int, int, str]]]) -> dict[str, list[Example]]:
    where: dict[tuple[int, int], list[tuple[str, int]]] = {}
    for split, picked in chosen.items():
        for k, (i, j, _) in enumerate(picked):
            where.setdefault((i, j), []).append((split, k))
    out: dict[str, list] = {split: [None] * len(picked) for split, picked in chosen.items()}
    needed = {i for i, _ in where}
    for i, (_, path, label) in enumerate(files):
        if i not in needed:
            continue
        for j, row in enumerate(iter_products(path, None, label=label)):
            for split, k in where.get((i, j), ()):
                triples = gold_triples(row)
                category = row.get("category")
                out[split][k] = Example(
                    input=render_input(row),
                    output=json_text(triples),
                    category=category if isinstance(category, str) else "",
                    source_ids=[row["id"]],
                    attributes=triples,
                )
    if any(ex is None for exs in out.values() for ex in exs):
        raise RuntimeError("mave: rows not found again on the second pass (the files changed during the build)")
    return out
