"""Reader for AmazonQA (Gupta et al., 2019), original ``qar`` JSON-lines format.

One JSON object per line, as in ``train-qar.jsonl`` / ``val-qar.jsonl`` /
``test-qar.jsonl`` of the amazonqa/amazonqa repository (gzip/bz2/xz compressed or not)::

    {"qid": ..., "asin": "B00E7LVBCE", "category": "Electronics",
     "questionText": "...", "questionType": "descriptive" | "yesno",
     "review_snippets": ["...", ...],
     "answers": [{"answerText": "...", "answerType": "...", "helpful": [votes, total]}, ...],
     "is_answerable": true}

Lines are streamed; a line that is not valid UTF-8 or JSON, or that lacks a
required field, is skipped and counted in the report.

Examples
--------
>>> import json, os, tempfile
>>> from ecinstruct_builders.core import TaskReport
>>> row = {"qid": 7, "asin": "B00E7LVBCE", "category": "Electronics",
...        "questionText": "Does it fit a 15 inch laptop?", "questionType": "yesno",
...        "review_snippets": ["Fits my 15 inch laptop."],
...        "answers": [{"answerText": "Yes, it does.", "answerType": "Y", "helpful": [3, 4]}],
...        "is_answerable": True}
>>> path = os.path.join(tempfile.mkdtemp(), "train-qar.jsonl")
>>> with open(path, "w", encoding="utf-8") as f:
...     print(json.dumps(row), file=f)
...     print("{not json", file=f)
>>> r = TaskReport("AP")
>>> recs = list(iter_records(path, r))
>>> recs[0].category, recs[0].answers[0]
('Electronics', Answer(text='Yes, it does.', helpful_votes=3, total_votes=4))
>>> r.rows_read, r.dropped
({'train-qar.jsonl': 2}, {'amazonqa: bad JSON': 1})
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ecinstruct_builders import progress
from ecinstruct_builders.core import TaskReport, open_binary

REQUIRED_FIELDS = ("asin", "category", "questionText", "review_snippets", "is_answerable")
#: File-name prefix -> split, as the dataset is published.
SPLIT_PREFIXES = {"train": "train", "val": "validation", "test": "test"}
_FILE = re.compile(r".*\.jsonl(\.gz|\.bz2|\.xz)?$")


@dataclass(frozen=True)
class Answer:
    """One answer: its text as in the file and its ``helpful`` pair ``[votes, total votes]``."""

    text: str
    helpful_votes: int
    total_votes: int


@dataclass(frozen=True)
class QARecord:
    """One AmazonQA question with its review snippets and answers (texts as in the file)."""

    qid: str
    asin: str
    category: str
    question: str
    question_type: str
    reviews: tuple[str, ...]
    answers: tuple[Answer, ...]
    is_answerable: bool


def find_files(folder: Path) -> list[tuple[str | None, Path]]:
    """``(split, path)`` of every ``*.jsonl[.gz|.bz2|.xz]`` under ``folder`` (any depth), sorted by path.

    ``split`` comes from the published name prefix (``train-``, ``val-``,
    ``test-``); other files (e.g. a single ``qar.jsonl``) get ``None``.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"AmazonQA folder not found: expected {folder} holding train-qar.jsonl, "
            "val-qar.jsonl, test-qar.jsonl (or any *.jsonl[.gz])"
        )
    out = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or not _FILE.match(path.name):
            continue
        prefix = path.name.split("-", 1)[0].lower()
        out.append((SPLIT_PREFIXES.get(prefix) if "-" in path.name else None, path))
    if not out:
        raise FileNotFoundError(f"no AmazonQA files in {folder}: expected {folder / 'train-qar.jsonl'} "
                                "(or any *.jsonl file, compressed or not)")
    return out


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: int() of an infinity (1e999 in JSON)
        return 0


def _helpful(value) -> tuple[int, int]:
    """``(helpful votes, total votes)`` of an answer's ``helpful`` field.

    The original format is ``[helpful votes, total votes]``; a bare number
    counts as both (its total is not known).

    >>> _helpful([3, 4]), _helpful(2), _helpful(None), _helpful([1])
    ((3, 4), (2, 2), (0, 0), (1, 0))
    """
    if isinstance(value, (list, tuple)):
        return (_int(value[0]) if value else 0), (_int(value[1]) if len(value) > 1 else 0)
    n = _int(value)
    return n, n


def _answerable(value) -> bool | None:
    if isinstance(value, bool):
        return value
    if value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "0", "1"):
        return value.strip().lower() in ("true", "1")
    return None


def parse(obj, index: int = 0) -> QARecord | None:
    """A :class:`QARecord` from one decoded JSON object, or ``None`` when a required field is bad."""
    if not isinstance(obj, dict) or any(obj.get(k) is None for k in REQUIRED_FIELDS):
        return None
    reviews = obj["review_snippets"]
    answerable = _answerable(obj["is_answerable"])
    if not isinstance(reviews, list) or answerable is None or not isinstance(obj["questionText"], str):
        return None
    answers = []
    for a in obj.get("answers") or []:
        if isinstance(a, dict) and isinstance(a.get("answerText"), str):
            answers.append(Answer(a["answerText"], *_helpful(a.get("helpful"))))
    return QARecord(
        qid=str(obj.get("qid", index)),
        asin=str(obj["asin"]),
        category=str(obj["category"]),
        question=obj["questionText"],
        question_type=str(obj.get("questionType") or ""),
        reviews=tuple(str(r) for r in reviews if isinstance(r, str)),
        answers=tuple(answers),
        is_answerable=answerable,
    )


def iter_records(path: Path, report: TaskReport) -> Iterator[QARecord]:
    """Stream the records of one ``qar`` file (``.gz`` read transparently)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"AmazonQA file not found: expected {path}")
    source = path.name
    tracker = progress.track(source, total=path.stat().st_size)
    n = 0
    try:
        with open_binary(path) as f:
            for lineno, raw in enumerate(f, 1):
                if not lineno & progress.EVERY:
                    tracker.update(n, progress.raw_position(f))
                if not raw.strip():
                    continue
                n += 1
                report.read(source)
                try:
                    obj = json.loads(raw.decode("utf-8"))
                except UnicodeDecodeError:
                    report.drop("amazonqa: bad encoding")
                    continue
                except (ValueError, RecursionError):  # JSONDecodeError, or nested too deeply
                    report.drop("amazonqa: bad JSON")
                    continue
                rec = parse(obj, lineno)
                if rec is None:
                    report.drop("amazonqa: missing or bad field")
                    continue
                yield rec
    finally:
        tracker.close(n)
