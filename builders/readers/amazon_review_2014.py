"""Amazon product data 2014 (McAuley et al., 2015) metadata, streamed.

``meta_<Category>.json[.gz]`` holds one Python-literal dict per line (single
quotes, so not JSON): ``asin``, ``title``, ``brand``, ``price``,
``categories`` (a list of category paths), ``related`` (``also_bought``,
``also_viewed``, ``bought_together``), ``salesRank``, ``imUrl``,
``description``.  Lines are parsed with :func:`ast.literal_eval`, never
``eval``.  ECInstruct uses this file only to fill gaps in the 2018 metadata
(SR item texts).

Examples
--------
>>> to_2018_shape({"asin": "B1", "title": "Drill", "categories": [["Tools", "Power Tools"]],
...                "related": {"also_bought": ["B2"], "bought_together": ["B3"]}})["also_buy"]
['B2', 'B3']
"""

from __future__ import annotations

import ast
import re
from collections.abc import Container, Iterator
from pathlib import Path

from ecinstruct_builders.core import TaskReport
from ecinstruct_builders.readers.amazon_review_2018 import iter_asin_records

_ASIN = re.compile(r"""['"]asin['"]\s*:\s*['"]([^'"]+)['"]""")


def parse_line(line: str) -> dict:
    """One metadata line as a dict (``ast.literal_eval``; raises ``ValueError`` when malformed)."""
    try:
        obj = ast.literal_eval(line.strip())
    except (SyntaxError, ValueError, MemoryError, RecursionError, TypeError) as e:
        raise ValueError(str(e)) from None
    if not isinstance(obj, dict):
        raise ValueError("not a dict")
    return obj


def iter_meta(path: Path, report: TaskReport | None = None, *, wanted: Container[str] | None = None) -> Iterator[dict]:
    """Stream metadata dicts; with ``wanted``, only those whose ``asin`` is in it (others are not parsed)."""

    def parse(line: str):
        if wanted is not None:
            m = _ASIN.search(line)
            if m is not None and m.group(1) not in wanted:
                return None
        return parse_line(line)

    yield from iter_asin_records(path, report, parse=parse, wanted=wanted)


def to_2018_shape(meta: dict) -> dict:
    """The fields the tasks read, named as in the 2018 metadata.

    ``category`` is the first category path; ``also_buy`` merges
    ``also_bought`` and ``bought_together``; ``also_view`` is ``also_viewed``.
    """
    cats = meta.get("categories") or []
    first = cats[0] if cats and isinstance(cats[0], list) else []
    related = meta.get("related") if isinstance(meta.get("related"), dict) else {}

    def ids(key):
        v = related.get(key) or []
        return [x for x in v if isinstance(x, str)]

    desc = meta.get("description")
    return {
        "asin": meta.get("asin", ""),
        "title": meta.get("title") if isinstance(meta.get("title"), str) else "",
        "brand": meta.get("brand") if isinstance(meta.get("brand"), str) else "",
        "category": [c for c in first if isinstance(c, str)],
        "description": [desc] if isinstance(desc, str) and desc.strip() else [],
        "also_buy": list(dict.fromkeys(ids("also_bought") + ids("bought_together"))),
        "also_view": ids("also_viewed"),
    }
