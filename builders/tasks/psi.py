"""PSI, product substitute identification: the release's procedure (RELEASED_FORMAT.md §7).

The rows are prepared as for MPC (:mod:`ecinstruct_builders.tasks._esci`); each split
is pandas ``sample(n=size, random_state=1)`` of its rows, i.e. the first
``size`` of NP-PERM(1, len) (MPC uses seed 2, so the two tasks draw
different rows); a split smaller than its target gives every row, in
NP-PERM(1, len) order.

A record::

    input:  {"query": "aftermarket turn signals", "product": "Red Lens OZ-USA Aftermarket Blinker Lens ..."}
    output: no

``input`` is ``json.dumps`` of the query and the title, both folded to ASCII
(NFKD, non-ASCII dropped); ``output`` is ``yes`` when the ESCI label is
``S`` (substitute) and ``no`` for ``E``, ``C`` and ``I``.  No options.

Instructions: the release drew PSI's from the seed-1 stream after QPR's and
MPC's, see :func:`instruction_stream_start`.
"""

from __future__ import annotations

from ecinstruct_builders.core import BuildConfig, Example, TaskReport
from ecinstruct_builders.release import json_text
from ecinstruct_builders.tasks import _esci

CODE = "PSI"


def label_of(esci_label: str) -> str:
    """``"S"`` -> ``"yes"``; ``"E"``, ``"C"``, ``"I"`` -> ``"no"``.

    >>> label_of("S"), label_of("E")
    ('yes', 'no')
    """
    return "yes" if esci_label == "S" else "no"


def render(query: str, title: str) -> str:
    """The release's ``input``: ``json.dumps`` of the (folded) query and product title.

    >>> render("farmhouse frame set", "Tasse Verre 5x7")
    '{"query": "farmhouse frame set", "product": "Tasse Verre 5x7"}'
    """
    return json_text({"query": query, "product": title})


def instruction_stream_start(cfg: BuildConfig) -> int:
    """Draws the release made on the shared seed-1 stream before PSI's unseen instruction.

    QPR's unseen draw and records, then MPC's (``1 + n_QPR + 1 + n_MPC``:
    24,002 at the paper's sizes, which puts PSI's unseen draw at ``s[24002]``
    = G0, as the release printed), with both counts taken under the same
    ``cfg`` (see :func:`ecinstruct_builders.tasks.mpc.instruction_stream_start`).
    """
    return 1 + _esci.qpr_record_count(cfg) + 1 + _esci.mpc_record_count(cfg)


def build(cfg: BuildConfig, report: TaskReport) -> dict[str, list[Example]]:
    def example_of(query: str, title: str, row: _esci.Row) -> Example:
        return Example(input=render(query, title), output=label_of(row.label),
                       source_ids=[str(row.example_id), row.product_id])

    return _esci.build_one_per_row(cfg, report, cfg.seed, example_of)
