"""AG from the bundled AmazonQA sample (RELEASED_FORMAT.md §9): answerable descriptive rows, the release's answer."""

import json
from pathlib import Path

import pytest
from ecinstruct_builders.core import BuildConfig, TaskReport
from ecinstruct_builders.readers import amazonqa
from ecinstruct_builders.readers.amazonqa import Answer
from ecinstruct_builders.tasks import _amazonqa, ag

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


def test_only_answerable_descriptive_with_the_release_answer(built, raw):
    splits, report = built
    for exs in splits.values():
        for ex in exs:
            d = raw[ex.source_ids[0]]
            assert d["is_answerable"] and d["questionType"] == "descriptive"
            index = ag.best_answer(amazonqa.parse(d).answers)
            assert index is not None and ex.output == d["answers"][index]["answerText"]
            assert ex.input == _amazonqa.render_input(d["questionText"], d["review_snippets"])
    assert report.dropped[ag.NO_VOTES] > 0
    assert report.dropped[ag.NOT_DESCRIPTIVE] > 0
    used = sum(len(exs) for exs in splits.values())
    assert sum(report.rows_read.values()) == used + sum(report.dropped.values()) + sum(report.skipped.values())


def test_best_answer_is_the_first_with_the_most_votes():
    assert ag.best_answer((Answer("a", 0, 0), Answer("b", 2, 2), Answer("c", 2, 2))) == 1
    assert ag.best_answer((Answer("a", 0, 1),)) is None
    assert ag.best_answer(()) is None
