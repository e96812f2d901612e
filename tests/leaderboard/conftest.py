"""A small synthetic build folder (canonical records of all ten tasks) and helpers.

The records follow the canonical schema of ``ecinstruct_builders.core.RECORD_FIELDS``;
their texts are made up (no real data), sized so the whole leaderboard test
area runs in seconds.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from ecinstruct_eval.tasks import LETTERS, TASKS

WORDS = ("green steel cotton wool leather plastic phone cable lamp chair tent boot "
         "knife drill mug bottle charger case screen table fan rope glove hat bag watch").split()
N_TRAIN, N_TEST = 40, 24


def _words(rng, k):
    return " ".join(rng.choice(WORDS) for _ in range(k))


def _record(task, split, i, **kw):
    rec = {
        "id": f"{task}-{split}-{i:05d}", "task": task, "split": split, "instruction": "Do it.",
        "instruction_kind": "seed", "input": "", "options": [], "output": "", "category": "",
        "source_ids": [], "few_shot_id": "", "relevance": [], "attributes": [],
    }
    rec.update(kw)
    return rec


def make_record(task: str, split: str, i: int, rng: random.Random) -> dict:
    spec = TASKS[task]
    if task == "SR":
        options = [f"{LETTERS[k]}: {_words(rng, 4)}" for k in range(20)]
        gold = rng.randrange(20)
        history = options[gold].split(": ", 1)[1] + " " + _words(rng, 2)
        return _record(task, split, i, input=f"1st: {history}", options=options, output=LETTERS[gold])
    if task == "QPR":
        n = rng.choice([2, 3, 4])
        grades = rng.sample(["E", "S", "C", "I"], n)
        query = _words(rng, 3)
        lines = [f"Query: {query}"] + [
            f"Product {LETTERS[k]}: {query if g == 'E' else _words(rng, 3)}" for k, g in enumerate(grades)]
        rank = {"E": 0, "S": 1, "C": 2, "I": 3}
        out = ", ".join(LETTERS[k] for k in sorted(range(n), key=lambda k: rank[grades[k]]))
        return _record(task, split, i, input="\n".join(lines), output=out, relevance=grades)
    if task == "AVE":
        value = rng.choice(["red", "blue", "None"])
        title = f"{value if value != 'None' else 'plain'} {_words(rng, 3)}"
        triple = {"attribute": "color", "value": value, "source": "title" if value != "None" else "None"}
        return _record(task, split, i, input=f"Product title: {title}\nTarget attributes: color",
                       output=json.dumps([triple]), attributes=[triple])
    if task == "AG":
        q = f"does the {_words(rng, 2)} work"
        return _record(task, split, i, input=f"Question: {q}?\nReviews: It is fine. The {q} really well. "
                       "Shipping was slow.", output=f"yes the {q}")
    if spec.kind == "binary":
        lab = "yes" if rng.random() < 0.7 else "no"
        return _record(task, split, i, input=f"Product 1: {_words(rng, 3)} {lab}\nProduct 2: {_words(rng, 3)}",
                       output=lab)
    # multiclass
    lab = rng.choice(spec.labels[:2]) if rng.random() < 0.8 else rng.choice(spec.labels)
    return _record(task, split, i, input=f"Product 1: {_words(rng, 3)} tag{lab}\nProduct 2: {_words(rng, 3)}",
                   options=spec.lettered_options(), output=lab)


def make_build(root: Path, *, seed: int = 0, n_train: int = N_TRAIN, n_test: int = N_TEST) -> Path:
    rng = random.Random(seed)
    for task, spec in TASKS.items():
        folder = root / task
        folder.mkdir(parents=True, exist_ok=True)
        for split in spec.splits:
            n = n_train if split == "train" else n_test
            recs = [make_record(task, split, i, rng) for i in range(n)]
            with open(folder / f"{split}.jsonl", "w", encoding="utf-8") as fh:
                for r in recs:
                    fh.write(json.dumps(r) + "\n")
    return root


def load(root: Path, task: str, split: str) -> list[dict]:
    with open(root / task / f"{split}.jsonl", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


META = {"model": "test-model", "base_model": "none", "parameters": "7B", "shots": 0,
        "date": "2024-05-01", "link": "https://example.org/model"}


def write_gold_submission(root: Path, path: Path, *, corrupt: float = 0.0, seed: int = 0,
                          meta: dict | None = None) -> Path:
    """A valid submission predicting the gold output (a fraction ``corrupt`` made wrong)."""
    rng = random.Random(seed)
    from ecinstruct_leaderboard.submission import required_sets, write_submission

    rows = []
    for task, split in required_sets():
        for r in load(root, task, split):
            pred = r["output"]
            if rng.random() < corrupt:
                pred = "no answer"
            rows.append({"task": task, "split": split, "id": r["id"], "prediction": pred})
    write_submission(path, rows, dict(META if meta is None else meta))
    return path


RELEASE_ORIGIN = {"kind": "release", "source": "NingLab/ECInstruct", "revision": "main"}


def write_build_report(root: Path, origin: dict) -> Path:
    """A ``build_report.json`` as ``ecinstruct build``/``import`` write it: ``origin`` and,
    per task, the fingerprints of its test splits."""
    from ecinstruct_eval.tasks import TEST_SPLITS
    from ecinstruct_eval.testsets import split_fingerprint

    tasks = {}
    for task, spec in TASKS.items():
        tasks[task] = {"test_sets": {s: split_fingerprint(load(root, task, s))
                                     for s in spec.splits if s in TEST_SPLITS}}
    (root / "build_report.json").write_text(json.dumps({"tasks": tasks, "origin": origin}, indent=1))
    return root


@pytest.fixture(scope="session")
def build_dir(tmp_path_factory) -> Path:
    return make_build(tmp_path_factory.mktemp("lb_build"))


@pytest.fixture(scope="session")
def official_dir(build_dir, tmp_path_factory) -> Path:
    """The records of ``build_dir`` as an import of the official release (its report says so)."""
    import shutil

    root = tmp_path_factory.mktemp("lb_official") / "build"
    shutil.copytree(build_dir, root)
    return write_build_report(root, RELEASE_ORIGIN)


@pytest.fixture(scope="session")
def rebuild_dir(tmp_path_factory) -> Path:
    """Other records (another seed), rebuilt from sources: another test set."""
    root = make_build(tmp_path_factory.mktemp("lb_rebuild"), seed=7)
    return write_build_report(root, {"kind": "rebuild", "sources": "samples/sources", "seed": 7,
                                     "sizes": {}, "fix_defects": True})


class FakeResult(dict):
    """Stand-in for ``ecinstruct_eval.ScoreResult``: exact-match accuracy as every metric."""

    def __init__(self, correct, primary):
        self.correct = correct
        self.primary = primary
        self.n = len(correct)
        self.n_failed = 0
        self.settings = {"scorer": "fake"}
        super().__init__(self.recompute(list(range(len(correct)))))

    def recompute(self, indices):
        vals = [self.correct[i] for i in indices]
        acc = sum(vals) / len(vals) if vals else float("nan")
        return {self.primary: acc, "accuracy": acc}


def fake_score(predictions, task, references, *, split="test", compat="paper", **options):
    correct = [int(p.strip() == r["output"].strip()) for p, r in zip(predictions, references)]
    return FakeResult(correct, TASKS[task].primary_metric)
