"""The real bundled samples: build all ten tasks, export, and load every config."""

from __future__ import annotations

import json
from pathlib import Path

from ecinstruct_builders import pipeline
from ecinstruct_builders.core import BuildConfig

from ecinstruct_dataset import export, loaded_split_sizes
from ecinstruct_eval.tasks import TASKS

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def test_sample_build_exports_and_loads_with_the_reported_sizes(tmp_path):
    cfg = BuildConfig.from_file(SAMPLES / "sample_build.json", sources=SAMPLES / "sources",
                                out=tmp_path / "build")
    pipeline.build(cfg, log=lambda msg: None)
    report = json.loads((tmp_path / "build" / "build_report.json").read_text())["tasks"]

    result = export(tmp_path / "build", tmp_path / "hub")
    assert not list((tmp_path / "hub").rglob("*.py"))
    sizes = loaded_split_sizes(tmp_path / "hub", cache_dir=tmp_path / "cache")
    for task, rep in report.items():
        assert sizes[task] == {s: n for s, n in rep["splits"].items() if n}, task
    assert sizes["all"] == {s: sum(r["splits"].get(s, 0) for r in report.values())
                            for s in ("train", "validation")}
    assert set(sizes) == {"all", *TASKS} and list(result.configs) == ["all", *TASKS]

    # The card's task table names the categories the samples hold, the paper's beside them.
    card = (tmp_path / "hub" / "README.md").read_text(encoding="utf-8")
    tasks_table = card.split("## The ten tasks")[1]
    sa = next(line for line in tasks_table.splitlines() if line.startswith("| `SA` |"))
    assert [c.strip() for c in sa.strip("|").split("|")][5:] == [
        "Gift_Cards, Magazine_Subscriptions", "All_Beauty", TASKS["SA"].ind_source, TASKS["SA"].ood_source]
    assert "This build takes PRP, SA, SR from other product categories than the paper" in card
