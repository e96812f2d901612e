"""MPC from the bundled ESCI sample sources, rendered as the release renders it (RELEASED_FORMAT.md §7)."""

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from ecinstruct_builders.core import BuildConfig, TaskReport
from ecinstruct_builders.readers import esci
from ecinstruct_builders.release import json_text, np_perm
from ecinstruct_builders.tasks import _esci, mpc

SOURCES = Path(__file__).resolve().parents[2] / "samples" / "sources"


def _build(**kw):
    report = TaskReport("MPC")
    return mpc.build(BuildConfig(sources=SOURCES, out=Path("unused"), **kw), report), report


@pytest.fixture(scope="module")
def built():
    return _build()


@pytest.fixture(scope="module")
def examples():
    return {r["example_id"]: r for r in pq.read_table(SOURCES / "esci" / esci.EXAMPLES_FILE).to_pylist()}


def test_records_render_query_title_options_and_full_option_output(built, examples):
    splits, report = built
    assert set(splits) == {"train", "validation", "test"}
    assert all(splits.values())
    for exs in splits.values():
        for ex in exs:
            assert ex.options == list(mpc.OPTIONS)
            row = examples[int(ex.source_ids[0])]
            assert ex.output == mpc.OPTIONS["ESCI".index(row["esci_label"])]
            assert row["product_locale"] == "us"
            assert list(json.loads(ex.input)) == ["query", "product title"]
            assert json.loads(ex.input)["query"] == _esci.fold(row["query"] or "")
            assert ex.input.isascii()
    assert json_text(mpc.OPTIONS).startswith('["A: The product is relevant to the query, and satisfies')
    assert report.splits == {k: len(v) for k, v in splits.items()}
    assert sum(report.labels["train"].values()) == len(splits["train"])


def test_missing_values_are_empty_and_titles_are_folded(built):
    splits, report = built
    by_pid = {ex.source_ids[1]: json.loads(ex.input) for exs in splits.values() for ex in exs}
    # typographic quotes, the en dash and the multiplication sign have no ASCII form: dropped
    assert by_pid["FIXTURE0US2"]["product title"] == "Cafe Creme Mouse Pad  Large, 1210 in"
    assert by_pid["FIXTURE0US3"]["query"] == ""  # null query
    assert by_pid["FIXTURE0US5"]["product title"] == ""  # product not in the products file
    assert by_pid["FIXTURE0US1"]["product title"].strip() == "2.4GHz"  # filter off: the Japanese title is kept
    assert report.dropped == {"esci: unknown label": 1}
    assert report.skipped["other locale"] == 2


def test_splits_follow_the_release(built, examples):
    splits, _ = built
    us = [r for r in sorted(examples.values(), key=lambda r: r["example_id"])
          if r["product_locale"] == "us" and r["esci_label"] in "ESCI"]
    train = [r for r in us if r["split"] == "train"]
    held = [r for r in us if r["split"] == "test"]
    perm = np_perm(1, len(held))[: round(len(held) / 2)]
    test = [held[i] for i in perm]
    val = [r for i, r in enumerate(held) if i not in set(perm.tolist())]
    for split, rows in (("train", train), ("validation", val), ("test", test)):
        expected = [rows[i]["example_id"] for i in np_perm(2, len(rows))]  # every row, NP-PERM(2) order
        assert [int(ex.source_ids[0]) for ex in splits[split]] == expected


def test_sizes_cap_and_determinism(built):
    capped, report = _build(sizes=3)
    assert [len(capped[s]) for s in ("train", "validation", "test")] == [30, 3, 3]
    assert [e.input for e in capped["test"]] == [e.input for e in built[0]["test"][:3]]  # first n of NP-PERM
    assert report.skipped["not sampled (over target size)"] > 0
    again, _ = _build()
    assert [e.input for e in again["train"]] == [e.input for e in built[0]["train"]]


def test_missing_file_error_names_path(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "esci" / esci.EXAMPLES_FILE)):
        mpc.build(BuildConfig(sources=tmp_path, out=tmp_path), TaskReport("MPC"))
