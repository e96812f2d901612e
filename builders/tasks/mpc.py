"""MPC, multi-class product classification (paper, Appendix A.3.1).

Each Shopping Queries (ESCI) example of the US locale becomes one sample:
the query and the product title (HTML-free, ASCII, English), the four ESCI
options of the task registry, and the letter of the gold label (E -> A,
S -> B, C -> C, I -> D).  Input, as in the case study J.6::

    Query: dj lights in the car
    Product title: Sanhezhong Interior Car Lights, ...

Splits: ESCI's own train/test; validation is a fixed share of the training
queries (see :mod:`builders.tasks._esci`).  The label distribution is kept as
in the data (the paper reports about 35:10:1:5).
"""

from __future__ import annotations

from builders.core import BuildConfig, Example, TaskReport
from builders.readers.esci import LABELS
from builders.tasks import _esci
from ecinstruct_eval.tasks import TASKS

CODE = "MPC"
#: ESCI label -> option letter, in the registry's option order.
LETTER_OF = dict(zip(LABELS, TASKS[CODE].option_letters))


def render(query: str, title: str) -> str:
    return f"Query: {query}\nProduct title: {title}"


def build(cfg: BuildConfig, report: TaskReport) -> dict[str, list[Example]]:
    options = TASKS[CODE].lettered_options()

    def example_of(query, title, row):
        return Example(input=render(query, title), output=LETTER_OF[row.label], options=list(options),
                       source_ids=[str(row.example_id), row.product_id])

    return _esci.build_one_per_row(cfg, report, CODE, example_of)
