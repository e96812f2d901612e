"""AP, answerability prediction, built as the official release built it (RELEASED_FORMAT.md §8).

The release's procedure, per split:

1. Read the split's AmazonQA file (``train-`` / ``val-`` / ``test-qar.jsonl``)
   and concatenate the rows of each IND category in configured order (paper:
   Sports_and_Outdoors, then Tools_and_Home_Improvement), each in file order.
   The OOD set (Cell_Phones_and_Accessories) comes from the test file only.
2. pandas ``sample(n=size, random_state=1)`` (:func:`ecinstruct_builders.release.pandas_sample`).
   When the split has fewer rows than ``size`` the sampling fails and the
   release keeps the **unsampled** concatenated order, which is what its
   reference run did; sizes ``"all"`` keep that order too.
3. ``input`` is the JSON text of ``{"question": questionText, "document":
   review_snippets}`` (texts raw); ``output`` is ``yes`` when
   ``is_answerable`` is true, else ``no``; no options.

How our file layouts map to splits (files without a split prefix, several
files per split, no test file) is in :mod:`ecinstruct_builders.tasks._amazonqa`.

Examples
--------
>>> select(list("abc"), 5)
['a', 'b', 'c']
>>> select(list("abcde"), 2, seed=1)
['c', 'b']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from ecinstruct_builders.core import NOT_SAMPLED, BuildConfig, Example, TaskReport
from ecinstruct_builders.release import SEED, pandas_sample
from ecinstruct_builders.tasks import _amazonqa

T = TypeVar("T")
CODE = "AP"
DEFAULT_CATEGORIES = {
    "ind": ["Sports_and_Outdoors", "Tools_and_Home_Improvement"],
    "ood": ["Cell_Phones_and_Accessories"],
}


def select(rows: Sequence[T], size: int | None, *, seed: int = SEED) -> list[T]:
    """The release's rows of one split: ``sample(n=size)``, or every row in order when fewer than ``size``."""
    if size is None or len(rows) < size:
        return list(rows)
    return pandas_sample(rows, seed=seed, n=size)


def build(cfg: BuildConfig, report: TaskReport) -> dict[str, list[Example]]:
    files, rows = _amazonqa.collect(cfg, report, CODE, DEFAULT_CATEGORIES)
    chosen = {}
    for split, candidates in rows.items():
        size = cfg.target(split)
        chosen[split] = select(candidates, size, seed=cfg.seed)
        report.skip(NOT_SAMPLED, len(candidates) - len(chosen[split]))
        if size is not None and len(candidates) < size:
            report.note(f"{split}: {len(candidates)} rows, fewer than {size}: kept unsampled, in category order "
                        "(the release's fallback)")
    splits = _amazonqa.materialise(
        files, chosen, lambda rec, _info: _amazonqa.example(rec, "yes" if rec.is_answerable else "no"))
    report.tally_splits(splits)
    return splits
