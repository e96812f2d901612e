"""Readers of Amazon Review 2018 / 2014 and MAVE: real formats, streaming, malformed lines counted."""

import gzip
import json

import pytest
from _review_samples import SOURCES
from ecinstruct_builders.core import TaskReport
from ecinstruct_builders.readers import amazon_review_2014 as ar14
from ecinstruct_builders.readers import amazon_review_2018 as ar18
from ecinstruct_builders.readers import mave


def test_real_2018_metadata_streams_with_all_fields():
    path = SOURCES / "amazon_review_2018/meta/all_category/meta_Gift_Cards.json.gz"
    report = TaskReport("X")
    first = next(ar18.iter_meta(path, report))
    assert first["asin"] == "B001BKEWF2"
    assert {"title", "brand", "category", "description", "feature", "also_buy", "also_view", "similar_item"} <= set(first)
    assert sum(1 for _ in ar18.iter_meta(path, report)) == 1547


def test_real_5core_reviews_and_ratings_csv():
    report = TaskReport("X")
    reviews = list(ar18.iter_reviews(SOURCES / "amazon_review_2018/review_5core/Gift_Cards_5.json.gz", report))
    assert len(reviews) == 2972
    r = reviews[0]
    assert (r.user, r.item, r.rating, r.time) == ("A31UBHTUUIFJUT", "B004LLIKVU", 5.0, 1529193600)
    assert r.text == "Another great gift."
    ratings = list(ar18.iter_interactions(SOURCES / "amazon_review_2018/rating/all_category/Magazine_Subscriptions.csv", report))
    assert len(ratings) == 546
    assert ratings[0] == ar18.Interaction("AH2IFH762VY5U", "B00005N7P0", 5.0, 1005177600, "")


def test_malformed_review_lines_are_counted_not_fatal(tmp_path):
    good = {"overall": 4.0, "reviewerID": "U1", "asin": "I1", "unixReviewTime": 5, "reviewText": "ok"}
    lines = [json.dumps(good), "{not json", json.dumps({**good, "overall": 9}), json.dumps({**good, "asin": None}),
             "\udcff broken", json.dumps({k: v for k, v in good.items() if k != "reviewText"}), ""]
    path = tmp_path / "Cat.json.gz"
    with gzip.open(path, "wt", encoding="utf-8", errors="surrogateescape") as f:
        f.write("\n".join(lines) + "\n")
    report = TaskReport("X")
    out = list(ar18.iter_reviews(path, report))
    assert [r.text for r in out] == ["ok", ""]
    assert report.dropped == {"Cat.json.gz: malformed line": 1, "Cat.json.gz: bad encoding": 1,
                              "Cat.json.gz: review without user/item/rating/time": 2}


def test_ratings_csv_bad_rows_counted(tmp_path):
    path = tmp_path / "Cat.csv"
    path.write_bytes(b"I1,U1,5.0,100\nI2,U2,five,100\nI3,U3\nI4,U4,3.0,200\nI5,U5,9,1\nI6,,4,1\n\xff,U7,1,1\n")
    report = TaskReport("X")
    assert [r.item for r in ar18.iter_ratings(path, report)] == ["I1", "I4"]
    assert report.rows_read == {"Cat.csv": 7}
    assert report.dropped == {"Cat.csv: malformed line": 4, "Cat.csv: bad encoding": 1}


def test_review_objects_are_the_first_lines_unvalidated(tmp_path):
    path = tmp_path / "Cat_5.json.gz"
    lines = [json.dumps({"overall": 5.0}), "", "{bad", json.dumps({"reviewText": "no rating"}), json.dumps([1])]
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    report = TaskReport("X")
    # the first 4 lines: the blank one counts as a line, the malformed one is counted
    assert list(ar18.iter_review_objects(path, report, max_lines=4)) == [{"overall": 5.0}, {"reviewText": "no rating"}]
    assert report.rows_read == {"Cat_5.json.gz": 3}
    assert report.dropped == {"Cat_5.json.gz: malformed line": 1}
    real = SOURCES / "amazon_review_2018/review_5core/Gift_Cards_5.json.gz"
    first = next(ar18.iter_review_objects(real))
    assert (first["reviewerID"], first["asin"], first["overall"]) == ("A31UBHTUUIFJUT", "B004LLIKVU", 5.0)
    assert sum(1 for _ in ar18.iter_review_objects(real, max_lines=100)) == 100


