"""AG, answer generation (paper, Appendix A.4.2).

Answerable, descriptive (open-ended) AmazonQA questions of the IND categories
(Electronics, Home and Kitchen) and the OOD category (Cell Phones and
Accessories).  The gold answer is the one with the most helpful votes (the
first on ties); answers without any helpful vote are not used, and a question
none of whose answers has a vote is skipped.  Input as for AP (case study
J.10); categories are configurable via ``cfg.categories["AG"]``.
"""

from __future__ import annotations

from builders.core import BuildConfig, Example, TaskReport
from builders.readers.amazonqa import Answer, QARecord
from builders.tasks import _amazonqa

CODE = "AG"
#: The pipeline keeps the IND categories 1:1 when it trims a split to its target size.
BALANCE_CATEGORIES = True
DEFAULT_CATEGORIES = {
    "ind": ["Electronics", "Home_and_Kitchen"],
    "ood": ["Cell_Phones_and_Accessories"],
}


def best_answer(answers: tuple[Answer, ...]) -> str | None:
    """Cleaned text of the answer with the most helpful votes (> 0; first on ties), or ``None``.

    >>> best_answer((Answer("a", 0), Answer("b", 2), Answer("c", 2)))
    'b'
    """
    best = None
    for a in answers:
        text = _amazonqa.clean(a.text)
        if a.helpful_votes > 0 and text and (best is None or a.helpful_votes > best[0]):
            best = (a.helpful_votes, text)
    return None if best is None else best[1]


def build(cfg: BuildConfig, report: TaskReport) -> dict[str, list[Example]]:
    def make(rec: QARecord):
        if not rec.is_answerable or rec.question_type != "descriptive":
            report.drop("ag: not an answerable descriptive question")
            return None
        answer = best_answer(rec.answers)
        if answer is None:
            report.drop("ag: no answer with helpful votes")
            return None
        text = _amazonqa.render_record(rec, report)
        if text is None:
            return None
        return Example(input=text, output=answer, source_ids=[rec.qid, rec.asin])

    splits = _amazonqa.build(cfg, report, CODE, DEFAULT_CATEGORIES, make)
    report.tally_splits(splits, key=lambda ex: ex.category, by="category")
    return splits
