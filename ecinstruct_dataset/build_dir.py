"""Read a build folder: what ``ecinstruct build`` wrote.

Layout: ``BUILD/<TASK>/<split>.jsonl`` (canonical records, one per line) and
``BUILD/build_report.json`` (``{"tasks": {"PM": {"splits": {"train": n, ...}}}}``).

Examples
--------
>>> build = BuildFolder("build")                         # doctest: +SKIP
>>> build.tasks                                          # doctest: +SKIP
('AVE', 'PRP', 'PM', 'SA', 'SR', 'MPC', 'PSI', 'QPR', 'AP', 'AG')
>>> build.counts()["SR"]["test_ood"]                     # doctest: +SKIP
1000
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path

from ecinstruct_dataset.schema import RecordError, check_record
from ecinstruct_eval.tasks import TASKS

REPORT_NAME = "build_report.json"


class BuildFolder:
    """A folder of canonical records written by ``ecinstruct build``.

    Parameters
    ----------
    path : str or Path
        The build folder.

    Raises
    ------
    FileNotFoundError
        When ``path`` holds no task folder (``<TASK>/<split>.jsonl``).
    """

    def __init__(self, path):
        self.path = Path(path)
        if not self.path.is_dir():
            raise FileNotFoundError(
                f"build folder {str(self.path)!r} does not exist; write one with "
                "`ecinstruct build --sources DIR --out BUILD`"
            )
        if not self.tasks:
            raise FileNotFoundError(
                f"{str(self.path)!r} holds no <TASK>/<split>.jsonl files of the ten ECInstruct "
                "tasks; is it a folder written by `ecinstruct build`?"
            )

    def __repr__(self) -> str:
        return f"BuildFolder({str(self.path)!r})"

    @cached_property
    def report(self) -> dict | None:
        """``build_report.json`` as a dict, or ``None`` when the folder has none."""
        p = self.path / REPORT_NAME
        if not p.is_file():
            return None
        with open(p, encoding="utf-8") as f:
            return json.load(f)

    @cached_property
    def tasks(self) -> tuple[str, ...]:
        """Tasks with at least one split file, in the registry's order."""
        return tuple(c for c in TASKS if any(self.split_file(c, s).is_file() for s in TASKS[c].splits))

    def split_file(self, task: str, split: str) -> Path:
        return self.path / task / f"{split}.jsonl"

    def splits(self, task: str) -> tuple[str, ...]:
        """The splits of ``task`` present in the folder, in the registry's order."""
        return tuple(s for s in TASKS[task].splits if self.split_file(task, s).is_file())

    def missing_splits(self, task: str) -> tuple[str, ...]:
        """Splits the task should have (registry) but the folder lacks."""
        return tuple(s for s in TASKS[task].splits if not self.split_file(task, s).is_file())

    def iter_records(self, task: str, split: str) -> Iterator[dict]:
        """The checked records of one split file; errors name the file, line and id."""
        return read_records(self.split_file(task, split), task=task, split=split)

    def count(self, task: str, split: str) -> int:
        """Number of records (non-blank lines) of one split file."""
        with open(self.split_file(task, split), "rb") as f:
            return sum(1 for line in f if line.strip())

    def counts(self) -> dict[str, dict[str, int]]:
        """``{task: {split: rows}}`` counted from the files."""
        return {t: {s: self.count(t, s) for s in self.splits(t)} for t in self.tasks}

    def check_report(self) -> dict[str, dict[str, int]]:
        """Count the rows and check them against ``build_report.json``; return the counts.

        Raises ``ValueError`` naming the task and split when the report and the files disagree.
        """
        counts = self.counts()
        if self.report is None:
            return counts
        reported = self.report.get("tasks", {})
        problems = []
        for task, splits in counts.items():
            rep = reported.get(task, {}).get("splits")
            if rep is None:
                problems.append(f"{task}: not in {REPORT_NAME}")
                continue
            for split in sorted(set(rep) | set(splits)):
                if rep.get(split, 0) != splits.get(split, 0):
                    problems.append(
                        f"{task}/{split}: {REPORT_NAME} says {rep.get(split, 0)}, "
                        f"{task}/{split}.jsonl holds {splits.get(split, 0)}"
                    )
        if problems:
            raise ValueError(f"{self.path}: build report and records disagree: " + "; ".join(problems))
        return counts

    def fingerprint(self) -> str:
        """SHA-256 over the report and every split file (names and bytes): the build's identity."""
        h = hashlib.sha256()
        paths = [self.split_file(t, s) for t in self.tasks for s in self.splits(t)]
        report = self.path / REPORT_NAME
        if report.is_file():
            paths.append(report)
        for p in paths:
            h.update(p.relative_to(self.path).as_posix().encode() + b"\0")
            with open(p, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
            h.update(b"\0")
        return h.hexdigest()


def read_records(path: str | Path, *, task: str | None = None, split: str | None = None) -> Iterator[dict]:
    """Stream the canonical records of one ``<TASK>/<split>.jsonl`` file, checking each.

    ``task`` and ``split`` default to the folder and file names.  Raises
    :class:`~ecinstruct_dataset.schema.RecordError` naming the file, line and id
    on bad JSON, a record off the schema, a record of another task or split, or
    a duplicate id.
    """
    path = Path(path)
    task = task or path.parent.name
    split = split or path.stem
    seen: dict[str, int] = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise RecordError(f"{where}: not valid JSON ({e.msg})") from None
            check_record(record, where)
            if record["task"] != task or record["split"] != split:
                raise RecordError(
                    f"{where} (id {record['id']!r}): record says task={record['task']!r} "
                    f"split={record['split']!r} but lies in {task}/{split}.jsonl"
                )
            if record["id"] in seen:
                raise RecordError(
                    f"{where}: duplicate id {record['id']!r} (first on line {seen[record['id']]})"
                )
            seen[record["id"]] = lineno
            yield record
