"""AP from the bundled AmazonQA sample (RELEASED_FORMAT.md §8): categories, labels, input, accounting.

The release's selection on real rows is pinned in test_release_amazonqa.py."""

import json
from pathlib import Path

import pytest
from ecinstruct_builders.core import BuildConfig, TaskReport
from ecinstruct_builders.tasks import ap

SOURCES = Path(__file__).resolve().parents[2] / "samples" / "sources"


def _answerable():
    out = {}
    for path in sorted((SOURCES / "amazonqa").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            d = json.loads(line)
            out[str(d["qid"])] = d["is_answerable"]
    return out


@pytest.fixture(scope="module")
def built():
    report = TaskReport("AP")
    return ap.build(BuildConfig(sources=SOURCES, out=Path("unused")), report), report


def test_paper_categories_and_ood_absent_from_ind(built):
    splits, report = built
    assert set(splits) == {"train", "validation", "test", "test_ood"}
    for s in ("train", "validation", "test"):
        assert splits[s] and {e.category for e in splits[s]} <= {"Sports_and_Outdoors", "Tools_and_Home_Improvement"}
    assert splits["test_ood"] and {e.category for e in splits["test_ood"]} == {"Cell_Phones_and_Accessories"}
    assert {e.category for e in splits["train"]} == {"Sports_and_Outdoors", "Tools_and_Home_Improvement"}


def test_labels_are_is_answerable_and_reported(built):
    splits, report = built
    gold = _answerable()
    for split, exs in splits.items():
        for ex in exs:
            assert ex.output == ("yes" if gold[ex.source_ids[0]] else "no")
        assert sum(report.labels[split].values()) == len(exs) == report.splits[split]


def test_input_is_the_release_json_text_of_the_raw_row(built):
    splits, _ = built
    raw = {}
    for path in sorted((SOURCES / "amazonqa").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            d = json.loads(line)
            raw[str(d["qid"])] = d
    for exs in splits.values():
        for ex in exs:
            d = raw[ex.source_ids[0]]
            assert ex.input == json.dumps({"question": d["questionText"], "document": d["review_snippets"]})
            assert ex.options == []


def test_every_row_is_accounted_for_and_layout_differences_are_reported(built):
    splits, report = built
    used = sum(len(exs) for exs in splits.values())
    assert sum(report.rows_read.values()) == used + sum(report.dropped.values()) + sum(report.skipped.values())
    assert any("qar.jsonl" in d and "8:1:1" in d for d in report.release_differences)


def test_categories_are_configurable():
    cats = {"AP": {"ind": ["Electronics", "Home_and_Kitchen"], "ood": ["Toys_and_Games"]}}
    splits = ap.build(BuildConfig(sources=SOURCES, out=Path("unused"), categories=cats), TaskReport("AP"))
    assert {e.category for e in splits["train"]} == {"Electronics", "Home_and_Kitchen"}
    assert {e.category for e in splits["test_ood"]} == {"Toys_and_Games"}
    no_ood = ap.build(BuildConfig(sources=SOURCES, out=Path("unused"), categories={"AP": {"ood": []}}), TaskReport("AP"))
    assert "test_ood" not in no_ood
    with pytest.raises(ValueError, match="both IND and OOD"):
        ap.build(BuildConfig(sources=SOURCES, out=Path("unused"),
                             categories={"AP": {"ind": ["Electronics"], "ood": ["Electronics"]}}), TaskReport("AP"))


def test_sizes_cap_samples_each_split_and_is_deterministic():
    cats = {"AP": {"ind": ["Electronics", "Home_and_Kitchen"], "ood": ["Toys_and_Games"]}}
    cfg = BuildConfig(sources=SOURCES, out=Path("unused"), categories=cats, sizes=2)
    a = ap.build(cfg, TaskReport("AP"))
    b = ap.build(cfg, TaskReport("AP"))
    assert [len(a[s]) for s in ("train", "validation", "test", "test_ood")] == [20, 2, 2, 2]
    assert a == b


def test_missing_folder_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="amazonqa"):
        ap.build(BuildConfig(sources=tmp_path, out=tmp_path), TaskReport("AP"))
