"""SA built from the bundled samples through the pipeline follows the release (RELEASED_FORMAT.md §5)."""

import json

from _review_samples import SOURCES, records, report, sample_config
from ecinstruct_builders.pipeline import build
from ecinstruct_builders.readers.amazon_review_2018 import iter_review_objects
from ecinstruct_builders.tasks import sa

IND = ("train", "validation", "test", "test_unseen")


def test_options_and_full_option_outputs():
    for split in ("train", "test", "test_ood"):
        for r in records("SA", split):
            assert r["options"] == sa.OPTIONS
            assert r["output"] in sa.OPTIONS


def test_output_is_the_option_of_the_star_rating():
    stars = {}
    for cat in ("Gift_Cards", "Magazine_Subscriptions", "All_Beauty"):
        for o in iter_review_objects(SOURCES / f"amazon_review_2018/review_5core/{cat}_5.json.gz"):
            stars.setdefault((o.get("asin"), o.get("reviewerID")), set()).add(sa.label_of(o["overall"]))
    for split in ("train", "validation", "test", "test_ood"):
        for r in records("SA", split):
            assert r["output"] in stars[tuple(r["source_ids"])]


def test_reviews_are_raw_and_have_at_least_ten_single_space_tokens():
    raw = set()
    for cat in ("Gift_Cards", "Magazine_Subscriptions", "All_Beauty"):
        raw.update(o.get("reviewText") for o in iter_review_objects(SOURCES / f"amazon_review_2018/review_5core/{cat}_5.json.gz"))
    for split in (*IND, "test_ood"):
        for r in records("SA", split):
            assert r["input"] in raw
            assert len(r["input"].split(" ")) >= 10


def test_ood_category_only_in_ood_splits():
    for split in IND:
        assert {r["category"] for r in records("SA", split)} == {"Gift_Cards", "Magazine_Subscriptions"}
    for split in ("test_ood", "test_ood_unseen"):
        assert {r["category"] for r in records("SA", split)} == {"All_Beauty"}


def test_report_counts_filter_drops_and_release_repeats():
    rep = report("SA")
    assert rep["dropped"]["review under 10 tokens"] > 0
    assert sum(rep["labels"]["train"].values()) == rep["splits"]["train"]
    assert set(rep["release_defects"]["eval_repeats_train"]) >= {"validation", "test"}


def test_quota_per_category_at_a_small_size(tmp_path):
    build(sample_config(tmp_path, sizes=20), ["SA"], log=lambda _m: None)
    rep = json.loads((tmp_path / "build_report.json").read_text())["tasks"]["SA"]
    # category i of 2 appends while the total is below (i + 1) * size / 2
    assert rep["breakdowns"]["category"]["train"] == {"Gift_Cards": 100, "Magazine_Subscriptions": 100}
    assert rep["breakdowns"]["category"]["test"] == {"Gift_Cards": 10, "Magazine_Subscriptions": 10}
    assert rep["splits"]["test_ood"] == 20


def test_reads_the_first_200k_lines_per_category_by_default(tmp_path, monkeypatch):
    limits = []

    def spy(path, report=None, *, max_lines=None):
        limits.append(max_lines)
        return iter_review_objects(path, report, max_lines=max_lines)

    monkeypatch.setattr(sa, "iter_review_objects", spy)
    build(sample_config(tmp_path, sizes=2), ["SA"], log=lambda _m: None)
    assert limits == [200_000] * 3  # two IND categories and the OOD one


def test_line_cap_option(tmp_path):
    cfg = sample_config(tmp_path, sizes=20)
    cfg.options["SA"] = {"max_reviews_per_category": 1500}
    build(cfg, ["SA"], log=lambda _m: None)
    rep = json.loads((tmp_path / "build_report.json").read_text())["tasks"]["SA"]
    assert rep["rows_read"]["Gift_Cards_5.json.gz"] == 1500
