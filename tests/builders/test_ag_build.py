"""AG from the bundled AmazonQA sample (Appendix A.4.2): answerable descriptive, most helpful answer."""

import json
from pathlib import Path

import pytest

from builders.core import BuildConfig, TaskReport
from builders.readers.amazonqa import Answer
from builders.tasks import _amazonqa, ag

SOURCES = Path(__file__).resolve().parents[2] / "samples" / "sources"


@pytest.fixture(scope="module")
def built():
    report = TaskReport("AG")
    return ag.build(BuildConfig(sources=SOURCES, out=Path("unused")), report), report


@pytest.fixture(scope="module")
def raw():
    out = {}
    for path in sorted((SOURCES / "amazonqa").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            d = json.loads(line)
            out[str(d["qid"])] = d
    return out


def test_categories_and_ood_absent_from_ind(built):
    splits, _ = built
    assert set(splits) == {"train", "validation", "test", "test_ood"}
    for s in ("train", "validation", "test"):
        assert splits[s] and {e.category for e in splits[s]} <= {"Electronics", "Home_and_Kitchen"}
    assert splits["test_ood"] and {e.category for e in splits["test_ood"]} == {"Cell_Phones_and_Accessories"}


def test_only_answerable_descriptive_with_the_most_helpful_answer(built, raw):
    splits, report = built
    for exs in splits.values():
        for ex in exs:
            d = raw[ex.source_ids[0]]
            assert d["is_answerable"] and d["questionType"] == "descriptive"
            votes = max(a["helpful"][0] for a in d["answers"])
            assert votes > 0
            best = next(a for a in d["answers"] if a["helpful"][0] == votes)
            assert ex.output == _amazonqa.clean(best["answerText"])
    assert report.dropped["ag: no answer with helpful votes"] > 0
    assert report.dropped["ag: not an answerable descriptive question"] > 0
    inputs = [e.input for exs in splits.values() for e in exs]
    assert len(inputs) == len(set(inputs))


def test_best_answer_skips_zero_votes_and_keeps_first_on_ties():
    assert ag.best_answer((Answer("a", 0), Answer("b", 2), Answer("c", 2))) == "b"
    assert ag.best_answer((Answer("a", 0),)) is None
    assert ag.best_answer(()) is None
    assert ag.best_answer((Answer("<b>x</b> &amp; y", 1),)) == "x & y"
