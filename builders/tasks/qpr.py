"""QPR, query-product ranking: the release's procedure (RELEASED_FORMAT.md §7).

The rows are prepared as for MPC and PSI (:mod:`ecinstruct_builders.tasks._esci`) and
restricted to ``small_version == 1``.  Lists are drawn per split, train then
validation then test, on one Python ``random`` stream seeded with 1
(:func:`ecinstruct_builders.tasks._esci.draw_lists`): a query uniformly among the
split's distinct queries, a length ``randint(2, 4)`` (redrawn from the query
on if the query has fewer distinct labels), then labels drawn without
replacement from ``[E, S, C, I]``, each present label adding the row at
NP-PERM(1, m)[0] of the query's ``m`` rows with that label; a list with the
same set of rows as an earlier one is rejected.

A record::

    input:  {"query": "06 bmw 325i radio oem not navigation system",
             "product list": ["A: AWESAFE Car Radio Stereo ...", "B: BOSS Audio Systems ...", "C: Podofo ..."]}
    output: A,C,B

``input`` is ``json.dumps`` of the folded query and the products lettered
A, B, ... in draw order (titles folded to ASCII); ``output`` is the letters
of the E product, then S, C and I (those present) joined by ``,`` without
spaces.  No options.  ``relevance`` holds the ESCI grade of each product in
letter order (the release's per-list option labels, e.g. ``["E", "I", "S"]``),
which NDCG needs.
"""

from __future__ import annotations

from dataclasses import dataclass

from ecinstruct_builders.core import NOT_SAMPLED, BuildConfig, Example, TaskReport
from ecinstruct_builders.readers.esci import LABELS
from ecinstruct_builders.release import json_text
from ecinstruct_builders.tasks import _esci

from ecinstruct_eval.tasks import LETTERS

CODE = "QPR"
_RANK = {label: i for i, label in enumerate(LABELS)}


@dataclass
class RankingList(Example):
    """A QPR example; ``new_rows`` counts the ESCI rows no earlier list of the build showed.

    The same row (one per query and label) can appear in several lists, so
    the report counts each row once, with the first list that shows it.
    """

    new_rows: int = 0


def ranked_letters(relevance: list[str]) -> str:
    """Letters of the options sorted by ESCI grade (E, S, C, I), joined by ``,``.

    >>> ranked_letters(["E", "I", "S"])
    'A,C,B'
    """
    order = sorted(range(len(relevance)), key=lambda i: (_RANK[relevance[i]], i))
    return ",".join(LETTERS[i] for i in order)


def rows_of(ex: Example) -> int:
    """ESCI rows an example stands for in the report: the products it is the first list to show."""
    return getattr(ex, "new_rows", len(ex.source_ids))


def render(query: str, titles: list[str]) -> str:
    """The release's ``input``: ``json.dumps`` of the query and the lettered product titles.

    >>> render("dvd", ["Raymond", "Perry Mason"])
    '{"query": "dvd", "product list": ["A: Raymond", "B: Perry Mason"]}'
    """
    return json_text({"query": query, "product list": [f"{LETTERS[i]}: {t}" for i, t in enumerate(titles)]})


def instruction_stream_start(cfg: BuildConfig) -> int:
    """QPR draws first on the release's shared seed-1 stream: its unseen instruction is ``s[0]``."""
    return 0


def build(cfg: BuildConfig, report: TaskReport) -> dict[str, list[Example]]:
    prep = _esci.prepare(cfg)
    prep.replay(report)
    report.differs(_esci.LANGUAGE_DIFFERS[prep.language_filter])
    report.differs("QPR lists are drawn on a fresh seed-1 stream; the release cached its lists on disk and "
                   "reused them if present, so whether its stream started fresh is unknown")
    small = prep.table.column("small_version").to_numpy() == 1
    n_small = sum(int(small[prep.splits[split]].sum()) for split in _esci.SPLITS)
    report.skip("not in small_version", sum(len(v) for v in prep.splits.values()) - n_small)
    lists = _esci.draw_lists(cfg)
    positions = sorted({p for split in _esci.SPLITS for lst in lists[split] for p in lst})
    row_at = dict(zip(positions, prep.rows(positions)))
    titles = _esci.titles_of(cfg, report, row_at.values())
    shown: set[int] = set()
    splits: dict[str, list[Example]] = {}
    for split in _esci.SPLITS:
        out = []
        for lst in lists[split]:
            rows = [row_at[p] for p in lst]
            relevance = [r.label for r in rows]
            new = [p for p in lst if p not in shown]
            shown.update(new)
            out.append(RankingList(
                input=render(_esci.fold(rows[0].query), [_esci.fold(titles[r.product_id]) for r in rows]),
                output=ranked_letters(relevance),
                source_ids=[str(r.example_id) for r in rows],
                relevance=relevance,
                new_rows=len(new),
            ))
        splits[split] = out
        target = cfg.target(split)
        if target is not None and len(out) < target:
            report.note(f"{split}: {len(out)} distinct lists can be drawn, fewer than the target {target}")
            report.differs(f"{split}: list drawing stops once every distinct list is drawn ({len(out)}); the "
                           "release's loop would not end short of its target")
    report.skip(NOT_SAMPLED, n_small - len(shown))
    report.tally_splits(splits, key=lambda ex: f"{len(ex.relevance)} products", by="list_size")
    return splits
