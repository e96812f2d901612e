"""Shopping Queries (ESCI) reader: published parquet schema, US filter, streaming, counted drops."""

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from ecinstruct_builders.core import TaskReport
from ecinstruct_builders.readers import esci

SRC = Path(__file__).resolve().parents[2] / "samples" / "sources" / "esci"


def test_fixture_files_have_the_published_schema():
    assert tuple(pq.read_schema(SRC / esci.EXAMPLES_FILE).names) == esci.EXAMPLES_COLUMNS
    assert tuple(pq.read_schema(SRC / esci.PRODUCTS_FILE).names) == esci.PRODUCTS_COLUMNS
    assert b"FIXTURE" in pq.read_schema(SRC / esci.EXAMPLES_FILE).metadata[b"fixture"]


def test_reads_us_rows_in_file_order_missing_values_empty_and_counts_malformed():
    r = TaskReport("MPC")
    t = esci.read_examples(SRC / esci.EXAMPLES_FILE, r)
    assert t.column_names == list(esci.KEPT_COLUMNS)
    raw = pq.read_table(SRC / esci.EXAMPLES_FILE).to_pylist()
    total = len(raw)
    assert r.rows_read == {esci.EXAMPLES_FILE: total}
    assert r.dropped == {"esci: unknown label": 1}
    assert r.skipped == {"other locale": 2}
    assert t.num_rows == total - 1 - 2
    assert t.column("example_id").to_pylist() == [
        row["example_id"] for row in raw if row["product_locale"] == "us" and row["esci_label"] != "X"]
    assert set(t.column("esci_label").to_pylist()) == set(esci.LABELS)
    assert set(t.column("split").to_pylist()) == {"train", "test"}
    assert "FIXTURE0ES1" not in t.column("product_id").to_pylist()
    rows = {row["example_id"]: row for row in t.to_pylist()}
    assert [row["query"] for row in rows.values() if row["product_id"] == "FIXTURE0US3"] == [""]  # null query
    # the real Vespa rows survive unchanged
    vespa = pq.read_table(SRC / "vespa_test-sample.parquet").to_pylist()
    for v in vespa:
        assert rows[v["example_id"]]["esci_label"] == v["esci_label"]
        assert rows[v["example_id"]]["split"] == v["split"] == "test"


def test_small_batches_give_the_same_rows():
    whole = esci.read_examples(SRC / esci.EXAMPLES_FILE, TaskReport("MPC"))
    batched = esci.read_examples(SRC / esci.EXAMPLES_FILE, TaskReport("MPC"), batch_size=7)
    assert batched.to_pylist() == whole.to_pylist()
    small = sum(whole.column("small_version").to_pylist())
    assert 0 < small < whole.num_rows


def test_read_titles_only_wanted_ids_of_the_locale():
    r = TaskReport("MPC")
    titles = esci.read_titles(SRC / esci.PRODUCTS_FILE, {"B08VSJGP1N", "FIXTURE0ES1", "NOPE"}, r, batch_size=50)
    assert list(titles) == ["B08VSJGP1N"]
    assert titles["B08VSJGP1N"].startswith("Apple Carplay Double Din Car Stereo")
    assert r.rows_read[esci.PRODUCTS_FILE] == pq.read_metadata(SRC / esci.PRODUCTS_FILE).num_rows
    every = dict(esci.iter_titles(SRC / esci.PRODUCTS_FILE, None, TaskReport("MPC")))
    assert "B08VSJGP1N" in every and "FIXTURE0ES1" not in every


@pytest.mark.parametrize("value, expected", [("E", "E"), ("Exact", "E"), ("substitute", "S"),
                                             ("I", "I"), ("X", None), (None, None)])
def test_normalise_label(value, expected):
    assert esci.normalise_label(value) == expected


def test_missing_file_or_column_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match=esci.EXAMPLES_FILE):
        esci.read_examples(tmp_path / esci.EXAMPLES_FILE, TaskReport("MPC"))
    pq.write_table(pa.table({"example_id": [1], "query": ["q"]}), tmp_path / esci.EXAMPLES_FILE)
    with pytest.raises(ValueError, match="missing column"):
        esci.read_examples(tmp_path / esci.EXAMPLES_FILE, TaskReport("MPC"))


def test_reads_a_real_published_examples_file():
    # the Vespa sample is a real slice of shopping_queries_dataset_examples.parquet (with a pandas index column)
    r = TaskReport("QPR")
    t = esci.read_examples(SRC / "vespa_test-sample.parquet", r)
    assert t.num_rows == 16 and r.dropped == {}
    assert set(t.column("query").to_pylist()) == {"06 bmw 325i radio oem not navigation system"}
    assert sorted(set(t.column("esci_label").to_pylist())) == ["E", "I", "S"]
