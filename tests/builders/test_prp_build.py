"""PRP follows Appendix A.1.2: relation pairs, unordered, conflicts dropped, products without detail removed."""

import gzip
import json

from _review_samples import records, report

from builders.core import BuildConfig, read_jsonl
from builders.pipeline import build
from ecinstruct_eval.tasks import get_task


def _meta(asin, title, *, also_buy=(), also_view=(), similar=(), detail=True):
    table = "".join(f'<a class="a-link-normal" href="/x/dp/{a}/ref=psdc">x</a>' for a in similar)
    return {"asin": asin, "title": title, "brand": "B", "category": ["Tools"],
            "description": ["Sturdy and useful."] if detail else [], "feature": [],
            "also_buy": list(also_buy), "also_view": list(also_view),
            "similar_item": f' class="comparison-table"><tr>{table}</tr>' if similar else ""}


def _build_small(tmp_path, metas):
    src = tmp_path / "src" / "amazon_review_2018"
    src.mkdir(parents=True)
    with gzip.open(src / "meta_Tools.json.gz", "wt") as f:
        for m in metas:
            f.write(json.dumps(m) + "\n")
        f.write("{broken line\n")
    cfg = BuildConfig(sources=tmp_path / "src", out=tmp_path / "out", sizes="all",
                      categories={"PRP": {"ind": [], "ood": ["Tools"]}})
    build(cfg, ["PRP"], log=lambda _m: None)
    recs = read_jsonl(tmp_path / "out" / "PRP" / "test_ood.jsonl")
    rep = json.loads((tmp_path / "out" / "build_report.json").read_text())["tasks"]["PRP"]
    return {tuple(sorted(r["source_ids"])): r for r in recs}, rep


def test_relations_unordered_pairs_and_conflicts(tmp_path):
    metas = [
        _meta("B000000001", "Zeta drill", also_buy=["B000000002"], similar=["B000000004"]),
        _meta("B000000002", "Alpha bits", also_buy=["B000000001"]),          # same pair, same relation
        _meta("B000000003", "Mid saw", also_view=["B000000001"], also_buy=["B000000005"]),
        _meta("B000000004", "Beta drill", also_view=["B000000001"]),         # conflicts with similar -> dropped
        _meta("B000000005", "No detail", detail=False),                     # removed product
        _meta("B000000006", "Orphan", also_buy=["B999999999"]),              # partner not in metadata
    ]
    pairs, rep = _build_small(tmp_path, metas)
    assert set(pairs) == {("B000000001", "B000000002"), ("B000000001", "B000000003")}
    r = pairs[("B000000001", "B000000002")]
    assert r["output"] == "A"
    # Titles in sorted order: the pair is unordered.
    assert r["input"] == "Product 1: Alpha bits\nProduct 2: Zeta drill"
    assert pairs[("B000000001", "B000000003")]["output"] == "B"
    assert pairs[("B000000001", "B000000003")]["input"] == "Product 1: Mid saw\nProduct 2: Zeta drill"
    assert rep["dropped"]["pair with more than one relation"] == 1
    assert rep["dropped"]["product without detail"] == 1
    assert rep["dropped"]["meta_Tools.json.gz: malformed line"] == 1
    assert r["options"] == get_task("PRP").lettered_options()


def test_similar_item_table_gives_option_c(tmp_path):
    metas = [_meta("B000000001", "Drill one", similar=["B000000002"]), _meta("B000000002", "Drill two")]
    pairs, _ = _build_small(tmp_path, metas)
    assert pairs[("B000000001", "B000000002")]["output"] == "C"


def test_sample_build_categories_and_labels():
    for split in ("train", "validation", "test"):
        # Magazine_Subscriptions' titles are mostly scraping debris: few or no pairs survive.
        assert "Gift_Cards" in {r["category"] for r in records("PRP", split)}
        assert {r["category"] for r in records("PRP", split)} <= {"Gift_Cards", "Magazine_Subscriptions"}
    ood = records("PRP", "test_ood")
    assert {r["category"] for r in ood} == {"Tools_and_Home_Improvement"}
    assert {r["output"] for r in ood} == {"A", "B", "C"}
    rep = report("PRP")
    assert set(rep["labels"]["train"]) <= {"A", "B", "C"}
    train_pairs = {tuple(sorted(r["source_ids"])) for r in records("PRP", "train")}
    for split in ("validation", "test"):
        assert not train_pairs & {tuple(sorted(r["source_ids"])) for r in records("PRP", split)}
    for r in records("PRP", "test"):
        t1, t2 = (line.split(": ", 1)[1] for line in r["input"].split("\n"))
        assert t1 <= t2
