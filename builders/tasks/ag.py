"""AG, answer generation, built as the official release built it (RELEASED_FORMAT.md §9).

The release's procedure, per split:

1. Concatenate the split file's rows of each IND category in configured
   order (paper: Electronics, then Home_and_Kitchen), each in file order; the
   OOD set (Cell_Phones_and_Accessories) comes from the test file only.
2. Keep the rows with ``questionType == "descriptive"`` that are answerable.
3. Shuffle them with pandas ``sample(frac=1, random_state=1)``.
4. Walk the shuffled rows and stop at ``size``; a row whose answers have no
   helpful vote is skipped (:func:`best_answer`).

``input`` is the same JSON text as AP's; ``output`` is the chosen
``answerText``, raw; no options.  How our file layouts map to splits is in
:mod:`ecinstruct_builders.tasks._amazonqa`.
"""

from __future__ import annotations

from ecinstruct_builders.core import NOT_SAMPLED, BuildConfig, Example, TaskReport
from ecinstruct_builders.readers.amazonqa import Answer, QARecord
from ecinstruct_builders.release import pandas_sample
from ecinstruct_builders.tasks import _amazonqa

CODE = "AG"
DEFAULT_CATEGORIES = {
    "ind": ["Electronics", "Home_and_Kitchen"],
    "ood": ["Cell_Phones_and_Accessories"],
}
NOT_DESCRIPTIVE = "ag: not an answerable descriptive question"
NO_VOTES = "ag: no answer with helpful votes"


def best_answer(answers: tuple[Answer, ...]) -> int | None:
    """Index of the release's answer, or ``None`` when the row is skipped.

    The best starts as ``answers[0]`` with score 0; in list order an answer
    without votes (``helpful[1] == 0``) is passed over, and one whose helpful
    votes exceed the best score becomes the best.  A best score still 0 skips
    the row (so does an empty list, on which the release would have failed).

    >>> best_answer((Answer("a", 0, 0), Answer("b", 2, 3), Answer("c", 2, 2), Answer("d", 5, 0)))
    1
    >>> best_answer((Answer("a", 0, 4),)) is None
    True
    """
    best, score = None, 0
    for i, a in enumerate(answers):
        if a.total_votes == 0:
            continue
        if a.helpful_votes > score:
            best, score = i, a.helpful_votes
    return best


def _verdict(report: TaskReport):
    def verdict(rec: QARecord):
        if not rec.is_answerable or rec.question_type != "descriptive":
            report.drop(NOT_DESCRIPTIVE)
            return False, None
        return True, best_answer(rec.answers)

    return verdict


def build(cfg: BuildConfig, report: TaskReport) -> dict[str, list[Example]]:
    files, rows = _amazonqa.collect(cfg, report, CODE, DEFAULT_CATEGORIES, _verdict(report))
    chosen = {}
    for split, candidates in rows.items():
        size = cfg.target(split)
        walked = pandas_sample(candidates, seed=cfg.seed, frac=1)
        taken = []
        for k, row in enumerate(walked):
            if size is not None and len(taken) >= size:
                report.skip(NOT_SAMPLED, len(walked) - k)
                break
            if row.info is None:
                report.drop(NO_VOTES)
                continue
            taken.append(row)
        chosen[split] = taken
        if size is not None and len(taken) < size:
            report.note(f"{split}: {len(taken)} examples available, fewer than {size}")
    splits = _amazonqa.materialise(
        files, chosen, lambda rec, info: _amazonqa.example(rec, rec.answers[info].text))
    report.tally_splits(splits, key=lambda ex: ex.category, by="category")
    return splits
