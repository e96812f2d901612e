"""PSI, product substitute identification (paper, Appendix A.3.2).

Like MPC, but binary: ESCI ``S`` (substitute) is ``yes``; ``E``, ``C`` and
``I`` are relabelled non-substitute, ``no``.  Input, as in the case study J.7::

    Query: iphone 7 plus case otterbox
    Product: OtterBox SYMMETRY CLEAR SERIES Case for iPhone 8 Plus ...

The label distribution is kept as in the data.  (The paper reports the
substitute : non-substitute ratio as about 4:1, but substitutes are about a
fifth of ESCI, so the ratio it means is most likely non-substitute :
substitute; the report records the built ratio.)
"""

from __future__ import annotations

from builders.core import BuildConfig, Example, TaskReport
from builders.tasks import _esci

CODE = "PSI"


def label_of(esci_label: str) -> str:
    """``"S"`` -> ``"yes"``; ``"E"``, ``"C"``, ``"I"`` -> ``"no"``."""
    return "yes" if esci_label == "S" else "no"


def render(query: str, title: str) -> str:
    return f"Query: {query}\nProduct: {title}"


def build(cfg: BuildConfig, report: TaskReport) -> dict[str, list[Example]]:
    rows = _esci.load_rows(cfg, report, CODE)

    def make(unit, titles, rng):
        (row,) = unit
        query = _esci.query_of(row, report)
        title = None if query is None else _esci.title_of(row, titles, report)  # one drop per row
        if title is None:
            return None
        return Example(input=render(query, title), output=label_of(row.label),
                       source_ids=[str(row.example_id), row.product_id])

    units = {s: [[r] for r in rs] for s, rs in rows.items()}
    splits = _esci.sample(cfg, report, CODE, units, make)
    report.tally_splits(splits)
    return splits
