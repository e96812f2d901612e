"""MAVE (Yang et al., 2022) attribute-value files, streamed.

The full version (``mave_positives.jsonl`` / ``mave_negatives.jsonl``, made by
the MAVE repository's script from the Amazon Review 2018 metadata) holds one
product per line::

    {"id": ASIN, "category": str,
     "paragraphs": [{"text": str, "source": "title"|"description"|"feature"|"price"|"brand"}, ...],
     "attributes": [{"key": str, "evidences": [{"value": str, "pid": int, "begin": int, "end": int}]}]}

Negatives have attributes whose ``evidences`` list is empty.  Lines that do
not follow this schema are skipped and counted.

The release read MAVE's PRODUCT splits, one folder per split holding
``<split>/00_All/mave_positives.jsonl`` and ``mave_negatives.jsonl``
(:func:`find_split_files`); the files of the repository's full-version
script have no split (:data:`FILES`, found with
:func:`ecinstruct_builders.core.find_source`).

Examples
--------
>>> validate({"id": "B1", "category": "Scarves", "paragraphs": [{"text": "Wool scarf", "source": "title"}],
...           "attributes": [{"key": "Material", "evidences": [{"value": "Wool", "pid": 0, "begin": 0, "end": 4}]}]})
''
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ecinstruct_builders.core import TaskReport, iter_json_lines

#: The two files of the full version, positives first (the release's order).
FILES = ("mave_positives.jsonl", "mave_negatives.jsonl")
#: Split folder name of the PRODUCT splits -> our split.
SPLIT_DIRS = {"train": "train", "val": "validation", "test": "test"}
_SUFFIXES = ("", ".gz", ".bz2", ".xz")


def find_split_files(root: Path) -> dict[str, list[Path]]:
    """``{split: [positives, negatives]}`` of the PRODUCT split layout under ``root`` (any depth).

    A split counts when its folder ``<train|val|test>/00_All/`` holds both
    files (gzip/bz2/xz or not); the first such folder in path order wins.
    Empty when the layout is absent.

    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> for split in ("train", "val"):
    ...     (root / "splits" / "PRODUCT" / split / "00_All").mkdir(parents=True)
    ...     for name in FILES:
    ...         _ = (root / "splits" / "PRODUCT" / split / "00_All" / name).write_text("")
    >>> {s: [p.relative_to(root).as_posix() for p in ps] for s, ps in find_split_files(root).items()}["validation"]
    ['splits/PRODUCT/val/00_All/mave_positives.jsonl', 'splits/PRODUCT/val/00_All/mave_negatives.jsonl']
    """
    out: dict[str, list[Path]] = {}
    root = Path(root)
    if not root.is_dir():
        return out
    for folder in sorted(p for p in root.rglob("00_All") if p.is_dir()):
        split = SPLIT_DIRS.get(folder.parent.name)
        if split is None or split in out:
            continue
        found = [next((folder / (n + s) for s in _SUFFIXES if (folder / (n + s)).is_file()), None) for n in FILES]
        if all(found):
            out[split] = found
    return out


def validate(obj) -> str:
    """``""`` when ``obj`` follows the MAVE schema, else the reason it does not."""
    if not isinstance(obj, dict):
        return "not an object"
    if not isinstance(obj.get("id"), str) or not obj["id"]:
        return "no id"
    paragraphs = obj.get("paragraphs")
    if not isinstance(paragraphs, list) or not all(
        isinstance(p, dict) and isinstance(p.get("text"), str) and isinstance(p.get("source"), str)
        for p in paragraphs
    ):
        return "bad paragraphs"
    attributes = obj.get("attributes")
    if not isinstance(attributes, list) or not attributes:
        return "no attributes"
    for a in attributes:
        if not isinstance(a, dict) or not isinstance(a.get("key"), str) or not isinstance(a.get("evidences"), list):
            return "bad attribute"
        for e in a["evidences"]:
            if not isinstance(e, dict) or not isinstance(e.get("value"), str) or not isinstance(e.get("pid"), int):
                return "bad evidence"
            if not 0 <= e["pid"] < len(paragraphs):
                return "evidence pid out of range"
    return ""


def iter_products(path: Path, report: TaskReport | None = None, *, label: str | None = None) -> Iterator[dict]:
    """Stream valid MAVE product records from ``path`` (counted under ``label``, default the file name)."""
    label = label or Path(path).name
    for _, obj in iter_json_lines(path, report, label=label):
        why = validate(obj)
        if why:
            if report is not None:
                report.drop(f"{label}: {why}")
            continue
        yield obj
