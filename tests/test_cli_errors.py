"""User mistakes on the command line get one clear line and exit status 2, never a traceback."""

import json

import pytest

from ecinstruct_eval.cli import main


@pytest.fixture
def tiny_build(tmp_path):
    """A build folder with one SR test record and one train record."""
    opts = [f"{chr(65 + i)}: item {i}" for i in range(20)]
    for split in ("train", "test"):
        rec = {
            "id": f"SR-{split}-00000", "task": "SR", "split": split, "instruction": "i",
            "instruction_kind": "seed", "input": "1st: item 3", "options": opts, "output": "D",
            "category": "c", "source_ids": [], "few_shot_id": "", "relevance": [], "attributes": [],
        }
        (tmp_path / "SR").mkdir(exist_ok=True)
        (tmp_path / "SR" / f"{split}.jsonl").write_text(json.dumps(rec) + "\n")
    return tmp_path


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--model", "baseline:lexical", "--config", "SR", "--split", "tset"],
         "no task in --config SR has a split 'tset'"),
        (["--model", "baseline:lexical", "--config", "all", "--split", "tset"],
         "no task in --config all has a split 'tset'"),
        (["--model", "baseline:lexicl", "--config", "SR", "--split", "test"],
         "unknown baseline 'lexicl'"),
        (["--adapter", "no/such/folder", "--config", "SR", "--split", "test"],
         "adapter folder no/such/folder does not exist"),
        (["--model", "baseline:lexical", "--config", "SRR", "--split", "test"],
         "did you mean 'SR'?"),
    ],
)
def test_predict_refuses_bad_arguments_in_one_line(tiny_build, tmp_path, capsys, argv, message):
    rc = main(["predict", *argv, "--data", str(tiny_build), "--out", str(tmp_path / "p.jsonl")])
    err = capsys.readouterr().err
    assert rc == 2
    assert message in err
    assert "Traceback" not in err
    assert not (tmp_path / "p.jsonl").exists()


def test_predict_baseline_writes_one_line_per_record(tiny_build, tmp_path):
    out = tmp_path / "p.jsonl"
    assert main(["predict", "--model", "baseline:majority", "--config", "SR", "--split", "test",
                 "--data", str(tiny_build), "--out", str(out), "--no-progress"]) == 0
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [(x["task"], x["split"], x["id"]) for x in lines] == [("SR", "test", "SR-test-00000")]


def test_unknown_task_message_is_printed_without_quotes(tmp_path, capsys):
    rc = main(["build", "--sources", str(tmp_path), "--out", str(tmp_path / "b"), "--tasks", "SRR"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "unknown ECInstruct task 'SRR'; did you mean 'SR'?" in err
    assert '"unknown' not in err
