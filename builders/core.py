"""What every task module shares: the canonical record, instruction and
one-shot assignment, ids, and atomic, deterministic writing.

A task module produces :class:`Example` objects per split (``train``,
``validation``, ``test`` and, where the task has one, ``test_ood``), already
sampled to size.  :func:`finalize` turns them into canonical records:
it gives each record an id and a seen instruction drawn uniformly at random
(seeded), points its ``few_shot_id`` at a training record (test item *i* uses
training item *i*, as the released data does), and adds the unseen-instruction
copies of the test sets (``test_unseen``, ``test_ood_unseen``).
"""

from __future__ import annotations

import json
import os
import random
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

#: Field order of a canonical record.  Every task writes every field.
RECORD_FIELDS = (
    "id",
    "task",
    "split",
    "instruction",
    "instruction_kind",
    "input",
    "options",
    "output",
    "category",
    "source_ids",
    "few_shot_id",
    "relevance",
    "attributes",
)

#: Splits a task module may return; the unseen copies are made by finalize.
BASE_SPLITS = ("train", "validation", "test", "test_ood")
UNSEEN_OF = {"test": "test_unseen", "test_ood": "test_ood_unseen"}


@dataclass
class Example:
    """One task sample before instructions and ids are attached.

    ``options`` hold the lettered option strings exactly as the prompt shows
    them (``"A: very positive"``); ``relevance`` is QPR's ESCI grade of every
    option in option order; ``attributes`` are AVE's gold
    ``{"attribute", "value", "source"}`` triples.
    """

    input: str
    output: str
    options: list[str] = field(default_factory=list)
    category: str = ""
    source_ids: list[str] = field(default_factory=list)
    relevance: list[str] = field(default_factory=list)
    attributes: list[dict] = field(default_factory=list)


def task_rng(seed: int, task: str, purpose: str = "") -> random.Random:
    """A ``random.Random`` seeded from (seed, task, purpose): independent streams per task."""
    return random.Random(f"{seed}/{task}/{purpose}")


def record_id(task: str, split: str, index: int) -> str:
    return f"{task}-{split}-{index:05d}"


def finalize(
    task: str,
    examples: Mapping[str, Sequence[Example]],
    *,
    seed: int = 1,
) -> dict[str, list[dict]]:
    """Turn per-split examples into canonical records (see module docstring)."""
    from builders.instructions import INSTRUCTIONS

    unknown = set(examples) - set(BASE_SPLITS)
    if unknown:
        raise ValueError(f"{task}: unknown split(s) {sorted(unknown)}; expected {BASE_SPLITS}")
    seen, unseen = INSTRUCTIONS[task].seen, INSTRUCTIONS[task].unseen
    rng = task_rng(seed, task, "instructions")
    train_ids = [record_id(task, "train", i) for i in range(len(examples.get("train", ())))]
    out: dict[str, list[dict]] = {}
    for split in BASE_SPLITS:
        if split not in examples:
            continue
        records = []
        for i, ex in enumerate(examples[split]):
            k = rng.randrange(len(seen))
            if split == "train":
                shot = train_ids[(i + 1) % len(train_ids)] if len(train_ids) > 1 else ""
            else:
                shot = train_ids[i % len(train_ids)] if train_ids else ""
            records.append(
                _record(task, split, i, seen[k], "seed" if k == 0 else f"generated_{k}", ex, shot)
            )
        out[split] = records
        if split in UNSEEN_OF:
            u = UNSEEN_OF[split]
            out[u] = [
                {**r, "id": record_id(task, u, i), "split": u, "instruction": unseen,
                 "instruction_kind": "unseen"}
                for i, r in enumerate(records)
            ]
    return out


def _record(task, split, i, instruction, kind, ex: Example, few_shot_id: str) -> dict:
    return {
        "id": record_id(task, split, i),
        "task": task,
        "split": split,
        "instruction": instruction,
        "instruction_kind": kind,
        "input": ex.input,
        "options": list(ex.options),
        "output": ex.output,
        "category": ex.category,
        "source_ids": [str(s) for s in ex.source_ids],
        "few_shot_id": few_shot_id,
        "relevance": list(ex.relevance),
        "attributes": [dict(a) for a in ex.attributes],
    }


def dumps_record(record: Mapping) -> str:
    """One JSONL line, fields in :data:`RECORD_FIELDS` order (byte-stable)."""
    return json.dumps({k: record[k] for k in RECORD_FIELDS}, ensure_ascii=False)


def write_jsonl_atomic(path: Path, records: Iterable[Mapping]) -> int:
    """Write records to ``path`` via a temporary file and ``os.replace``; return the count."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    n = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            for r in records:
                f.write(dumps_record(r))
                f.write("\n")
                n += 1
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return n


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


#: Table A3 sizes: train / validation / test / test_ood.  PM keeps everything.
PAPER_SIZES = {"train": 10_000, "validation": 1_000, "test": 1_000, "test_ood": 1_000}


@dataclass
class BuildConfig:
    """Settings of one build, shared by every task module.

    ``categories`` maps a task code to ``{"ind": [...], "ood": [...]}`` source
    category names (file-name spelling, e.g. ``"Electronics"``); tasks fall
    back to the paper's categories when a task is absent.  ``sizes`` is
    ``"paper"`` (Table A3) or an int cap applied to every split (train is
    multiplied by 10, as in the paper's 10:1:1).
    """

    sources: Path
    out: Path
    seed: int = 1
    sizes: str | int = "paper"
    categories: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    def size(self, split: str) -> int | None:
        """Target size of ``split`` (``None``: keep everything)."""
        if self.sizes == "paper":
            return PAPER_SIZES[split]
        n = int(self.sizes)
        return n * 10 if split == "train" else n


@dataclass
class TaskReport:
    """What one task's build did: filled by the task module, written to build_report.json."""

    task: str
    rows_read: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    labels: dict[str, dict[str, int]] = field(default_factory=dict)
    splits: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def read(self, source: str, n: int = 1) -> None:
        self.rows_read[source] = self.rows_read.get(source, 0) + n

    def drop(self, reason: str, n: int = 1) -> None:
        self.dropped[reason] = self.dropped.get(reason, 0) + n
