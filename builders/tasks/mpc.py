"""MPC, multi-class product classification: the release's procedure (RELEASED_FORMAT.md §7).

The Shopping Queries (ESCI) rows are prepared as the release prepared them
for MPC, PSI and QPR (:mod:`ecinstruct_builders.tasks._esci`: US rows in file order,
missing values ``""``, titles' whitespace and ``<p>``/``<br>`` tags replaced
by spaces, optional English filter, ESCI train -> train, ESCI test halved
into test and validation).  Each split is then pandas ``sample(n=size,
random_state=2)`` of its rows, i.e. the first ``size`` of NP-PERM(2, len);
where a split has fewer rows than its target every row is used, in
NP-PERM(2, len) order (the release's pandas would raise; the reference files
were made that way).

A record::

    input:   {"query": "16 x 16 frames", "product title": "Finefrarm 12x16 White Picture Frame ..."}
    options: ["A: The product is relevant to the query, and satisfies all the query specifications.", ...]
    output:  B: The product is somewhat relevant. It fails to fulfill some aspects of the query but ...

``input`` is ``json.dumps`` of the query and the title, both folded to ASCII
(NFKD, non-ASCII dropped); ``options`` are the four sentences of
:data:`OPTIONS` (stored by the release as their ``json.dumps``); ``output``
is the full option text of the row's label: E -> A, S -> B, C -> C, I -> D.

Instructions: the release drew MPC's from the seed-1 stream after QPR's
(unseen instruction, then one draw per QPR record), see
:func:`instruction_stream_start`.
"""

from __future__ import annotations

from ecinstruct_builders.core import BuildConfig, Example, TaskReport
from ecinstruct_builders.readers.esci import LABELS
from ecinstruct_builders.release import json_text
from ecinstruct_builders.tasks import _esci

from ecinstruct_eval.tasks import get_task

CODE = "MPC"
#: The release's option texts, in option order (letters A-D): the task registry's.
OPTIONS = tuple(get_task(CODE).lettered_options())
#: ESCI label -> the option that is the record's output.
OUTPUT_OF = dict(zip(LABELS, OPTIONS))


def render(query: str, title: str) -> str:
    """The release's ``input``: ``json.dumps`` of the (folded) query and product title.

    >>> render("16 x 16 frames", "Frame 12x16")
    '{"query": "16 x 16 frames", "product title": "Frame 12x16"}'
    """
    return json_text({"query": query, "product title": title})


def instruction_stream_start(cfg: BuildConfig) -> int:
    """Draws the release made on the shared seed-1 stream before MPC's unseen instruction.

    QPR's unseen draw and one draw per QPR record (train, validation and test
    under the same ``cfg``: 1 + 12,000 at the paper's sizes, which puts MPC's
    unseen draw at ``s[12001]`` = G4, as the release printed).  QPR's record
    count comes from its list drawing (:func:`ecinstruct_builders.tasks._esci.draw_lists`,
    computed once per process); records that ``cfg.fix_defects`` later removes
    still count, as they were drawn in the release.
    """
    return 1 + _esci.qpr_record_count(cfg)


def build(cfg: BuildConfig, report: TaskReport) -> dict[str, list[Example]]:
    def example_of(query: str, title: str, row: _esci.Row) -> Example:
        return Example(input=render(query, title), output=OUTPUT_OF[row.label], options=list(OPTIONS),
                       source_ids=[str(row.example_id), row.product_id])

    return _esci.build_one_per_row(cfg, report, cfg.seed + 1, example_of)
