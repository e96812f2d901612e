"""PM, product matching, as the official release builds it (RELEASED_FORMAT.md §4).

1. Read the three Leipzig files (decoded as the release did, UTF-8 with
   U+FFFD replacement, :mod:`ecinstruct_builders.readers.leipzig`); an empty field, or a
   pandas default missing-value token, is missing.  A column whose values are
   all numbers is rendered as pandas typed it: Amazon's ``price`` becomes a
   float (``"0.0"``, ``"19.99"``), Google's stays text (``"69.71 gbp"``).
2. Join the mapping to both catalogues (inner joins) in pandas 1.5/2.1's row
   order: the mapping rows stably grouped by ``idAmazon``, then by
   ``idGoogleBase``, groups in order of first appearance.  pandas 3 keeps
   file order instead; the order is written out here so that no pandas
   version decides it.
3. Render each product as ``{"title", "description", "manufacturer",
   "price"}``: descriptions cut by the 50-word rule, a missing description
   the float NaN (the bare ``NaN`` token), a missing manufacturer or price
   the string ``"nan"``.  ``input`` is ``json.dumps`` of
   ``{"product 1": amazon, "product 2": google}``.
4. Positives (``yes``): matched pairs in that order, a pair seen before in
   either orientation skipped.  Negatives (``no``), as many: Amazon row
   ``pa[k]`` with Google row ``pg[pa[k]]`` for ``pa = NP-PERM(1, #amazon)``
   and ``pg = NP-PERM(1, #google)`` (the release indexed the shuffled Google
   table by the Amazon row's label), unseen pairs only.
5. Positives then negatives, split by SPLIT-811.  Every pair is kept.

The release's seed 1 is ``cfg.seed`` (1 by default).

From the real Leipzig files this gives 1,264 + 1,264 pairs, 2,022 / 253 /
253 records identical to the release's, in its order.

Examples
--------
>>> render_product(leipzig.Product("x", "omniweb 5.0", None, None, "29.99"))
{'title': 'omniweb 5.0', 'description': nan, 'manufacturer': 'nan', 'price': '29.99'}
>>> column_texts(["0", "19.99", None])
['0.0', '19.99', None]
>>> column_texts(["9.9", "69.71 gbp"])
['9.9', '69.71 gbp']
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ecinstruct_builders.core import BuildConfig, Example, TaskReport
from ecinstruct_builders.readers import leipzig
from ecinstruct_builders.release import cut_words, json_text, np_perm, split_811

CODE = "PM"
SOURCE = "amazon_google"
DESCRIPTION_WORDS = 50
#: pandas' default missing-value tokens of ``read_csv`` (an empty field among them).
NA_TOKENS = frozenset([
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
])
_INT = re.compile(r"[+-]?\d+\Z")
_FLOAT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\Z")


def rows_of(ex: Example) -> int:
    """Mapping rows an example stands for: a matched pair is one, an unmatched pair (drawn) none."""
    return int(ex.output == "yes")


def column_texts(values: Sequence[str | None]) -> list[str | None]:
    """A column's values as the release's pandas typed and ``str``-ed them (missing stays ``None``).

    All numbers: an integer column without missing values stays integer,
    otherwise float (``str(float)``); any other value keeps the column text.
    """
    present = [v for v in values if v is not None]
    if present and all(_INT.match(v) for v in present) and len(present) == len(values):
        return [str(int(v)) for v in values]
    if present and all(_FLOAT.match(v) for v in present):
        return [None if v is None else str(float(v)) for v in values]
    return list(values)


def typed_catalogue(rows: Sequence[leipzig.Product]) -> list[leipzig.Product]:
    """Catalogue rows with missing-value tokens as ``None`` and every column typed as pandas would."""
    fields = ("title", "description", "manufacturer", "price")
    columns = {f: column_texts([None if getattr(p, f) in NA_TOKENS else getattr(p, f) for p in rows])
               for f in fields}
    return [leipzig.Product(p.id, *(columns[f][i] for f in fields)) for i, p in enumerate(rows)]


def render_product(p: leipzig.Product) -> dict:
    """One product as the release's object (keys in its order)."""
    description = float("nan") if p.description is None else cut_words(p.description, DESCRIPTION_WORDS)
    return {
        "title": p.title if p.title is not None else "nan",
        "description": description,
        "manufacturer": p.manufacturer if p.manufacturer is not None else "nan",
        "price": p.price if p.price is not None else "nan",
    }


