"""AVE follows Appendix A.1.1: 7 held-out attributes as OOD, gold triples, the paper's input layout."""

import json

from _review_samples import records, report, sample_config

from builders.core import read_jsonl
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
