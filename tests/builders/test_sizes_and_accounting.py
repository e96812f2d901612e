"""Table A3 sizes are met, the release's repeats are counted (removed only on request), every raw row is
accounted for, every task builds deterministically."""

from __future__ import annotations

import functools
import json
import tempfile
import types
from dataclasses import replace
from pathlib import Path

import pytest
from _review_samples import sample_config, sources_without_ratings
from ecinstruct_builders.core import BASE_SPLITS, NOT_SAMPLED, BuildConfig, Example, TaskReport
from ecinstruct_builders.pipeline import ALL_TASKS, build, sample_to_targets

QUIET = {"log": lambda _m: None}
SIZED = [t for t in ALL_TASKS if t != "PM"]  # PM keeps every pair (Table A3)
#: Files a task takes its examples from; the other files it reads are lookup tables.
LOOKUP_FILES = {"shopping_queries_dataset_products.parquet", "Amazon.csv", "GoogleProducts.csv"}


@functools.cache
def built(sizes) -> dict:
    out = Path(tempfile.mkdtemp(prefix=f"ecb-sizes-{sizes}-"))
    build(sample_config(out, sizes=sizes), ALL_TASKS, **QUIET)
    return json.loads((out / "build_report.json").read_text())["tasks"]


def _files(root: Path, task: str) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((root / task).glob("*.jsonl"))}


@pytest.mark.parametrize("task", SIZED)
def test_every_split_reaches_its_target_when_the_data_allows(task, tmp_path):
    available = built("all")[task]["splits"]
    # the largest size every split of the task can fill: train needs 10x
    n = min(available[s] // (10 if s == "train" else 1) for s in available if s in BASE_SPLITS)
    sources = {}
    if task == "SR":  # the release gives each IND category a fixed share, so the smallest category limits it
        n //= 2
        sources = {"sources": sources_without_ratings(tmp_path / "src")}  # both IND categories have users
    assert n >= 1
    cfg = sample_config(tmp_path / "out", sizes=n, **sources)
    build(cfg, [task], **QUIET)
    report = json.loads((tmp_path / "out" / "build_report.json").read_text())["tasks"][task]
    assert {s: report["splits"][s] for s in available} == {s: cfg.target(s) for s in available}


def _duplicating_module(pool: int):
    """A task module whose samples repeat: every third example of a split is a copy of a training one."""

    def build(cfg: BuildConfig, report: TaskReport) -> dict[str, list[Example]]:
        out = {}
        for j, split in enumerate(("train", "validation", "test")):
            ids = range(j * pool, j * pool + min(cfg.target(split), pool))
            if split == "train":
                out[split] = [Example(f"item {i if i % 3 else 0}", "a") for i in ids]
            else:  # a copy of the training example "item 1"
                out[split] = [Example(f"item {i if i % 3 else 1}", "a") for i in ids]
        return out

    return types.SimpleNamespace(build=build)


def test_the_release_s_repeats_are_kept_and_counted_unless_fixes_are_asked_for(tmp_path):
    cfg = BuildConfig(sources=tmp_path, out=tmp_path, sizes=20)
    splits, report = sample_to_targets(_duplicating_module(10_000), "PSI", cfg)
    assert {s: len(exs) for s, exs in splits.items()} == {"train": 200, "validation": 20, "test": 20}
    assert report.release_defects == {"fixed": False, "eval_repeats_train": {"validation": 6, "test": 7}}
    assert report.dropped == {} and report.release_differences == []
    fixed, freport = sample_to_targets(_duplicating_module(10_000), "PSI", replace(cfg, fix_defects=True))
    assert freport.release_defects["fixed"] is True
    assert freport.dropped["duplicate within train"] > 0 and freport.dropped["test overlaps train"] == 7
    assert len(fixed["test"]) == 13 and freport.rows_used == sum(map(len, fixed.values()))
    assert freport.release_differences and "fix_defects" in freport.release_differences[0]


def test_fix_defects_reaches_the_report_and_the_fingerprint(tmp_path):
    from ecinstruct_builders.pipeline import fingerprint

    cfg = sample_config(tmp_path, sizes=3)
    assert fingerprint("PM", cfg) != fingerprint("PM", replace(cfg, fix_defects=True))


# PRP's examples are pairs of products and SR's are users' sequences, so their rows read
# (products, interactions) are not examples; SR accounts for every interaction in
# report.extra["interactions"] (tests/builders/test_sr_build.py).  PRP's pairs beyond its
# bounded sample are not counted one by one.
@pytest.mark.parametrize("sizes", ["paper", 3])
@pytest.mark.parametrize("task", ["AVE", "SA", "AP", "AG", "MPC", "PSI", "QPR", "PM"])
def test_every_row_read_is_used_dropped_or_skipped(task, sizes):
    report = built(sizes)[task]
    read = sum(n for f, n in report["rows_read"].items() if f not in LOOKUP_FILES)
    assert read == report["rows_used"] + sum(report["dropped"].values()) + sum(report["skipped"].values())
    assert report["rows_used"] > 0


def test_skipped_rows_name_their_reason():
    paper, small = built("paper"), built(3)
    assert paper["AP"]["skipped"]["other category"] > 0 and paper["AG"]["skipped"]["other category"] > 0
    assert paper["MPC"]["skipped"]["other locale"] == paper["PSI"]["skipped"]["other locale"] > 0
    assert paper["QPR"]["skipped"]["not in small_version"] > 0
    for task in SIZED:
        if task != "SR":  # SR's rows are interactions, accounted for in extra["interactions"]
            assert small[task]["skipped"][NOT_SAMPLED] > 0, task


@pytest.mark.parametrize("task", ALL_TASKS)
def test_same_inputs_and_seed_give_identical_bytes_for_every_task(task, tmp_path):
    for name in ("a", "b"):
        build(sample_config(tmp_path / name, sizes=3), [task], **QUIET)
    a = _files(tmp_path / "a", task)
    assert a and a == _files(tmp_path / "b", task)