def grouped_order(mapping: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """Mapping rows stably grouped by Amazon id, then by Google id (groups in order of first appearance).

    This is the row order pandas 1.5 and 2.1 gave the release's two merges.

    >>> grouped_order([("a1", "g1"), ("a2", "g2"), ("a3", "g1")])
    [('a1', 'g1'), ('a3', 'g1'), ('a2', 'g2')]
    """
    rows = list(mapping)
    for key in (0, 1):
        groups: dict[str, list[tuple[str, str]]] = {}
        for row in rows:
            groups.setdefault(row[key], []).append(row)
        rows = [row for group in groups.values() for row in group]
    return rows


def build(cfg: BuildConfig, report: TaskReport) -> dict[str, list[Example]]:
    folder = cfg.sources / SOURCE
    amazon = typed_catalogue(leipzig.read_catalogue(folder / leipzig.AMAZON_FILE, report, platform="amazon"))
    google = typed_catalogue(leipzig.read_catalogue(folder / leipzig.GOOGLE_FILE, report, platform="google"))
    mapping = leipzig.read_mapping(leipzig.mapping_path(folder), report)

    a_rows: dict[str, list[int]] = {}
    for i, p in enumerate(amazon):
        a_rows.setdefault(p.id, []).append(i)
    g_rows: dict[str, list[int]] = {}
    for i, p in enumerate(google):
        g_rows.setdefault(p.id, []).append(i)
    rendered_a = [render_product(p) for p in amazon]
    rendered_g = [render_product(p) for p in google]
    seen: set[tuple[str, str]] = set()

    def pair(i: int, j: int, output: str) -> Example | None:
        """The example of Amazon row i and Google row j, unless the pair was seen (either orientation)."""
        a, g = json_text(rendered_a[i]), json_text(rendered_g[j])
        if (a, g) in seen:
            return None
        seen.update(((a, g), (g, a)))
        return Example(input=json_text({"product 1": rendered_a[i], "product 2": rendered_g[j]}),
                       output=output, source_ids=[amazon[i].id, google[j].id])

    positives: list[Example] = []
    for a_id, g_id in grouped_order(mapping):
        joined = [(i, j) for i in a_rows.get(a_id, ()) for j in g_rows.get(g_id, ())]
        if not joined:
            report.drop("mapping id not in catalogue")
            continue
        for i, j in joined:
            ex = pair(i, j, "yes")
            if ex is None:
                report.drop("duplicate matched pair")
            else:
                positives.append(ex)

    negatives: list[Example] = []
    pa, pg = np_perm(cfg.seed, len(amazon)), np_perm(cfg.seed, len(google))
    for k in range(len(amazon)):
        if len(negatives) >= len(positives):
            break
        i = int(pa[k])
        if i >= len(google):  # the release's label lookup would fail here; such rows give no pair
            continue
        ex = pair(i, int(pg[i]), "no")
        if ex is not None:
            negatives.append(ex)
    if len(negatives) < len(positives):
        report.note(f"only {len(negatives)} unmatched pairs found for {len(positives)} matched pairs")

    train, val, test = split_811(positives + negatives, seed=cfg.seed)
    splits = {"train": train, "validation": val, "test": test}
    report.tally_splits(splits)
    report.note(f"{len(positives)} matched pairs after deduplication, {len(negatives)} unmatched")
    return splits

