"""PM from the real Leipzig files, record for record the official release's (RELEASED_FORMAT.md §4)."""

import json
from pathlib import Path

import pytest
from ecinstruct_builders.core import BuildConfig, TaskReport
from ecinstruct_builders.pipeline import build
from ecinstruct_builders.readers import leipzig
from ecinstruct_builders.tasks import pm

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ROOT / "samples" / "sources"
REFERENCE = ROOT / "tests" / "data" / "released_format"
RELEASE_SPLIT = {"train": "train", "validation": "val", "test": "test"}


def _build(**kw):
    report = TaskReport("PM")
    return pm.build(BuildConfig(sources=SOURCES, out=Path("unused"), **kw), report), report


@pytest.fixture(scope="module")
def built():
    return _build()


@pytest.fixture(scope="module")
def reference():
    return {ours: json.loads((REFERENCE / f"PM_{theirs}.json").read_text(encoding="utf-8"))
            for ours, theirs in RELEASE_SPLIT.items()}


def test_every_record_is_the_release_s_in_its_split_and_order(tmp_path, reference):
    """`ecinstruct build --tasks PM` gives 2,528 of 2,528 records identical to the release's."""
    build(BuildConfig(sources=SOURCES, out=tmp_path), ["PM"], log=lambda s: None)
    identical = 0
    for split, ref in reference.items():
        ours = [json.loads(line) for line in (tmp_path / "PM" / f"{split}.jsonl").read_text().splitlines()]
        assert len(ours) == len(ref)
        identical += sum(a["input"] == b["input"] and a["output"] == b["output"] for a, b in zip(ours, ref))
    assert identical == 2528


def test_release_text_quirks(built, reference):
    splits, _ = built
    first = splits["test"][0].input
    assert first == reference["test"][0]["input"]
    # a missing description is the bare NaN token, a missing manufacturer the string "nan",
    # non-ASCII is escaped, and the release's decoding left U+FFFD for the Latin-1 byte
    assert '"description": NaN' in first and '"manufacturer": "nan"' in first
    assert "mcafee\\ufffd total protection" in first and first.isascii()
    # Amazon prices are floats ("0.0"), Google prices text ("69.71 gbp" kept)
    prices = [json.loads(ex.input)["product 1"]["price"] for ex in splits["train"]]
    assert all("." in p for p in prices)


def test_sizes_labels_and_accounting(built):
    splits, report = built
    assert {k: len(v) for k, v in splits.items()} == {"train": 2022, "validation": 253, "test": 253}
    labels = [ex.output for exs in splits.values() for ex in exs]
    assert labels.count("yes") == labels.count("no") == 1264
    assert report.dropped == {"duplicate matched pair": 36}
    mapping = report.rows_read["Amzon_GoogleProducts_perfectMapping.csv"]
    assert mapping == sum(map(pm.rows_of, (ex for exs in splits.values() for ex in exs))) + 36


def test_sizes_option_does_not_downsample_pm():
    splits, _ = _build(sizes=5)
    assert len(splits["train"]) == 2022


def test_matched_pairs_come_from_the_mapping(built):
    splits, _ = built
    mapping = set(leipzig.read_mapping(leipzig.mapping_path(SOURCES / "amazon_google"), TaskReport("PM")))
    for exs in splits.values():
        for ex in exs:
            if ex.output == "yes":
                assert tuple(ex.source_ids) in mapping


def test_fifty_word_rule_counts_empty_tokens_and_strips_periods():
    p = leipzig.Product("x", "t", "w " * 30 + " " + "w. " * 30, None, None)
    cut = pm.render_product(p)["description"]
    assert cut.endswith("...") and len(cut[:-3].split(" ")) == 50 and not cut[:-3].endswith(".")


def test_order_is_pandas_1_5_s_grouped_order_whatever_pandas_is_installed():
    """The order is written out (grouped by Google id), not left to a pandas merge."""
    rows = [("a1", "g1"), ("a2", "g2"), ("a3", "g1"), ("a4", "g2")]
    assert pm.grouped_order(rows) == [("a1", "g1"), ("a3", "g1"), ("a2", "g2"), ("a4", "g2")]
    # pandas >= 2.2 keeps file order in the release's merges; the build does not call pandas at all
    import ecinstruct_builders.tasks.pm as module

    assert "pandas" not in module.__dict__


def test_deterministic(built):
    again, _ = _build()
    assert [e.input for e in again["test"]] == [e.input for e in built[0]["test"]]


def test_missing_source_names_expected_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="amazon_google"):
        pm.build(BuildConfig(sources=tmp_path, out=tmp_path), TaskReport("PM"))
