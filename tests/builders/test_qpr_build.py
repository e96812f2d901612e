"""QPR lists of 2-4 products with distinct ESCI grades; gold = ranked letters + grades (Appendix A.3.3)."""

import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from builders.core import BuildConfig, TaskReport
from builders.readers import esci
from builders.tasks import qpr

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
        for ex in exs:
            n = len(ex.relevance)
            sizes.add(n)
            assert 2 <= n <= 4 and len(set(ex.relevance)) == n
            assert ex.options == []
            letters = [x.strip() for x in ex.output.split(",")]
            assert sorted(letters) == list("ABCD"[:n])
            assert [ORDER[ex.relevance["ABCD".index(x)]] for x in letters] == sorted(ORDER[g] for g in ex.relevance)
            lines = ex.input.split("\n")
            assert lines[0].startswith("Query: ") and len(lines) == n + 1
            assert [re.match(r"Product ([A-D]): ", ln).group(1) for ln in lines[1:]] == list("ABCD"[:n])
            # relevance is the ESCI grade of each listed product, all of one query
            srcs = [rows[int(s)] for s in ex.source_ids]
            assert [r["esci_label"] for r in srcs] == ex.relevance
            assert len({r["query_id"] for r in srcs}) == 1
    assert sizes == {2, 3, 4}
    assert report.breakdowns["list_size"]["train"] == {
        f"{n} products": sum(len(ex.relevance) == n for ex in splits["train"]) for n in (2, 3, 4)
    }


def test_real_vespa_query_is_in_test(built):
    splits, _ = built
    ex = [e for e in splits["test"] if e.input.startswith("Query: 06 bmw 325i radio oem not navigation system")]
    assert len(ex) == 1 and sorted(ex[0].relevance) == ["E", "I", "S"]


def test_queries_do_not_cross_splits(built):
    splits, _ = built
    q = {s: {e.input.split("\n")[0] for e in exs} for s, exs in splits.items()}
    assert not q["train"] & q["test"] and not q["train"] & q["validation"]


def test_ranked_letters():
    assert qpr.ranked_letters(["E", "I", "S"]) == "A, C, B"
    assert qpr.ranked_letters(["I", "C", "S", "E"]) == "D, C, B, A"


def test_finalized_records_are_byte_identical_across_builds():
    from builders.core import dumps_record, finalize

    def dump():
        cfg = BuildConfig(sources=SOURCES, out=Path("unused"))
        recs = finalize("QPR", qpr.build(cfg, TaskReport("QPR")), seed=1)
        return "\n".join(dumps_record(r) for split in sorted(recs) for r in recs[split])

    first = dump()
    assert first == dump()
    assert '"relevance": ["' in first and '"options": []' in first
