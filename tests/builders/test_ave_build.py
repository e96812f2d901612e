"""AVE follows Appendix A.1.1: 7 held-out attributes as OOD, gold triples, the paper's input layout."""

import json

from _review_samples import records, report, sample_config

from builders.core import BuildConfig, read_jsonl
from builders.pipeline import build

IND = ("train", "validation", "test", "test_unseen")


def _targets(r):
    line = r["input"].rsplit("\n", 1)[1]
    assert line.startswith("Target attributes: ")
    return [t.lower() for t in line[len("Target attributes: "):].split(", ")]


def test_seven_held_out_attributes_never_in_ind_splits():
    held = [a.lower() for a in report("AVE")["extra"]["ood_attributes"]]
    assert len(held) == 7
    for split in IND:
        for r in records("AVE", split):
            assert not set(_targets(r)) & set(held)
            assert not {t["attribute"] for t in r["attributes"]} & set(held)
    ood = records("AVE", "test_ood")
    assert ood
    for r in ood:
        assert set(_targets(r)) <= set(held)


def test_products_do_not_straddle_splits():
    seen = {}
    for split in ("train", "validation", "test", "test_ood"):
        for r in records("AVE", split):
            pid = r["source_ids"][0]
            assert seen.setdefault(pid, split) == split


def test_gold_triples_match_output_and_input():
    for split in ("train", "test", "test_ood"):
        for r in records("AVE", split):
            triples = json.loads(r["output"])
            assert triples == r["attributes"]
            assert {t["attribute"] for t in triples} == set(_targets(r))
            for t in triples:
                assert set(t) == {"attribute", "value", "source"}
                if t["value"] == "None":
                    assert t["source"] == "None"
                else:
                    label = t["source"].replace("product ", "Product ") + ": "
                    line = next(x for x in r["input"].split("\n") if x.startswith(label))
                    assert t["value"].lower() in line.lower()


def test_input_layout_is_the_papers():
    r = records("AVE", "train")[0]
    lines = r["input"].split("\n")
    assert lines[0].startswith("Product title: ")
    labels = [x.split(": ", 1)[0] for x in lines]
    order = ["Product title", "Product description", "Product feature", "Product brand", "Target attributes"]
    assert labels == [x for x in order if x in labels]
    assert r["options"] == []


def test_positive_and_negative_samples_reported():
    labels = report("AVE")["labels"]
    assert labels["train"].get("positive", 0) > 0 and labels["train"].get("negative", 0) > 0


def test_configured_ood_attributes(tmp_path):
    cfg = sample_config(tmp_path)
    cfg.categories["AVE"] = {"ood": ["Material", "Gauge"]}
    build(cfg, ["AVE"], log=lambda _m: None)
    for r in read_jsonl(tmp_path / "AVE" / "test_ood.jsonl"):
        assert set(_targets(r)) <= {"material", "gauge"}
    for r in read_jsonl(tmp_path / "AVE" / "train.jsonl"):
        assert not set(_targets(r)) & {"material", "gauge"}


def _mave_product(pid, title, attributes, *, extra_paragraphs=()):
    """One MAVE line: ``attributes`` maps a key to its evidences as ``(value, paragraph index)``."""
    paragraphs = [{"text": title, "source": "title"}, {"text": "A sturdy everyday product.", "source": "description"},
                  *extra_paragraphs]
    texts = [p["text"] for p in paragraphs]
    return {"id": pid, "category": "Scarves", "paragraphs": paragraphs, "attributes": [
        {"key": key, "evidences": [{"value": v, "pid": i, "begin": max(texts[i].find(v), 0),
                                    "end": max(texts[i].find(v), 0) + len(v)} for v, i in evs]}
        for key, evs in attributes.items()]}


def _build_mave(tmp_path, positives, negatives, ood):
    """Build AVE (all rows kept) from synthetic MAVE files; return (records per split, report)."""
    src = tmp_path / "src" / "mave"
    src.mkdir(parents=True)
    for name, rows in (("mave_positives.jsonl", positives), ("mave_negatives.jsonl", negatives)):
        (src / name).write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "out"
    cfg = BuildConfig(sources=tmp_path / "src", out=out, sizes="all", categories={"AVE": {"ood": ood}})
    build(cfg, ["AVE"], log=lambda _m: None)
    rep = json.loads((out / "build_report.json").read_text())["tasks"]["AVE"]
    return {s: read_jsonl(out / "AVE" / f"{s}.jsonl") for s in rep["splits"]}, rep


def _rows_add_up(rep):
    read = sum(rep["rows_read"].values())
    return read == rep["rows_used"] + sum(rep["dropped"].values()) + sum(rep["skipped"].values())


def test_product_with_held_out_attribute_in_one_file_stays_out_of_ind_splits(tmp_path):
    # P0: the held-out Gauge in its positives line, only the IND Color in its negatives line.
    positives = [_mave_product("P0", "Steel wire 12 gauge", {"Gauge": [("12 gauge", 0)]})]
    positives += [_mave_product(f"P{i}", f"Wool scarf {i}", {"Material": [("Wool", 0)]}) for i in range(1, 9)]
    negatives = [_mave_product("P0", "Steel wire 12 gauge", {"Color": []}),
                 _mave_product("P9", "Plain scarf", {"Color": []})]
    splits, rep = _build_mave(tmp_path, positives, negatives, ["Gauge"])
    assert [r["source_ids"] for r in splits["test_ood"]] == [["P0"]]
    ind = {r["source_ids"][0] for s in ("train", "validation", "test") for r in splits.get(s, [])}
    assert ind == {f"P{i}" for i in range(1, 10)}
    assert rep["skipped"]["product with a held-out attribute"] == 1
    assert _rows_add_up(rep)


def test_discarded_evidence_of_a_kept_product_is_not_a_dropped_row(tmp_path):
    # Material's evidences: one in the title (kept), one in the price (not shown), one not in the text at all.
    price = {"text": "Wool blend, $12", "source": "price"}
    kept = _mave_product("P1", "Wool scarf", {"Material": [("Wool", 0), ("Wool blend", 2), ("Silk", 1)]},
                         extra_paragraphs=[price])
    splits, rep = _build_mave(tmp_path, [kept], [_mave_product("P2", "Plain scarf", {"Color": []})], ["Gauge"])
    rec = next(r for exs in splits.values() for r in exs if r["source_ids"] == ["P1"])
    assert rec["attributes"] == [{"attribute": "material", "value": "Wool", "source": "product title"}]
    assert rep["extra"]["evidences_dropped"] == {"evidence from a source not shown": 1,
                                                 "evidence value not in cleaned text": 1}
    assert rep["dropped"] == {}
    assert _rows_add_up(rep)
