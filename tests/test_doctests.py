"""The examples in docstrings run and give what they show, in every package and benchmark script.

Equivalent to ``pytest --doctest-modules builders ecinstruct_eval ecellm leaderboard
ecinstruct_dataset benchmarks``, but with one test per module so that a failure names it.
"""

import doctest
import importlib
import importlib.util
import pkgutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("ecinstruct_builders", "ecinstruct_eval", "ecellm", "ecinstruct_leaderboard", "ecinstruct_dataset")
MODULES = sorted(
    m.name
    for package in PACKAGES
    for m in pkgutil.walk_packages(importlib.import_module(package).__path__, package + ".")
    if not m.name.endswith(".__main__")  # importing it would run the command line
) + sorted(PACKAGES)
SCRIPTS = sorted(p.name for p in (REPO / "benchmarks").glob("*.py"))


def _check(module, name):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, report=False)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} docstring examples failed"


def test_every_package_and_script_is_collected():
    assert {"ecinstruct_builders.core", "ecinstruct_builders.readers.amazonqa", "ecinstruct_eval.parsing", "ecellm.checkpointing",
            "ecinstruct_leaderboard.results", "ecinstruct_dataset.exporter"} <= set(MODULES)
    assert {"bench_build.py", "bench_score.py", "bench_train.py"} <= set(SCRIPTS)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, monkeypatch):
    monkeypatch.chdir(REPO)  # examples name paths relative to the repository
    _check(importlib.import_module(name), name)


@pytest.mark.parametrize("script", SCRIPTS)
def test_benchmark_docstring_examples(script, monkeypatch):
    monkeypatch.chdir(REPO)
    spec = importlib.util.spec_from_file_location(f"_bench_{Path(script).stem}", REPO / "benchmarks" / script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    _check(module, script)
