"""AP from the bundled AmazonQA sample (Appendix A.4.1): categories, labels, splits."""

import json
from pathlib import Path

import pytest

from builders.core import BuildConfig, TaskReport
from builders.tasks import ap

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


def test_input_format(built):
    splits, _ = built
    for ex in splits["test_ood"]:
        lines = ex.input.split("\n")
        assert lines[0].startswith("Question: ") and lines[1] == "Documents:"
        assert all(ln.startswith(f"- Document {i}: ") for i, ln in enumerate(lines[2:], 1))
        assert ex.input.isascii() and ex.options == []


def test_no_overlap_between_splits_and_products_stay_in_one_split(built):
    splits, _ = built
    inputs = [e.input for exs in splits.values() for e in exs]
    assert len(inputs) == len(set(inputs))
    asins = {s: {e.source_ids[1] for e in exs} for s, exs in splits.items()}
    assert not asins["train"] & asins["test"] and not asins["train"] & asins["validation"]


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


def test_sizes_cap_balances_categories_and_is_deterministic():
    cats = {"AP": {"ind": ["Electronics", "Home_and_Kitchen"], "ood": ["Toys_and_Games"]}}
    cfg = BuildConfig(sources=SOURCES, out=Path("unused"), categories=cats, sizes=2)
    a = ap.build(cfg, TaskReport("AP"))
    b = ap.build(cfg, TaskReport("AP"))
    assert [len(a[s]) for s in ("train", "validation", "test", "test_ood")] == [20, 2, 2, 2]
    cats_train = [e.category for e in a["train"]]
    assert cats_train.count("Electronics") == cats_train.count("Home_and_Kitchen") == 10
    assert [e.input for e in a["train"]] == [e.input for e in b["train"]]


def test_missing_folder_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="amazonqa"):
        ap.build(BuildConfig(sources=tmp_path, out=tmp_path), TaskReport("AP"))


def test_published_files_without_test_file_carve_test_from_train_products(tmp_path):
    lines = (SOURCES / "amazonqa" / "qar.jsonl").read_text(encoding="utf-8").splitlines()
    (tmp_path / "amazonqa").mkdir()
    (tmp_path / "amazonqa" / "train-qar.jsonl").write_text("\n".join(lines[:170]) + "\n", encoding="utf-8")
    (tmp_path / "amazonqa" / "val-qar.jsonl").write_text("\n".join(lines[170:]) + "\n", encoding="utf-8")
    cats = {"AP": {"ind": ["Electronics", "Home_and_Kitchen", "Toys_and_Games"], "ood": []}}
    report = TaskReport("AP")
    splits = ap.build(BuildConfig(sources=tmp_path, out=tmp_path, categories=cats), report)
    assert splits["train"] and splits["validation"] and splits["test"]
    assert any("no test-qar file" in n for n in report.notes)
    asins = {s: {e.source_ids[1] for e in exs} for s, exs in splits.items()}
    assert not asins["train"] & asins["test"]
    val_qids = {json.loads(x)["qid"] for x in lines[170:]}
    assert {int(e.source_ids[0]) for e in splits["validation"]} <= val_qids
