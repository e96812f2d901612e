"""Test-set identity: where a test split came from and a fingerprint of its content.

A score means something only beside scores on the same test set.  Every
build (rebuilt from raw sources or imported from the release) records, per
test split, :func:`split_fingerprint` of its records and the build's
``origin``; results files carry both, and the leaderboard ranks and compares
only results whose test sets agree.

Examples
--------
>>> rec = {"id": "PM-test-00000", "instruction": "i", "input": "x", "options": [], "output": "yes", "relevance": []}
>>> fp = split_fingerprint([rec])
>>> fp["n"], len(fp["sha256"])
(1, 64)
>>> split_fingerprint([{**rec, "output": "no"}])["sha256"] == fp["sha256"]
False
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping

#: The fields that make a test item: what the model sees and what it is scored against.
IDENTITY_FIELDS = ("id", "instruction", "input", "options", "output", "relevance")


def split_fingerprint(records: Iterable[Mapping]) -> dict:
    """``{"n", "sha256"}`` of a split's records, in order, over :data:`IDENTITY_FIELDS`."""
    h = hashlib.sha256()
    n = 0
    for r in records:
        h.update(json.dumps([r.get(k) for k in IDENTITY_FIELDS], ensure_ascii=False).encode("utf-8"))
        h.update(b"\n")
        n += 1
    return {"n": n, "sha256": h.hexdigest()}


def is_official(origin: Mapping | None) -> bool:
    """Whether ``origin`` is an import of the authors' release (the test sets the paper measured on)."""
    return bool(origin) and origin.get("kind") == "release"


def describe(origin: Mapping | None) -> str:
    """One phrase naming where a build came from.

    >>> describe({"kind": "release", "source": "NingLab/ECInstruct", "revision": "main"})
    'the official release (NingLab/ECInstruct@main)'
    >>> describe({"kind": "rebuild", "sources": "samples/sources"})
    'rebuilt from samples/sources'
    >>> describe(None)
    'unknown origin'
    """
    if not origin:
        return "unknown origin"
    if is_official(origin):
        rev = f"@{origin['revision']}" if origin.get("revision") else ""
        return f"the official release ({origin.get('source', '?')}{rev})"
    return f"rebuilt from {origin.get('sources', '?')}"
