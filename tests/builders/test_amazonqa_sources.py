"""AmazonQA's required-file check agrees with its reader: any qar ``*.jsonl[.gz]`` is enough,
the official ``train-qar.jsonl`` / ``val-qar.jsonl`` are what ``--download`` fetches."""

import gzip
import json
import shutil
import urllib.error

from _review_samples import CONFIG, SOURCES
from ecinstruct_builders import sources
from ecinstruct_builders.core import BuildConfig

from ecinstruct_eval.cli import main


def test_cli_builds_ap_and_ag_from_the_samples_with_the_check_on(tmp_path, capsys):
    cfg = BuildConfig.from_file(CONFIG, sources=SOURCES, out=tmp_path)
    # The samples hold qar.jsonl / fixture_qar.jsonl / val-fixture_qar.jsonl, none of the official names.
    assert not list((SOURCES / "amazonqa").glob("*-qar.jsonl*"))
    assert sources.missing_files(["AP", "AG"], cfg) == []
    assert main(["build", "--sources", str(SOURCES), "--out", str(tmp_path), "--config", str(CONFIG),
                 "--tasks", "AP,AG", "--quiet"]) == 0
    report = json.loads((tmp_path / "build_report.json").read_text())["tasks"]
    for task in ("AP", "AG"):
        splits = report[task]["splits"]
        assert {"train", "validation", "test", "test_ood", "test_unseen", "test_ood_unseen"} <= set(splits)
        assert splits["train"] > 0 and splits["test_ood"] > 0
        assert sum(report[task]["rows_read"].values()) > 200


def test_without_any_qar_file_the_build_says_what_to_fetch(tmp_path, capsys):
    (tmp_path / "src" / "amazonqa").mkdir(parents=True)
    (tmp_path / "src" / "amazonqa" / "notes.md").write_text("not data")
    assert main(["build", "--sources", str(tmp_path / "src"), "--out", str(tmp_path / "out"),
                 "--tasks", "AP", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert str(tmp_path / "src" / "amazonqa" / "train-qar.jsonl") in err
    assert str(tmp_path / "src" / "amazonqa" / "val-qar.jsonl") in err
    assert "any *.jsonl file" in err
    assert "https://amazon-qa.s3-us-west-2.amazonaws.com/train-qar.jsonl" in err


def test_any_gzipped_qar_file_at_any_depth_satisfies_the_check_and_is_read(tmp_path):
    deep = tmp_path / "src" / "amazonqa" / "mine"
    deep.mkdir(parents=True)
    data = (SOURCES / "amazonqa" / "qar.jsonl").read_bytes()
    (deep / "my_questions.jsonl.gz").write_bytes(gzip.compress(data))
    cfg = BuildConfig.from_file(CONFIG, sources=tmp_path / "src", out=tmp_path / "out", sizes=5)
    assert sources.missing_files(["AP"], cfg) == []
    from ecinstruct_builders.pipeline import build

    report = build(cfg, ["AP"], log=lambda _m: None)["tasks"]["AP"]
    assert report["rows_read"] == {"my_questions.jsonl.gz": data.count(b"\n")}
    assert report["splits"]["train"] > 0


def test_offline_download_names_the_official_files(tmp_path, monkeypatch):
    def offline(*_a, **_k):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(sources.urllib.request, "urlopen", offline)
    cfg = BuildConfig(sources=tmp_path / "src", out=tmp_path / "out")
    logs = []
    assert sources.download(["AP", "AG"], cfg, log=logs.append) == 2
    text = "\n".join(logs)
    for name in ("train-qar.jsonl", "val-qar.jsonl"):
        assert f"place amazonqa file {name} (or any *.jsonl file, compressed or not) at " \
               f"{tmp_path / 'src' / 'amazonqa' / name}" in text
    # Once any qar file is there, nothing is missing any more.
    (tmp_path / "src" / "amazonqa").mkdir(parents=True, exist_ok=True)
    shutil.copy(SOURCES / "amazonqa" / "qar.jsonl", tmp_path / "src" / "amazonqa")
    assert sources.missing_files(["AP", "AG"], cfg) == []
