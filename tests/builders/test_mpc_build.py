"""MPC from the bundled ESCI sample sources (Appendix A.3.1)."""

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from builders.core import BuildConfig, TaskReport
from builders.readers import esci
from builders.tasks import mpc
from ecinstruct_eval.tasks import TASKS

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


def test_splits_labels_and_options(built, examples):
    splits, report = built
    assert set(splits) == {"train", "validation", "test"}
    assert all(splits.values())
    for exs in splits.values():
        for ex in exs:
            assert ex.options == TASKS["MPC"].lettered_options()
            row = examples[int(ex.source_ids[0])]
            assert ex.output == {"E": "A", "S": "B", "C": "C", "I": "D"}[row["esci_label"]]
            assert row["product_locale"] == "us" and row["large_version"] == 1
            assert ex.input.startswith("Query: ") and "\nProduct title: " in ex.input
            assert ex.input.isascii()
    assert report.splits == {k: len(v) for k, v in splits.items()}
    assert sum(report.labels["train"].values()) == len(splits["train"])


def test_english_ascii_rules(built):
    splits, report = built
    inputs = [ex.input for exs in splits.values() for ex in exs]
    assert not any("FIXTURE0US1" in ex.source_ids for exs in splits.values() for ex in exs)  # Japanese title
    assert any('Cafe "Creme" Mouse Pad - Large, 12x10 in' in i for i in inputs)  # folded to ASCII
    assert report.dropped["not English"] >= 1


def test_queries_never_cross_splits(built, examples):
    splits, _ = built
    queries = {s: {examples[int(ex.source_ids[0])]["query_id"] for ex in exs} for s, exs in splits.items()}
    assert not queries["train"] & queries["test"]
    assert not queries["train"] & queries["validation"]
    assert not queries["validation"] & queries["test"]
    inputs = {s: {ex.input for ex in exs} for s, exs in splits.items()}
    assert not inputs["train"] & inputs["test"]
    # test comes from ESCI's own test split
    assert all(examples[int(ex.source_ids[0])]["split"] == "test" for ex in splits["test"])


def test_sizes_cap_and_determinism(built):
    capped, _ = _build(sizes=3)
    assert [len(capped[s]) for s in ("train", "validation", "test")] == [30, 3, 3]
    again, _ = _build()
    assert [e.input for e in again["train"]] == [e.input for e in built[0]["train"]]


def test_missing_file_error_names_path(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "esci" / esci.EXAMPLES_FILE)):
        mpc.build(BuildConfig(sources=tmp_path, out=tmp_path), TaskReport("MPC"))
