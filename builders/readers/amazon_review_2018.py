"""Amazon Review Data 2018 (Ni et al., 2019): metadata, reviews and ratings, streamed.

Files (one category each, gzipped or not):

- ``meta_<Category>.json``: one JSON object per line with ``asin``, ``title``,
  ``brand``, ``category`` (list, top level first), ``description`` and
  ``feature`` (lists of strings), ``price``, ``also_buy``, ``also_view`` (lists
  of ASINs), ``similar_item`` (an HTML comparison-table string), ``main_cat``...
- ``<Category>.json`` / ``<Category>_5.json``: reviews, one JSON object per
  line with ``overall``, ``reviewText``, ``summary``, ``reviewerID``, ``asin``,
  ``unixReviewTime``...
- ``<Category>.csv``: ratings only, no header: ``item,user,rating,unix_time``.

Every reader is a generator: nothing holds a whole file.  Lines that cannot
be parsed or lack a required field are skipped and counted in the
:class:`~ecinstruct_builders.core.TaskReport` under ``"<file>: <reason>"``.

Examples
--------
>>> Interaction("U1", "B00004TUBL", 5.0, 1529193600, "Great.").rating
5.0
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Container, Iterator
from pathlib import Path
from typing import NamedTuple

from ecinstruct_builders.core import TaskReport, iter_json_lines


class Interaction(NamedTuple):
    """One review (or rating) reduced to what the tasks read."""

    user: str
    item: str
    rating: float
    time: int
    text: str


_ASIN_FIELD = re.compile(r'"asin":\s*"([^"\\]+)"')


def iter_meta(path: Path, report: TaskReport | None = None, *, wanted: Container[str] | None = None) -> Iterator[dict]:
    """Stream metadata records that have a string ``asin``.

    With ``wanted``, only records whose ``asin`` is in it are parsed and
    yielded (a cheap look at the raw line skips the others).
    """
    parse = json.loads
    if wanted is not None:
        def parse(line: str):
            m = _ASIN_FIELD.search(line, max(0, line.rfind('"asin"') - 1))
            if m is not None and m.group(1) not in wanted:
                return None
            return json.loads(line)

    yield from iter_asin_records(path, report, parse=parse, wanted=wanted)


def iter_asin_records(
    path: Path, report: TaskReport | None = None, *, parse: Callable[[str], dict | None],
    wanted: Container[str] | None = None,
) -> Iterator[dict]:
    """Stream the dicts ``parse`` makes of a metadata file's lines that have a non-empty string ``asin``.

    ``parse`` returns ``None`` for a line it skipped on purpose (an unwanted
    ASIN); dicts without an ``asin`` are counted under ``"<file>: no asin"``.
    With ``wanted``, only records whose ``asin`` is in it are yielded.  Both
    metadata readers (2018 JSON, 2014 Python literals) share this.
    """
    label = Path(path).name
    for _, obj in iter_json_lines(path, report, label=label, parse=parse):
        if obj is None:
            continue
        if not isinstance(obj, dict) or not isinstance(obj.get("asin"), str) or not obj["asin"]:
            if report is not None:
                report.drop(f"{label}: no asin")
            continue
        if wanted is not None and obj["asin"] not in wanted:
            continue
        yield obj


def iter_reviews(path: Path, report: TaskReport | None = None, *, limit: int | None = None) -> Iterator[Interaction]:
    """Stream reviews as :class:`Interaction`; ``limit`` stops after that many valid reviews.

    A review needs ``reviewerID``, ``asin``, ``overall`` in 1..5 and
    ``unixReviewTime``; ``reviewText`` may be absent (text ``""``).
    """
    label = Path(path).name
    n = 0
    for _, obj in iter_json_lines(path, report, label=label):
        it = _review(obj)
        if it is None:
            if report is not None:
                report.drop(f"{label}: review without user/item/rating/time")
            continue
        yield it
        n += 1
        if limit is not None and n >= limit:
            return


def iter_review_objects(path: Path, report: TaskReport | None = None, *, max_lines: int | None = None) -> Iterator[dict]:
    """Stream the JSON objects of the first ``max_lines`` lines of a review file, unvalidated.

    The release's SA reads a review file's first 200,000 lines, whatever they
    hold (RELEASED_FORMAT.md §5); the caller applies its own filter.  Blank
    lines count as lines but yield nothing; lines that are not valid UTF-8 or
    JSON are counted in ``report.dropped`` as in :func:`~ecinstruct_builders.core.iter_json_lines`
    and parsed rows in ``report.rows_read``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "Cat_5.json"
    >>> _ = p.write_text('{"overall": 5.0}\\n{"overall": 4.0}\\n{"overall": 3.0}\\n')
    >>> [o["overall"] for o in iter_review_objects(p, max_lines=2)]
    [5.0, 4.0]
    """
    for _, obj in iter_json_lines(path, report, max_lines=max_lines):
        yield obj

def _review(obj) -> Interaction | None:
    if not isinstance(obj, dict):
        return None
    user, item = obj.get("reviewerID"), obj.get("asin")
    if not isinstance(user, str) or not isinstance(item, str) or not user or not item:
        return None
    try:
        rating = float(obj.get("overall"))
        time = int(obj.get("unixReviewTime"))
    except (TypeError, ValueError, OverflowError):  # OverflowError: int() of an infinity (1e999 in JSON)
        return None
    if not 1.0 <= rating <= 5.0:
        return None
    text = obj.get("reviewText")
    return Interaction(user, item, rating, time, text if isinstance(text, str) else "")


def iter_ratings(path: Path, report: TaskReport | None = None) -> Iterator[Interaction]:
    """Stream a ratings CSV (``item,user,rating,unix_time``, no header) as :class:`Interaction`.

    Lines that do not hold a rating in 1..5 by a user of an item count as malformed.
    """
    for _, it in iter_json_lines(path, report, parse=_rating):
        yield it


def _rating(line: str) -> Interaction:
    item, user, rating, time = line.strip().split(",")
    it = Interaction(user, item, float(rating), int(time), "")
    if not item or not user or not 1.0 <= it.rating <= 5.0:
        raise ValueError("not a rating")
    return it


def iter_interactions(path: Path, report: TaskReport | None = None) -> Iterator[Interaction]:
    """Reviews or ratings, chosen by the file name (``.csv`` = ratings)."""
    name = Path(path).name
    for suffix in (".gz", ".bz2", ".xz"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    if name.endswith(".csv"):
        return iter_ratings(path, report)
    return iter_reviews(path, report)

