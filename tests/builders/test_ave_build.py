"""AVE through the pipeline from the bundled MAVE fixture (RELEASED_FORMAT.md §2): holdout, records, accounting.

The release's rendering and order are pinned row by row in test_release_ave.py.
"""

import functools
import json
import tempfile
from pathlib import Path

from _review_samples import sample_config
from ecinstruct_builders.core import read_jsonl
from ecinstruct_builders.pipeline import build
from ecinstruct_builders.tasks import ave

IND = ("train", "validation", "test", "test_unseen")
#: The fixture's test split holds about 130 rows: a holdout of 1000 rows would take every attribute.
OPTIONS = {"AVE": {"ood_test_rows": 30}}


@functools.cache
def _built(sizes="paper") -> Path:
    out = Path(tempfile.mkdtemp(prefix="ecb-ave-"))
    cfg = sample_config(out, sizes=sizes)
    cfg.options = OPTIONS
    build(cfg, ["AVE"], log=lambda _m: None)
    return out


def records(split):
    return read_jsonl(_built() / "AVE" / f"{split}.jsonl")


def report():
    return json.loads((_built() / "build_report.json").read_text())["tasks"]["AVE"]


def _targets(r):
    return [t.lower() for t in json.loads(r["input"])["target attributes"].split(" and ")]


def test_held_out_attributes_are_first_keys_of_ood_rows_only():
    held = report()["extra"]["ood_attributes"]
    assert held
    for split in IND:
        for r in records(split):
            assert _targets(r)[0] not in {h.lower() for h in held}
    ood = records("test_ood")
    assert ood and all(_targets(r)[0] in {h.lower() for h in held} for r in ood)


def test_records_carry_the_release_strings_and_gold_triples():
    for split in ("train", "test", "test_ood"):
        for r in records(split):
            triples = json.loads(r["output"])
            assert triples == r["attributes"]
            assert {t["attribute"] for t in triples} == set(_targets(r))
            for t in triples:
                assert list(t) == ["attribute", "value", "source"]
                assert (t["value"] == "None") == (t["source"] == "None")
                if t["source"] != "None":
                    assert t["source"].startswith("product ") and t["source"] in (k.lower() for k in json.loads(r["input"]))
            assert r["options"] == []


def test_positive_and_negative_samples_reported():
    labels = report()["labels"]
    assert labels["train"].get("positive", 0) > 0 and labels["train"].get("negative", 0) > 0


def test_rows_add_up_and_differences_are_reported():
    rep = report()
    assert sum(rep["rows_read"].values()) == rep["rows_used"] + sum(rep["dropped"].values()) + \
        sum(rep["skipped"].values())
    assert rep["skipped"][ave.HELD_OUT_UNUSED] > 0
    assert any("8:1:1" in d for d in rep["release_differences"])


def test_configured_ood_attributes(tmp_path):
    cfg = sample_config(tmp_path)
    cfg.categories["AVE"] = {"ood": ["Material", "Gauge"]}
    build(cfg, ["AVE"], log=lambda _m: None)
    for r in read_jsonl(tmp_path / "AVE" / "test_ood.jsonl"):
        assert _targets(r)[0] in {"material", "gauge"}
    for r in read_jsonl(tmp_path / "AVE" / "train.jsonl"):
        assert _targets(r)[0] not in {"material", "gauge"}
    rep = json.loads((tmp_path / "build_report.json").read_text())["tasks"]["AVE"]
    assert any("configured" in d for d in rep["release_differences"])