def test_2014_metadata_is_python_literal_and_never_evaluated(tmp_path):
    path = tmp_path / "meta_Tools.json.gz"
    lines = [
        repr({"asin": "A1", "title": "Drill", "brand": "X", "categories": [["Tools", "Power"]],
              "related": {"also_bought": ["A2"], "also_viewed": ["A3"], "bought_together": ["A4"]}}),
        "__import__('os').system('touch " + str(tmp_path / "pwned") + "')",
        "{'asin': 'A2', 'title': 'Saw'",
        repr({"asin": "A5", "title": "Hammer"}),
    ]
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    report = TaskReport("X")
    metas = list(ar14.iter_meta(path, report))
    assert [m["asin"] for m in metas] == ["A1", "A5"]
    assert not (tmp_path / "pwned").exists()
    assert report.dropped == {"meta_Tools.json.gz: malformed line": 2}
    shaped = ar14.to_2018_shape(metas[0])
    assert shaped["category"] == ["Tools", "Power"]
    assert shaped["also_buy"] == ["A2", "A4"] and shaped["also_view"] == ["A3"]
    assert [m["asin"] for m in ar14.iter_meta(path, None, wanted={"A5"})] == ["A5"]


@pytest.mark.parametrize("reader, line", [(ar14, repr), (ar18, json.dumps)], ids=["2014", "2018"])
def test_metadata_without_asin_is_counted_and_wanted_filters(tmp_path, reader, line):
    path = tmp_path / "meta_Cat.json"
    rows = [{"asin": "A1"}, {"title": "no asin"}, {"asin": ""}, {"asin": "A2", "also_buy": ["A1"]}]
    path.write_text("\n".join(line(r) for r in rows) + "\n", encoding="utf-8")
    report = TaskReport("X")
    assert [m["asin"] for m in reader.iter_meta(path, report)] == ["A1", "A2"]
    assert report.dropped == {"meta_Cat.json: no asin": 2}
    assert [m["asin"] for m in reader.iter_meta(path, None, wanted={"A2"})] == ["A2"]
    assert list(reader.iter_meta(path, None, wanted=set())) == []


def test_mave_schema_violations_are_counted(tmp_path):
    good = {"id": "P1", "category": "Scarves", "paragraphs": [{"text": "Wool scarf", "source": "title"}],
            "attributes": [{"key": "Material", "evidences": [{"value": "Wool", "pid": 0, "begin": 0, "end": 4}]}]}
    bad_pid = json.loads(json.dumps(good))
    bad_pid["attributes"][0]["evidences"][0]["pid"] = 3
    path = tmp_path / "mave_positives.jsonl"
    path.write_text("\n".join([json.dumps(good), json.dumps(bad_pid), json.dumps({"id": "P2"}), "nope"]) + "\n")
    report = TaskReport("X")
    assert [p["id"] for p in mave.iter_products(path, report)] == ["P1"]
    assert report.dropped == {
        "mave_positives.jsonl: evidence pid out of range": 1,
        "mave_positives.jsonl: bad paragraphs": 1,
        "mave_positives.jsonl: malformed line": 1,
    }


def test_bundled_mave_fixture_follows_the_schema():
    report = TaskReport("X")
    n = sum(1 for _ in mave.iter_products(SOURCES / "mave" / "mave_positives.jsonl", report))
    assert n == 900 and report.dropped == {}
    for p in mave.iter_products(SOURCES / "mave" / "mave_positives.jsonl", None):
        for a in p["attributes"]:
            for e in a["evidences"]:
                assert p["paragraphs"][e["pid"]]["text"][e["begin"]:e["end"]] == e["value"]


def test_an_infinite_time_or_rating_drops_the_review(tmp_path):
    good = {"overall": 4.0, "reviewerID": "U1", "asin": "I1", "unixReviewTime": 5, "reviewText": "ok"}
    path = tmp_path / "Cat.json"
    path.write_text("\n".join([json.dumps(good), json.dumps({**good, "unixReviewTime": 1e999}),
                               json.dumps({**good, "overall": 1e999})]) + "\n")
    report = TaskReport("X")
    assert [r.user for r in ar18.iter_reviews(path, report)] == ["U1"]
    assert report.dropped == {"Cat.json: review without user/item/rating/time": 2}
