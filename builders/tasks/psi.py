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
    def example_of(query, title, row):
        return Example(input=render(query, title), output=label_of(row.label),
                       source_ids=[str(row.example_id), row.product_id])

    return _esci.build_one_per_row(cfg, report, CODE, example_of)
