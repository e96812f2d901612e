"""MAVE (Yang et al., 2022) attribute-value files, streamed.

The full version (``mave_positives.jsonl`` / ``mave_negatives.jsonl``, made by
the MAVE repository's script from the Amazon Review 2018 metadata) holds one
product per line::

    {"id": ASIN, "category": str,
     "paragraphs": [{"text": str, "source": "title"|"description"|"feature"|"price"|"brand"}, ...],
     "attributes": [{"key": str, "evidences": [{"value": str, "pid": int, "begin": int, "end": int}]}]}

Negatives have attributes whose ``evidences`` list is empty.  Lines that do
not follow this schema are skipped and counted.

Examples
--------
>>> validate({"id": "B1", "category": "Scarves", "paragraphs": [{"text": "Wool scarf", "source": "title"}],
...           "attributes": [{"key": "Material", "evidences": [{"value": "Wool", "pid": 0, "begin": 0, "end": 4}]}]})
''
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from builders.core import TaskReport, iter_json_lines


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


def iter_products(path: Path, report: TaskReport | None = None) -> Iterator[dict]:
    """Stream valid MAVE product records from ``path``."""
    label = Path(path).name
    for _, obj in iter_json_lines(path, report, label=label):
        why = validate(obj)
        if why:
            if report is not None:
                report.drop(f"{label}: {why}")
            continue
        yield obj
