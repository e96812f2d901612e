"""AP, answerability prediction (paper, Appendix A.4.1).

AmazonQA questions of the IND categories (Sports and Outdoors, Tools and Home
Improvement) and the OOD category (Cell Phones and Accessories), with their
review snippets as documents; the gold is AmazonQA's ``is_answerable``
(``yes``/``no``).  Input, as in the case study J.9::

    Question: if i order 10 of these, are the keys the same for each lock? ...
    Documents:
    - Document 1: I purchased two of these locks ...
    - Document 2: ...

The label ratio is kept as in the data (the paper reports about 2:3).
Categories are configurable via ``cfg.categories["AP"]``; see
:mod:`builders.tasks._amazonqa` for splits and sampling.
"""

from __future__ import annotations

from builders.core import BuildConfig, Example, TaskReport
from builders.tasks import _amazonqa

CODE = "AP"
#: The pipeline keeps the IND categories 1:1 when it trims a split to its target size.
BALANCE_CATEGORIES = True
DEFAULT_CATEGORIES = {
    "ind": ["Sports_and_Outdoors", "Tools_and_Home_Improvement"],
    "ood": ["Cell_Phones_and_Accessories"],
}


def build(cfg: BuildConfig, report: TaskReport) -> dict[str, list[Example]]:
    def make(rec):
        text = _amazonqa.render_record(rec, report)
        if text is None:
            return None
        return Example(input=text, output="yes" if rec.is_answerable else "no",
                       source_ids=[rec.qid, rec.asin])

    splits = _amazonqa.build(cfg, report, CODE, DEFAULT_CATEGORIES, make)
    report.tally_splits(splits)
    return splits
