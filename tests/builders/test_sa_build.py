"""SA built from the bundled samples follows Appendix A.2.1."""

import json
from collections import Counter

from _review_samples import SOURCES, records, report, sample_config

from builders.core import read_jsonl
from builders.pipeline import build
from builders.readers.amazon_review_2018 import iter_reviews
from ecinstruct_eval.tasks import get_task

IND = ("train", "validation", "test", "test_unseen")


def _star_of_review():
    stars = {}
    for cat in ("Gift_Cards", "Magazine_Subscriptions", "All_Beauty"):
        for r in iter_reviews(SOURCES / f"amazon_review_2018/review_5core/{cat}_5.json.gz"):
            stars.setdefault((r.item, r.user), set()).add(r.rating)
    return stars


def test_labels_are_star_ratings_as_five_options():
    stars = _star_of_review()
    letter = {5.0: "A", 4.0: "B", 3.0: "C", 2.0: "D", 1.0: "E"}
    for split in ("train", "test", "test_ood"):
        for r in records("SA", split):
            assert r["options"] == get_task("SA").lettered_options()
            assert r["options"][0] == "A: very positive" and r["options"][4] == "E: very negative"
            assert r["output"] in {letter[s] for s in stars[tuple(r["source_ids"])]}


def test_reviews_have_at_least_ten_words_and_are_ascii():
    for split in ("train", "validation", "test", "test_ood"):
        for r in records("SA", split):
            assert len(r["input"].split()) >= 10
            assert r["input"].isascii() and "<br" not in r["input"]


def test_ood_category_only_in_ood_splits():
    for split in IND:
        assert {r["category"] for r in records("SA", split)} == {"Gift_Cards", "Magazine_Subscriptions"}
    for split in ("test_ood", "test_ood_unseen"):
        assert {r["category"] for r in records("SA", split)} == {"All_Beauty"}


def test_no_review_text_shared_between_train_and_evaluation():
    train = {r["input"].lower() for r in records("SA", "train")}
    for split in ("validation", "test", "test_ood"):
        assert not train & {r["input"].lower() for r in records("SA", split)}


def test_report_counts_short_reviews_and_labels():
    rep = report("SA")
    assert rep["dropped"]["review under 10 words"] > 0
    assert sum(rep["labels"]["train"].values()) == rep["splits"]["train"]


def test_ind_categories_combined_one_to_one_and_first_reviews_cap(tmp_path):
    cfg = sample_config(tmp_path, sizes=20)
    cfg.options["SA"] = {"max_reviews_per_category": 1500}
    build(cfg, ["SA"], log=lambda _m: None)
    train = read_jsonl(tmp_path / "SA" / "train.jsonl")
    assert len(train) == 200
    assert Counter(r["category"] for r in train) == {"Gift_Cards": 100, "Magazine_Subscriptions": 100}
    rep = json.loads((tmp_path / "build_report.json").read_text())["tasks"]["SA"]
    assert rep["rows_read"]["Gift_Cards_5.json.gz"] == 1500


def test_reads_the_first_200k_reviews_per_category_by_default(tmp_path, monkeypatch):
    from builders.tasks import sa

    limits = []

    def spy(path, report=None, *, limit=None):
        limits.append(limit)
        return iter_reviews(path, report, limit=limit)

    monkeypatch.setattr(sa, "iter_reviews", spy)
    build(sample_config(tmp_path, sizes=2), ["SA"], log=lambda _m: None)
    assert limits == [200_000] * 3  # two IND categories and the OOD one


def test_no_built_review_has_fewer_than_10_words():
    for split in (*IND, "test_ood"):
        assert all(len(r["input"].split()) >= 10 for r in records("SA", split))
