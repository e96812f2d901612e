"""QPR, query-product ranking (paper, Appendix A.3.3).

One sample per query: 2-4 of its products with *distinct* ESCI labels (one
product drawn at random per label present), shown in random order as
``Product A`` ... (case study J.8)::

    Query: everyone loves raymond dvd complete series
    Product A: Everybody Loves Raymond: The Complete Series Seasons 1-9
    Product B: Perry Mason: The Ninth and Final Season, Vol. 2

The gold ``output`` is the letters ranked by relevance (E > S > C > I), e.g.
``"A, C, B"``; ``relevance`` holds the ESCI grade of every product in letter
order (``["E", "I", "S"]``), which NDCG needs.  ``options`` is empty: the
products are part of the input, as in the paper's prompts.  Queries with
fewer than two distinct labels (after dropping products without an English
title) give no sample.
"""

from __future__ import annotations

from builders.core import BuildConfig, Example, TaskReport
from builders.readers.esci import LABELS
from builders.tasks import _esci
from ecinstruct_eval.tasks import LETTERS

CODE = "QPR"
MIN_PRODUCTS, MAX_PRODUCTS = 2, 4
_RANK = {label: i for i, label in enumerate(LABELS)}


def ranked_letters(relevance: list[str]) -> str:
    """Letters of the options sorted by ESCI grade, most relevant first.

    >>> ranked_letters(["E", "I", "S"])
    'A, C, B'
    """
    order = sorted(range(len(relevance)), key=lambda i: (_RANK[relevance[i]], i))
    return ", ".join(LETTERS[i] for i in order)


def rows_of(ex: Example) -> int:
    """ESCI rows an example stands for: one per product shown."""
    return len(ex.source_ids)


def render(query: str, titles: list[str]) -> str:
    lines = [f"Query: {query}"]
    lines += [f"Product {LETTERS[i]}: {t}" for i, t in enumerate(titles)]
    return "\n".join(lines)


def build(cfg: BuildConfig, report: TaskReport) -> dict[str, list[Example]]:
    rows = _esci.load_rows(cfg, report, CODE)

    def make(unit, titles, rng):
        # The report counts rows (products): a dropped query drops all its titled rows.
        by_label: dict[str, list[tuple]] = {}
        for row in unit:
            title = _esci.title_of(row, titles, report)
            if title is not None:
                by_label.setdefault(row.label, []).append((row, title))
        n_titled = sum(map(len, by_label.values()))
        if len(by_label) < MIN_PRODUCTS:
            report.drop("qpr: fewer than 2 distinct labels", n_titled)
            return None
        query = _esci.query_of(unit[0], TaskReport(CODE))
        if query is None:
            report.drop("not English", n_titled)
            return None
        picked = [rng.choice(by_label[label]) for label in LABELS if label in by_label]
        rng.shuffle(picked)
        picked = picked[:MAX_PRODUCTS]
        report.skip("not picked for the query's list", n_titled - len(picked))
        relevance = [row.label for row, _ in picked]
        return Example(
            input=render(query, [t for _, t in picked]),
            output=ranked_letters(relevance),
            source_ids=[str(row.example_id) for row, _ in picked],
            relevance=relevance,
        )

    units = {s: _esci.group_by_query(rs) for s, rs in rows.items()}
    splits = _esci.sample(cfg, report, CODE, units, make, rows_of)
    report.tally_splits(splits, key=lambda ex: f"{len(ex.relevance)} products", by="list_size")
    return splits
