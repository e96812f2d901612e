"""QPR lists of 2-4 products with distinct ESCI grades, drawn and rendered as the release does (RELEASED_FORMAT.md §7)."""

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from ecinstruct_builders.core import BuildConfig, TaskReport
from ecinstruct_builders.readers import esci
from ecinstruct_builders.tasks import qpr

SOURCES = Path(__file__).resolve().parents[2] / "samples" / "sources"
ORDER = {"E": 0, "S": 1, "C": 2, "I": 3}


@pytest.fixture(scope="module")
def built():
    report = TaskReport("QPR")
    return qpr.build(BuildConfig(sources=SOURCES, out=Path("unused")), report), report


def test_lists_are_2_to_4_distinct_grades_consistent_with_output(built):
    splits, report = built
    rows = {r["example_id"]: r for r in pq.read_table(SOURCES / "esci" / esci.EXAMPLES_FILE).to_pylist()}
    sizes = set()
    for exs in splits.values():
        assert exs
        keys = [tuple(sorted(ex.source_ids)) for ex in exs]
        assert len(set(keys)) == len(keys)  # a repeated set of products is rejected
        for ex in exs:
            n = len(ex.relevance)
            sizes.add(n)
            assert 2 <= n <= 4 and len(set(ex.relevance)) == n
            assert ex.options == []
            letters = ex.output.split(",")
            assert sorted(letters) == list("ABCD"[:n])
            assert [ORDER[ex.relevance["ABCD".index(x)]] for x in letters] == sorted(ORDER[g] for g in ex.relevance)
            data = json.loads(ex.input)
            assert list(data) == ["query", "product list"]
            assert [p[:3] for p in data["product list"]] == [f"{c}: " for c in "ABCD"[:n]]
            # relevance is the ESCI grade of each listed product, all of one query, all small_version
            srcs = [rows[int(s)] for s in ex.source_ids]
            assert [r["esci_label"] for r in srcs] == ex.relevance
            assert len({r["query"] for r in srcs}) == 1 and all(r["small_version"] == 1 for r in srcs)
    assert sizes == {2, 3, 4}
    assert report.breakdowns["list_size"]["train"] == {
        f"{n} products": sum(len(ex.relevance) == n for ex in splits["train"]) for n in (2, 3, 4)
    }


def test_rows_are_counted_once(built):
    splits, report = built
    shown = {s for exs in splits.values() for ex in exs for s in ex.source_ids}
    assert sum(qpr.rows_of(ex) for exs in splits.values() for ex in exs) == len(shown)
    read = report.rows_read[esci.EXAMPLES_FILE]
    assert read == len(shown) + sum(report.dropped.values()) + sum(report.skipped.values())
    assert report.skipped["not in small_version"] > 0


def test_real_vespa_query_is_in_validation_and_test(built):
    splits, _ = built
    for split in ("validation", "test"):
        lists = [e for e in splits[split] if json.loads(e.input)["query"].startswith("06 bmw 325i radio")]
        assert lists and all(set(e.relevance) <= {"E", "I", "S"} for e in lists)


def test_ranked_letters():
    assert qpr.ranked_letters(["E", "I", "S"]) == "A,C,B"
    assert qpr.ranked_letters(["I", "C", "S", "E"]) == "D,C,B,A"


def test_capped_lists_are_the_first_of_the_stream_for_train(built):
    capped = qpr.build(BuildConfig(sources=SOURCES, out=Path("unused"), sizes=3), TaskReport("QPR"))
    assert [len(capped[s]) for s in ("train", "validation", "test")] == [30, 3, 3]
    assert [e.input for e in capped["train"]] == [e.input for e in built[0]["train"][:30]]


def test_finalized_records_are_byte_identical_across_builds():
    from ecinstruct_builders.core import dumps_record, finalize

    def dump():
        cfg = BuildConfig(sources=SOURCES, out=Path("unused"))
        recs = finalize("QPR", qpr.build(cfg, TaskReport("QPR")), seed=1)
        return "\n".join(dumps_record(r) for split in sorted(recs) for r in recs[split])

    first = dump()
    assert first == dump()
    assert '"relevance": ["' in first and '"options": []' in first
