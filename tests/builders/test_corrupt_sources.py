"""An empty, truncated or corrupt source file stops the build in one line naming the file (issue 15, item 2)."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

from ecinstruct_eval.cli import main

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples" / "sources"
CONFIG = REPO / "samples" / "sample_build.json"


@pytest.fixture
def sources(tmp_path):
    dst = tmp_path / "src"
    shutil.copytree(SAMPLES, dst)
    return dst


def _build(sources: Path, out: Path, tasks: str, capsys, *extra: str) -> tuple[int, str]:
    code = main(["build", "--sources", str(sources), "--out", str(out), "--config", str(CONFIG),
                 "--tasks", tasks, "-q", *extra])
    err = capsys.readouterr().err.strip()
    return code, err


def _assert_one_line_and_nothing_written(code, err, out: Path, needle: str):
    assert code == 2, err
    assert len(err.splitlines()) == 1 and needle in err, err
    assert not list(out.rglob("*.jsonl")) and not (out / "build_report.json").exists()


META = "amazon_review_2018/meta/all_category/meta_Gift_Cards.json.gz"


def test_empty_source_file(sources, tmp_path, capsys):
    (sources / META).write_bytes(b"")
    code, err = _build(sources, tmp_path / "out", "PRP", capsys)
    _assert_one_line_and_nothing_written(code, err, tmp_path / "out", "meta_Gift_Cards.json.gz: the file is empty")


def test_empty_jsonl_source(sources, tmp_path, capsys):
    (sources / "mave" / "mave_positives.jsonl").write_bytes(b"")
    code, err = _build(sources, tmp_path / "out", "AVE", capsys)
    _assert_one_line_and_nothing_written(code, err, tmp_path / "out", "mave_positives.jsonl: the file is empty")


def test_a_gzip_of_nothing_is_empty_too(sources, tmp_path, capsys):
    # `gzip -c /dev/null`: a valid stream of no bytes; SA and SR silently lost the category before
    review = "amazon_review_2018/review_5core/Gift_Cards_5.json.gz"
    (sources / review).write_bytes(gzip.compress(b""))
    code, err = _build(sources, tmp_path / "out", "SA,SR", capsys)
    _assert_one_line_and_nothing_written(code, err, tmp_path / "out",
                                         "Gift_Cards_5.json.gz: the file is empty (it decompresses to nothing)")


def test_not_gzip(sources, tmp_path, capsys):
    (sources / META).write_bytes(b'{"asin": "x"}\n')
    code, err = _build(sources, tmp_path / "out", "PRP", capsys)
    _assert_one_line_and_nothing_written(code, err, tmp_path / "out", "not a gzip file")


def test_truncated_gzip(sources, tmp_path, capsys):
    data = (sources / META).read_bytes()
    (sources / META).write_bytes(data[: len(data) // 2])
    code, err = _build(sources, tmp_path / "out", "PRP", capsys)
    _assert_one_line_and_nothing_written(code, err, tmp_path / "out", "meta_Gift_Cards.json.gz: truncated")


def test_truncation_stops_before_any_task_is_written_with_verify_sources(sources, tmp_path, capsys):
    data = (sources / META).read_bytes()
    (sources / META).write_bytes(data[: len(data) - 100])
    # AVE is built before PRP: without --verify-sources it would be written before the damage is read
    code, err = _build(sources, tmp_path / "out", "AVE,PRP", capsys, "--verify-sources")
    _assert_one_line_and_nothing_written(code, err, tmp_path / "out", "meta_Gift_Cards.json.gz: truncated")
    code, err = _build(sources, tmp_path / "out2", "AVE,PRP", capsys)
    assert code == 2 and "meta_Gift_Cards.json.gz: truncated" in err
    assert (tmp_path / "out2" / "AVE" / "train.jsonl").is_file() and not (tmp_path / "out2" / "PRP").exists()


def test_bad_crc(sources, tmp_path, capsys):
    data = bytearray(gzip.compress(gzip.decompress((sources / META).read_bytes())))
    data[-8] ^= 0xFF  # the CRC32 in the gzip trailer
    (sources / META).write_bytes(bytes(data))
    code, err = _build(sources, tmp_path / "out", "PRP", capsys)
    _assert_one_line_and_nothing_written(code, err, tmp_path / "out", "meta_Gift_Cards.json.gz: corrupt")


def test_truncated_parquet(sources, tmp_path, capsys):
    path = sources / "esci" / "shopping_queries_dataset_examples.parquet"
    path.write_bytes(path.read_bytes()[:-100])
    code, err = _build(sources, tmp_path / "out", "MPC", capsys)
    _assert_one_line_and_nothing_written(code, err, tmp_path / "out", "not a readable Parquet file")


def test_csv_with_a_wrong_header(sources, tmp_path, capsys):
    path = sources / "amazon_google" / "Amazon.csv"
    path.write_text('"id","name","price"\n"a","b","1"\n', encoding="utf-8")
    code, err = _build(sources, tmp_path / "out", "PM", capsys)
    _assert_one_line_and_nothing_written(code, err, tmp_path / "out", "Amazon.csv: unexpected header")
    # checked before any task is built: AVE, built before PM, writes nothing either
    code, err = _build(sources, tmp_path / "out2", "AVE,PM", capsys)
    _assert_one_line_and_nothing_written(code, err, tmp_path / "out2", "Amazon.csv: unexpected header")


def test_a_source_without_usable_rows_is_an_error_not_an_empty_task(sources, tmp_path, capsys):
    # valid gzip, but no line is a product: PRP would have been built empty with exit 0
    for meta in (META, META.replace("Gift_Cards", "Magazine_Subscriptions")):
        (sources / meta).write_bytes(gzip.compress(b'{"no": "asin"}\n'))
    cfg_out = tmp_path / "out"
    code, err = _build(sources, cfg_out, "PRP", capsys)
    _assert_one_line_and_nothing_written(code, err, cfg_out, "PRP: the sources gave no usable")
