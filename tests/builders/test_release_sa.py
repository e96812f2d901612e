"""SA built from the bundled samples is the official release's SA, record for record.

The reference files (tests/data/released_format/SA_*.json) are the authors'
processing run on the same Amazon Review 2018 5-core samples with
Gift_Cards, Magazine_Subscriptions as IND and All_Beauty as OOD stand-ins,
exactly the categories samples/sample_build.json configures for SA.
"""

import json
from pathlib import Path

import pytest
from _review_samples import sample_config
from ecinstruct_builders.core import BuildConfig, TaskReport
from ecinstruct_builders.release import json_text
from ecinstruct_builders.tasks import sa

REF = Path(__file__).resolve().parents[1] / "data" / "released_format"
#: our split -> reference file
FILES = {"train": "SA_IND_train.json", "validation": "SA_IND_val.json", "test": "SA_IND_test.json",
         "test_ood": "SA_OOD_test.json"}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    cfg = sample_config(tmp_path_factory.mktemp("sa"))
    report = TaskReport("SA")
    return sa.build(cfg, report), report


def test_every_record_is_the_release_record_in_the_same_split_and_order(built):
    splits, _ = built
    same = total = 0
    for split, name in FILES.items():
        ref = json.loads((REF / name).read_text(encoding="utf-8"))
        ours = splits[split]
        assert len(ours) == len(ref), split
        for ex, r in zip(ours, ref):
            total += 1
            same += (ex.input, json_text(ex.options), ex.output) == (r["input"], r["options"], r["output"])
    assert (same, total) == (2910, 2910)


def test_options_string_is_the_release_84_characters():
    assert len(json_text(sa.OPTIONS)) == 84


def test_rows_read_are_used_dropped_or_skipped(built):
    splits, report = built
    used = sum(len(v) for v in splits.values())
    assert sum(report.rows_read.values()) == used + sum(report.dropped.values()) + sum(report.skipped.values())
    assert report.skipped[sa.OOD_UNUSED] > 0
    assert report.dropped["review under 10 tokens"] > 0


def test_first_lines_cap_and_filter(tmp_path):
    root = tmp_path / "amazon_review_2018"
    root.mkdir()
    long = "one two three four five six seven eight nine ten"
    rows = [{"reviewText": long, "overall": 5.0}, {"reviewText": long}, {"reviewText": "a  b c d e f g h i", "overall": 3.0},
            {"reviewText": long + " (dup)", "overall": 2.0}, {"reviewText": long, "overall": 5.0}]
    (root / "Cat_5.json").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    cfg = BuildConfig(sources=tmp_path, out=tmp_path, sizes="all", categories={"SA": {"ind": ["Cat"], "ood": []}},
                      options={"SA": {"max_reviews_per_category": 4}})
    report = TaskReport("SA")
    out = sa.build(cfg, report)
    got = sorted((ex.input, ex.output) for exs in out.values() for ex in exs)
    # "a  b c ..." has 10 single-space tokens (the double space makes an empty one): kept
    assert got == sorted([(long, "A: very positive"), ("a  b c d e f g h i", "C: neutral"),
                          (long + " (dup)", "D: negative")])
    assert report.rows_read == {"Cat_5.json": 4}
    assert report.dropped == {"review without reviewText or overall": 1}
