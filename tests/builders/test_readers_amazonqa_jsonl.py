"""AmazonQA reader: original qar line format, gzip, split prefixes, counted malformed lines."""

import gzip
import json
from pathlib import Path

import pytest
from ecinstruct_builders.core import TaskReport
from ecinstruct_builders.readers import amazonqa

SRC = Path(__file__).resolve().parents[2] / "samples" / "sources" / "amazonqa"


def test_reads_the_real_sample():
    r = TaskReport("AP")
    recs = list(amazonqa.iter_records(SRC / "qar.jsonl", r))
    assert len(recs) == 200 and r.rows_read == {"qar.jsonl": 200} and r.dropped == {}
    first = recs[0]
    assert (first.qid, first.asin, first.category, first.question_type) == ("45758", "B00E7LVBCE", "Electronics", "descriptive")
    assert first.question.startswith("My computer is DVI-I.")
    assert len(first.reviews) == 10 and isinstance(first.is_answerable, bool)
    assert sum(r.is_answerable for r in recs) == 126
    assert all(isinstance(a.helpful_votes, int) for r in recs for a in r.answers)


def test_gzip_is_read_transparently(tmp_path):
    data = (SRC / "qar.jsonl").read_bytes()
    (tmp_path / "train-qar.jsonl.gz").write_bytes(gzip.compress(data, mtime=0))
    plain = list(amazonqa.iter_records(SRC / "qar.jsonl", TaskReport("AP")))
    gz = list(amazonqa.iter_records(tmp_path / "train-qar.jsonl.gz", TaskReport("AP")))
    assert gz == plain


def test_malformed_lines_are_counted(tmp_path):
    good = json.loads((SRC / "qar.jsonl").read_text(encoding="utf-8").splitlines()[0])
    missing = {k: v for k, v in good.items() if k != "questionText"}
    lines = [json.dumps(good).encode(), b"{not json", json.dumps(missing).encode(),
             b'{"questionText": "\xff\xfe"}', b"", json.dumps({**good, "is_answerable": "maybe"}).encode()]
    path = tmp_path / "val-qar.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    r = TaskReport("AP")
    assert len(list(amazonqa.iter_records(path, r))) == 1
    assert r.rows_read == {"val-qar.jsonl": 5}
    assert r.dropped == {"amazonqa: bad JSON": 1, "amazonqa: missing or bad field": 2, "amazonqa: bad encoding": 1}


def test_find_files_maps_published_prefixes(tmp_path):
    for name in ("train-qar.jsonl", "val-qar.jsonl.gz", "test-qar.jsonl", "qar.jsonl", "notes.txt"):
        (tmp_path / name).write_text("")
    assert [(s, p.name) for s, p in amazonqa.find_files(tmp_path)] == [
        (None, "qar.jsonl"), ("test", "test-qar.jsonl"), ("train", "train-qar.jsonl"), ("validation", "val-qar.jsonl.gz")]
    with pytest.raises(FileNotFoundError, match="train-qar.jsonl"):
        amazonqa.find_files(tmp_path / "missing")


def test_parse_helpful_and_answerable_variants():
    rec = amazonqa.parse({"asin": "X", "category": "C", "questionText": "q?", "review_snippets": ["r"],
                          "is_answerable": 1, "answers": [{"answerText": "a", "helpful": [3, 4]},
                                                          {"answerText": "b", "helpful": 2}, {"bad": 1}]})
    assert rec.is_answerable is True
    assert [(a.text, a.helpful_votes, a.total_votes) for a in rec.answers] == [("a", 3, 4), ("b", 2, 2)]


def test_hostile_lines_are_dropped_with_a_reason_not_a_traceback(tmp_path):
    good = json.loads((SRC / "qar.jsonl").read_text(encoding="utf-8").splitlines()[0])
    infinite_votes = {**good, "answers": [{"answerText": "yes", "helpful": [float("inf"), 1]}]}
    path = tmp_path / "qar.jsonl"
    path.write_bytes(b"[" * 100_000 + b"\n" + json.dumps(infinite_votes).encode() + b"\n")  # 1e999 is infinity
    r = TaskReport("AG")
    recs = list(amazonqa.iter_records(path, r))
    assert [(a.helpful_votes, a.total_votes) for a in recs[0].answers] == [(0, 1)]
    assert r.rows_read == {"qar.jsonl": 2} and r.dropped == {"amazonqa: bad JSON": 1}
