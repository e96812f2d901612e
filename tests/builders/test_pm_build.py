"""PM from the real Leipzig files: the paper's 2,022 / 253 / 253 (Appendix A.1.3, Table A3)."""

import re
from pathlib import Path

import pytest

from builders.core import BuildConfig, TaskReport
from builders.tasks import pm
from builders.text import word_count

SOURCES = Path(__file__).resolve().parents[2] / "samples" / "sources"
LINE = re.compile(r"^Product ([12]): title (.+), description (.*), manufacturer (.*), price (.*)$")


def _build(**kw):
    report = TaskReport("PM")
    return pm.build(BuildConfig(sources=SOURCES, out=Path("unused"), **kw), report), report


@pytest.fixture(scope="module")
def built():
    return _build()


def test_paper_split_sizes_and_balanced_labels(built):
    splits, report = built
    assert {k: len(v) for k, v in splits.items()} == {"train": 2022, "validation": 253, "test": 253}
    labels = [ex.output for exs in splits.values() for ex in exs]
    assert labels.count("yes") == labels.count("no") == 1264
    assert report.dropped == {"duplicate matched pair": 36}
    assert report.splits == {"train": 2022, "validation": 253, "test": 253}
    assert sum(report.labels["train"].values()) == 2022 and set(report.labels["test"]) == {"yes", "no"}


def test_sizes_option_does_not_downsample_pm():
    splits, _ = _build(sizes=5)
    assert len(splits["train"]) == 2022


def test_no_input_shared_between_or_within_splits(built):
    splits, _ = built
    inputs = [ex.input for exs in splits.values() for ex in exs]
    assert len(set(inputs)) == len(inputs)
    pairs = [tuple(ex.source_ids) for exs in splits.values() for ex in exs]
    assert len(set(pairs)) == len(pairs)


def test_input_format_and_50_word_descriptions(built):
    splits, _ = built
    for ex in splits["test"]:
        lines = ex.input.split("\n")
        assert len(lines) == 2 and ex.options == [] and ex.output in ("yes", "no")
        for n, line in enumerate(lines, 1):
            m = LINE.match(line)
            assert m and m.group(1) == str(n), line
        assert ex.input.isascii()
    long_descr = [ex for ex in splits["train"] if "description NaN" not in ex.input]
    assert long_descr
    for ex in splits["train"]:
        for line in ex.input.split("\n"):
            descr = line.split(", description ", 1)[1].rsplit(", manufacturer ", 1)[0]
            assert word_count(descr) <= 50


def test_matched_pairs_come_from_the_mapping(built):
    splits, _ = built
    mapping = set(
        tuple(line.replace('"', "").split(","))
        for line in (SOURCES / "amazon_google" / "Amzon_GoogleProducts_perfectMapping.csv")
        .read_text(encoding="latin-1").splitlines()[1:]
    )
    for exs in splits.values():
        for ex in exs:
            assert (tuple(ex.source_ids) in mapping) == (ex.output == "yes")


def test_case_study_pair_renders_as_in_the_paper(built):
    splits, _ = built
    everything = {tuple(ex.source_ids): ex for exs in splits.values() for ex in exs}
    ex = everything[("b00027eqmy", "http://www.google.com/base/feeds/snippets/2460101921085498175")]
    assert ex.output == "yes"
    assert ex.input.startswith("Product 1: title omniweb 5.0, description NaN, manufacturer omni group, price 29.99\n"
                               "Product 2: title omni web 5.0, description sure you can use")
    assert ex.input.endswith(", manufacturer NaN, price 23.99")


def test_deterministic_and_seeded(built):
    again, _ = _build()
    assert [e.input for e in again["test"]] == [e.input for e in built[0]["test"]]
    other, _ = _build(seed=2)
    assert [e.input for e in other["test"]] != [e.input for e in built[0]["test"]]


def test_missing_source_names_expected_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="amazon_google"):
        pm.build(BuildConfig(sources=tmp_path, out=tmp_path), TaskReport("PM"))
