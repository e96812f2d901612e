"""A small build folder of all ten tasks, made with the builders' own finalize().

The samples are invented (short, but shaped like each task's real records:
lettered options, yes/no outputs, QPR relevance grades, AVE triples); the
split layout, ids, instructions and the build report are exactly what
``ecinstruct build`` writes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ecinstruct_builders.core import Example, finalize, write_jsonl_atomic

from ecinstruct_eval.tasks import LETTERS, TASKS

#: Samples per base split; test_unseen / test_ood_unseen are copies made by finalize.
SIZES = {"train": 12, "validation": 3, "test": 4, "test_ood": 2}


def _example(task: str, split: str, i: int) -> Example:
    spec = TASKS[task]
    tag = f"{task} {split} #{i}"
    if task == "AVE":
        attrs = [{"attribute": "material", "value": "nylon" if i % 2 else "None",
                  "source": "product description" if i % 2 else "None"}]
        return Example(input=f"Product title: bag {tag} | 100% nylon\nTarget attributes: material",
                       output=json.dumps(attrs), attributes=attrs, category="Sports",
                       source_ids=[f"B{i:09d}"])
    if task == "QPR":
        grades = ["E", "I", "S", "C"][: 2 + i % 3]
        options = [f"{LETTERS[k]}: product {k} for {tag}" for k in range(len(grades))]
        order = sorted(range(len(grades)), key=lambda k: "ESCI".index(grades[k]))
        return Example(input=f"Query: running shoes ({tag})", options=options,
                       output=", ".join(LETTERS[k] for k in order), relevance=grades,
                       source_ids=[f"q{i}"])
    if task == "SR":
        options = [f"{LETTERS[k]}: item {k} of {tag}" for k in range(20)]
        return Example(input=f"1st: item a. 2nd: item b. ({tag})", options=options,
                       output=LETTERS[i % 20], category="Electronics")
    if spec.kind == "binary":
        return Example(input=f"Pair {tag}: « café » `quoted` text", output="yes" if i % 3 else "no")
    if spec.kind == "generation":
        return Example(input=f"Question: does {tag} fit?\nDocument: it fits well.",
                       output=f"Yes, {tag} fits.", category="Home_and_Kitchen")
    # fixed-option classification (PRP, SA, MPC)
    return Example(input=f"Text of {tag}", options=spec.lettered_options(),
                   output=spec.labels[i % len(spec.labels)])


def make_build(root: Path, sizes: dict[str, int] = SIZES, tasks=tuple(TASKS)) -> Path:
    """Write BUILD/<TASK>/<split>.jsonl and build_report.json for ``tasks``."""
    report = {"tasks": {}}
    for task in tasks:
        splits = [s for s in sizes if s != "test_ood" or TASKS[task].has_ood]
        examples = {s: [_example(task, s, i) for i in range(sizes[s])] for s in splits}
        records = finalize(task, examples, seed=1)
        counts = {}
        for split, recs in records.items():
            counts[split] = write_jsonl_atomic(root / task / f"{split}.jsonl", recs)
        report["tasks"][task] = {"splits": counts, "elapsed_s": 0.0}
    report.update(seed=1, sizes=3)
    (root / "build_report.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def build_dir(tmp_path_factory) -> Path:
    return make_build(tmp_path_factory.mktemp("build"))


@pytest.fixture(scope="session")
def hf_cache(tmp_path_factory) -> Path:
    """A private datasets cache, so tests never read a stale copy from ~/.cache."""
    return tmp_path_factory.mktemp("hf_cache")


@pytest.fixture(scope="session")
def export_dir(build_dir, tmp_path_factory) -> Path:
    from ecinstruct_dataset import export

    out = tmp_path_factory.mktemp("exports") / "ECInstruct"
    export(build_dir, out)
    return out
