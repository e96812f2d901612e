"""Baselines on the bundled sample build: real record formats, parseable outputs, valid submission."""

from __future__ import annotations

from pathlib import Path

import pytest
from ecinstruct_leaderboard.baselines import METHODS, predict
from ecinstruct_leaderboard.submission import required_sets, validate_submission, write_submission

from ecinstruct_eval.cli import main
from ecinstruct_eval.data import load_split
from ecinstruct_eval.parsing import parse

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


@pytest.fixture(scope="module")
def sample_build(tmp_path_factory):
    if not (SAMPLES / "sample_build.json").is_file():
        pytest.skip("samples/ (the bundled sample sources) is not in this checkout")
    out = tmp_path_factory.mktemp("sample_build")
    rc = main(["build", "--sources", str(SAMPLES / "sources"), "--out", str(out),
               "--config", str(SAMPLES / "sample_build.json")])
    assert rc == 0
    return out


@pytest.mark.parametrize("method", METHODS)
def test_baselines_on_sample_build(sample_build, tmp_path, method):
    rows, train = [], {}
    for task, split in required_sets():
        if task not in train:
            train[task] = load_split(task, "train", sample_build)
        records = load_split(task, split, sample_build)
        outputs = predict(records, method, train_records=train[task], seed=0)
        failed = [o for r, o in zip(records, outputs) if parse(o, task, r["options"] or None) is None]
        assert not failed, (task, split, failed[:3])
        rows += [{"task": task, "split": split, "id": r["id"], "prediction": o}
                 for r, o in zip(records, outputs)]
    sub = tmp_path / f"{method}.jsonl"
    write_submission(sub, rows, {"model": f"baseline:{method}", "base_model": "", "parameters": "0",
                                 "shots": 0, "date": "2024-06-01", "link": ""})
    report = validate_submission(sub, location=sample_build)
    assert report.ok, report.summary()
    if method == "lexical":
        # the review sentence that answers the question, not an empty string
        ag = [r["prediction"] for r in rows if r["task"] == "AG"]
        assert all(len(a.split()) >= 3 for a in ag)
