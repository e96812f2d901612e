"""The wheel: installed top-level names no other project uses, its licence, and package data that every
command finds through the installed package, not through the checkout (issue 14)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TOP_LEVEL = {"ECInstruct.py", "ecellm", "ecinstruct_builders", "ecinstruct_dataset", "ecinstruct_eval",
             "ecinstruct_leaderboard"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # a copy without build outputs: setuptools reuses a source tree's build/ folder, stale files included
    src = tmp_path_factory.mktemp("src") / "repo"
    shutil.copytree(REPO, src, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", "build", "dist", "*.egg-info", "__pycache__", ".hypothesis", ".pytest_cache", ".ruff_cache",
        "demo_out", "runs"))
    # no build isolation: setuptools is already installed, and the test must not need the network
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "-w", str(out), str(src)], check=True, cwd=src, env={**os.environ, "PIP_NO_INPUT": "1"})
    (path,) = out.glob("ecinstruct-*.whl")
    return path


def test_top_level_names_licence_and_package_data(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == TOP_LEVEL  # no bare `builders` or `leaderboard`, which other projects install
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    for data in ("ecinstruct_dataset/dataset_card.md", "ecinstruct_leaderboard/data/results.schema.json",
                 "ecinstruct_leaderboard/data/paper_tables.json", "ecellm/configs/fsdp.yaml",
                 "ecinstruct_eval/samples/sample_build.json",
                 "ecinstruct_eval/samples/sources/amazon_google/Amazon.csv"):
        assert data in names, data
    assert not [n for n in names if n.startswith(("tests/", "samples/", "notebooks/"))]


def test_every_file_a_command_reads_resolves_through_the_installed_package(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                   check=True)
    probe = """
import json
from ecinstruct_dataset.card import find_template
from ecinstruct_eval import demo, lm_eval_tasks
from ecinstruct_leaderboard import reference, results
import ecellm.configs
paths = {"card": find_template(), "samples": demo.SAMPLES / "sources", "config": demo.SAMPLES / "sample_build.json",
         "fsdp": ecellm.configs.FSDP, "lm_eval": lm_eval_tasks.TASKS_DIR}
paper = reference.paper_table("IND")
schema = results.results_schema()
print(json.dumps({k: str(v) for k, v in paths.items()}))
"""
    env = {**os.environ, "PYTHONPATH": str(target)}
    run = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    for name, path in json.loads(run.stdout).items():
        assert path.startswith(str(target)) and Path(path).exists(), (name, path)
